"""The private-network guard: webhooks may not aim at the platform's own network.

A URL is refused when its host resolves to any loopback, private, link-local, reserved,
multicast or unspecified address, unless the operator sets ``WEBHOOK_ALLOW_PRIVATE``.
It is checked when a webhook is saved and again, after a fresh DNS resolution, right
before each delivery (redirects are not followed, so they cannot lead around it).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from flask import current_app


class RefusedTarget(Exception):
    """The URL may not receive webhooks; the message says why."""


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_target(url: str) -> None:
    """Raise :class:`RefusedTarget` unless ``url`` is an http(s) URL we may call."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("Give an http or https URL with a host.")
    if current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedTarget("The port is not valid.") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise RefusedTarget("The host name does not resolve.") from exc
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if _forbidden(address):
            raise RefusedTarget("The URL points into a private or reserved network.")
