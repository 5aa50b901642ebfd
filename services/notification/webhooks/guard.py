"""The private-network guard: webhooks may not aim at the platform's own network.

A URL is refused when its host resolves to any loopback, private, link-local, reserved,
multicast or unspecified address, unless the operator sets ``WEBHOOK_ALLOW_PRIVATE``.
It is checked when a webhook is saved and again, after a fresh DNS resolution, right
before each delivery. The delivery then connects to one of the addresses checked
(``webhooks.transport``) instead of resolving the name again, so a DNS answer that
changes in between cannot lead around the guard; nor can redirects, which are not
followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedTarget(Exception):
    """The URL may not receive webhooks; the message says why."""


class UnresolvedTarget(RefusedTarget):
    """The host name does not resolve now; at delivery time, worth another try later."""


@dataclass(frozen=True)
class Target:
    """A webhook URL and the addresses its host resolved to, every one of them allowed.

    ``addresses`` is ``None`` when private targets are allowed: then nothing was resolved
    here and the delivery resolves the name as any client would.
    """

    url: str
    addresses: tuple[str, ...] | None


def is_forbidden(address: IPAddress) -> bool:
    """Whether ``address`` is on a network webhooks may not reach."""
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


def check_target(url: str) -> Target:
    """The target ``url`` names; raise :class:`RefusedTarget` unless it is an http(s) URL
    whose host resolves to allowed addresses only."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget("Give an http or https URL with a host.")
    if current_app.config["WEBHOOK_ALLOW_PRIVATE"]:
        return Target(url, None)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise RefusedTarget("The port is not valid.") from exc
    try:
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise UnresolvedTarget("The host name does not resolve.") from exc
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not addresses:
        raise UnresolvedTarget("The host name does not resolve.")
    if any(is_forbidden(address) for address in addresses):
        raise RefusedTarget("The URL points into a private or reserved network.")
    return Target(url, tuple(dict.fromkeys(str(address) for address in addresses)))
