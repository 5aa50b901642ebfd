"""nginx's route table and upstreams (``nginx/routes.conf``, ``nginx/upstreams.conf``),
read in one place.

The fallback gateway routes by them, and the scripts that run nginx locally
(``scripts/toolkit/nginx.py``) render ``upstreams.conf`` with loopback addresses through
:func:`render_upstreams`, so nginx, the fallback gateway and the local runs cannot
disagree about which service answers where.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from services.common.config import REPO_ROOT

NGINX_DIR = Path(REPO_ROOT, "nginx")

_UPSTREAM_BLOCK = re.compile(r"upstream\s+(\w+)\s*\{([^}]*)\}", re.S)
_SERVER_LINE = re.compile(r"^(\s*server\s+)([\w.-]+):(\d+)(.*)$", re.M)


@dataclass(frozen=True)
class Upstream:
    """One ``upstream`` block: its name and the address of its (first) server line."""

    name: str
    host: str
    port: int


def upstreams() -> dict[str, Upstream]:
    """The upstreams ``nginx/upstreams.conf`` declares, by name, in file order."""
    found = {}
    for name, body in _UPSTREAM_BLOCK.findall((NGINX_DIR / "upstreams.conf").read_text()):
        server = _SERVER_LINE.search(body)
        if server:
            found[name] = Upstream(name, server.group(2), int(server.group(3)))
    return found


def upstream_ports() -> dict[str, int]:
    """Upstream name -> port, as ``nginx/upstreams.conf`` declares them."""
    return {name: upstream.port for name, upstream in upstreams().items()}


def render_upstreams(addresses: Mapping[str, str | Sequence[str]]) -> str:
    """``nginx/upstreams.conf`` with each upstream's server line pointing at ``addresses``
    (``host:port``, or a list of them: one server line each); upstreams not given point
    at 127.0.0.1 on their declared port. Everything else in each block is kept."""

    def local_block(block: re.Match[str]) -> str:
        name, body = block.group(1), block.group(2)
        server = _SERVER_LINE.search(body)
        given = addresses.get(name, f"127.0.0.1:{server.group(3)}")
        hosts = [given] if isinstance(given, str) else list(given)

        def servers(line: re.Match[str]) -> str:
            return "\n".join(f"{line.group(1)}{host}{line.group(4)}" for host in hosts)

        return f"upstream {name} {{" + _SERVER_LINE.sub(servers, body, count=1) + "}"

    return _UPSTREAM_BLOCK.sub(local_block, (NGINX_DIR / "upstreams.conf").read_text())


@dataclass(frozen=True)
class RouteTable:
    """Which upstream answers a public path, where each upstream listens, and which
    request targets are refused before any routing."""

    api: list[tuple[re.Pattern[str], str]]
    health: dict[str, str]
    upstreams: dict[str, str]
    refused: list[re.Pattern[str]]

    def api_upstream(self, path: str) -> str | None:
        return next((name for pattern, name in self.api if pattern.search(path)), None)

    def is_refused(self, target: str) -> bool:
        """Whether a request target, as the client sent it (path and query, still
        percent-encoded), is one nginx answers 400 without routing it."""
        return any(pattern.search(target) for pattern in self.refused)


def _regex(key: str) -> re.Pattern[str]:
    """An nginx map regex key (``~`` case-sensitive, ``~*`` not) as a Python pattern."""
    if key.startswith("~*"):
        return re.compile(key[2:], re.IGNORECASE)
    return re.compile(key.removeprefix("~"))


def _map_block(text: str, variable: str, source: str = "uri") -> list[tuple[str, str]]:
    block = re.search(r"map\s+\$" + source + r"\s+\$" + variable + r"\s*\{(.*?)\n\}", text, re.S)
    entries = []
    for line in (block.group(1) if block else "").splitlines():
        line = line.split("#", 1)[0].strip().rstrip(";")
        if line and not line.startswith("default"):
            key, name = line.rsplit(None, 1)
            entries.append((key, name))
    return entries


def load_route_table(overrides: str = "") -> RouteTable:
    """Parse nginx's route table; ``overrides`` is ``name=host:port,...``."""
    routes = (NGINX_DIR / "routes.conf").read_text()
    api = [(_regex(key), name) for key, name in _map_block(routes, "api_upstream")]
    health = dict(_map_block(routes, "health_upstream"))
    refused = [
        _regex(key)
        for key, value in _map_block(routes, "refused_path", "request_uri")
        if value != "0"
    ]
    addresses = {name: f"127.0.0.1:{port}" for name, port in upstream_ports().items()}
    for item in filter(None, (part.strip() for part in overrides.split(","))):
        name, _, address = item.partition("=")
        addresses[name] = address
    return RouteTable(api, health, addresses, refused)
