"""The production nginx configuration (nginx/nginx.conf, as the nginx container runs it)
passes ``nginx -t``, and keeps what the platform promises at the edge.

The upstreams name services (``user:5001``) that only Docker DNS resolves, and nginx
resolves them when it loads. So the test runs ``nginx -t`` in a private mount namespace
(``unshare -m``) where a bind-mounted /etc/hosts maps every service name to 127.0.0.1:
the real files, the real parser, only name resolution stood in for. Without the map
the same check fails with "host not found in upstream", which the test also shows.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from scripts import stack
from scripts.toolkit.nginx import nginx_binary
from services.gateway.routes import upstreams

NGINX_DIR = stack.REPO / "nginx"


def upstream_hosts() -> list[str]:
    return sorted({upstream.host for upstream in upstreams().values()})


def production_copy(tmp_path: Path) -> Path:
    for conf in NGINX_DIR.glob("*.conf"):
        shutil.copy(conf, tmp_path / conf.name)
    return tmp_path / "nginx.conf"


def nginx_t(conf: Path, hosts: Path | None) -> subprocess.CompletedProcess:
    test = [nginx_binary(), "-t", "-p", str(conf.parent), "-c", str(conf)]
    command = test
    if hosts is not None:
        script = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'
        command = ["unshare", "--mount", "sh", "-c", script, "sh", str(hosts), *test]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


@pytest.fixture
def namespaces() -> None:
    if nginx_binary() is None:
        pytest.skip("nginx is not installed")
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("unshare --mount needs root")
    if not Path("/etc/nginx/mime.types").exists():
        pytest.skip("no /etc/nginx/mime.types")


def test_production_config_passes_nginx_t(namespaces, tmp_path):
    conf = production_copy(tmp_path)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost " + " ".join(upstream_hosts()) + "\n")
    result = nginx_t(conf, hosts)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_without_the_service_names_nginx_t_fails_on_them(namespaces, tmp_path):
    conf = production_copy(tmp_path)
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n")
    result = nginx_t(conf, hosts)
    assert result.returncode != 0
    assert "host not found in upstream" in result.stderr


def test_upstreams_are_docker_service_names_with_keepalive():
    text = (NGINX_DIR / "upstreams.conf").read_text()
    blocks = re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", text)
    assert len(blocks) == 9
    for name, body in blocks:
        assert re.search(r"keepalive \d+;", body), name
        host = re.search(r"server\s+([\w.-]+):\d+", body).group(1)
        assert host.replace("-", "_") == name, name


def test_edge_rules():
    server = (NGINX_DIR / "server.conf").read_text()
    http = (NGINX_DIR / "http.conf").read_text()
    assert re.search(r"location /internal/ \{\s*return 404;", server)
    assert re.search(r"location = /metrics \{\s*return 404;", server)
    assert re.search(r"location = /health \{[^}]*proxy_pass http://health;", server)
    # Uploads get the attachment service's limit plus 1 MiB of multipart framing (the
    # service refuses a file over MAX_UPLOAD_MB itself); everything else 1 MiB.
    upload = re.search(r"attachments\$ \{([^}]*)\}", server).group(1)
    limit = int(re.search(r"client_max_body_size (\d+)m;", upload).group(1))
    example = (stack.REPO / ".env.example").read_text()
    assert f"MAX_UPLOAD_MB={limit - 1}\n" in example
    assert "client_max_body_size 1m;" in http
    assert "limit_req zone=credentials" in server
    # Retries only for what is safe to repeat: never "non_idempotent".
    assert "proxy_next_upstream error timeout" in http
    assert not re.search(r"(?m)^\s*proxy_next_upstream [^;]*non_idempotent", http + server)
    # The live stream: passed on unbuffered, held long, the WebSocket upgraded with the
    # request id still set.
    sse = re.search(r"location = /api/stream \{([^}]*)\}", server).group(1)
    assert "proxy_buffering off;" in sse and "proxy_read_timeout 1h;" in sse
    ws = re.search(r"location = /api/stream/ws \{([^}]*)\}", server).group(1)
    for line in ("Upgrade $http_upgrade", 'Connection "upgrade"', "X-Request-ID $req_id"):
        assert f"proxy_set_header {line};" in ws, line
    for status in (404, 413, 429, 502, 503, 504):
        assert re.search(rf"error_page [\d ]*{status}", server), status
