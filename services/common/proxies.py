"""Forwarding headers, believed only from the platform's own proxies.

nginx (or the fallback gateway) tells a service who the client is (``X-Forwarded-For``,
set to the address nginx saw), and the scheme and host it was asked for. Anyone else
who can reach a service directly could send the same headers, to pick their own
rate-limit bucket or the address the logs and the audit trail record. So they count
only on a connection from ``TRUSTED_PROXIES`` (comma-separated addresses or CIDR
networks; default loopback, for local runs; the compose stack sets its proxy network).
From any other peer they are removed before the app sees the request, and the peer's
own address is the client. ``X-Forwarded-Prefix`` (and a ``SCRIPT_NAME`` header) count
from nobody: nginx serves every service at its own paths, so no prefix is ever needed.

gunicorn gets the same list as ``forwarded_allow_ips`` (services/common/gunicorn_conf.py).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from services.common.config import ConfigError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# The WSGI names of every forwarding header a proxy might set; a request from anyone
# else reaches the app without them.
FORWARDING_KEYS = (
    "HTTP_FORWARDED",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_X_FORWARDED_PREFIX",
    "HTTP_X_REAL_IP",
)


def parse_trusted_proxies(raw: str) -> tuple[Network, ...]:
    """``TRUSTED_PROXIES`` as networks; a malformed entry (or ``*``) stops start-up."""
    networks = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ConfigError(
                f"TRUSTED_PROXIES has an invalid entry {item!r} (give the proxies' "
                f"addresses or networks, e.g. 10.0.0.0/24): {exc}"
            ) from exc
    return tuple(networks)


class TrustedProxyFix:
    """WSGI middleware: werkzeug's ``ProxyFix`` (one proxy hop: the client address, the
    scheme and the host it was asked for) for a peer in ``trusted``; for anyone else, the
    forwarding headers are dropped."""

    def __init__(self, app: Callable[..., Any], trusted: Iterable[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self.proxied = ProxyFix(app, x_for=1, x_proto=1, x_host=1, x_port=0, x_prefix=0)

    def is_trusted(self, address: str | None) -> bool:
        try:
            peer = ipaddress.ip_address((address or "").split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped:
            peer = peer.ipv4_mapped
        return any(peer in network for network in self.trusted)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.is_trusted(environ.get("REMOTE_ADDR")):
            return self.proxied(environ, start_response)
        for key in FORWARDING_KEYS:
            environ.pop(key, None)
        return self.app(environ, start_response)
