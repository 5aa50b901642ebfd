"""nginx for a local run: the files in ``nginx/`` copied with loopback addresses (read and
rewritten by ``services.gateway.routes``, the one reader of nginx's route table), under
a main file of its own, and the command that runs them in the foreground; and which
gateway a local run puts in front of the services (:func:`pick_gateway`, the one choice
``scripts/run`` and ``scripts/bench --embedded`` both make)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from scripts.toolkit.processes import free_port
from services.gateway.routes import NGINX_DIR, render_upstreams, upstream_ports


def loopback_addresses(ports: Mapping[str, int]) -> dict[str, str]:
    """Every upstream on 127.0.0.1: at ``ports[upstream]`` when given, otherwise at a
    port nothing listens on (so a service that is not running here looks down)."""
    closed = free_port()
    return {name: f"127.0.0.1:{ports.get(name, closed)}" for name in upstream_ports()}


def render_nginx(
    dest: Path,
    listen: str,
    addresses: Mapping[str, str | Sequence[str]],
    *,
    access_log: str | None = None,
    extra_locations: str = "",
) -> Path:
    """Copy ``nginx/`` into ``dest`` with local upstream addresses; return the main file.

    ``addresses`` maps upstream names (``user``, ``project_task``, ``health``, ...) to
    ``host:port``, or to a list of them (several instances of one service); upstreams
    not given point at 127.0.0.1 on their declared port. ``extra_locations`` goes at the
    top of the rendered ``server.conf`` (locations this run needs and ``nginx/`` has not).
    """
    conf = dest / "conf"
    for sub in ("conf", "logs", "tmp/body", "tmp/proxy", "tmp/fastcgi", "tmp/uwsgi", "tmp/scgi"):
        (dest / sub).mkdir(parents=True, exist_ok=True)
    for name in ("http.conf", "routes.conf"):
        shutil.copy(NGINX_DIR / name, conf / name)
    server = (NGINX_DIR / "server.conf").read_text()
    (conf / "server.conf").write_text(f"{extra_locations}\n{server}" if extra_locations else server)
    (conf / "upstreams.conf").write_text(render_upstreams(addresses))
    mime_types = Path("/etc/nginx/mime.types")
    user_line = "user root;" if os.geteuid() == 0 else ""
    main = f"""# Rendered by scripts/toolkit/nginx.py from nginx/ for a local run. Do not edit.
{user_line}
worker_processes 2;
worker_rlimit_nofile 16384;
pid {dest / "nginx.pid"};
error_log {dest / "logs" / "error.log"} warn;
daemon off;

events {{
    # As in production (nginx/nginx.conf): a live stream holds two connections.
    worker_connections 4096;
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
    """The installed nginx, or None."""
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


GATEWAYS = ("auto", "nginx", "python")


def pick_gateway(choice: str = "auto") -> str:
    """The gateway a local run uses: ``"nginx"`` when asked for, or (``auto``) when it is
    installed; else ``"python"``, the fallback gateway (``services.gateway``). Asking for
    nginx where it is not installed stops the run with a message."""
    if choice not in GATEWAYS:
        raise ValueError(f"unknown gateway {choice!r}; one of {', '.join(GATEWAYS)}")
    installed = nginx_binary() is not None
    if choice == "nginx" and not installed:
        raise SystemExit("--gateway nginx: nginx is not installed (apt-get install nginx)")
    if choice == "python" or not installed:
        return "python"
    return "nginx"


def nginx_command(main_conf: Path) -> list[str]:
    """nginx in the foreground on a file :func:`render_nginx` wrote."""
    binary = nginx_binary()
    assert binary, "nginx is not installed"
    return [binary, "-p", str(main_conf.parent.parent), "-c", str(main_conf)]
