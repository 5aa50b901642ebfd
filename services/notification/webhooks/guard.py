"""The private-network guard: webhooks reach only the public internet.

A URL is refused when its host resolves to any address that is not globally routable,
unless the operator sets ``WEBHOOK_ALLOW_PRIVATE``: loopback, private, shared
(100.64.0.0/10, where some clouds keep their metadata service), link-local, unspecified,
benchmarking, documentation, reserved and multicast ranges, and an IPv6 address that
carries such an IPv4 address inside it (IPv4-mapped or -compatible, 6to4, NAT64,
Teredo). Python's ``is_global`` is the base; the ranges are also named here, so the
answer does not depend on the Python release's tables.

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


# Refused whatever ``is_global`` says (documented ranges, named so the guard does not
# depend on the Python release's tables).
FORBIDDEN_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        "0.0.0.0/8",  # "this network"
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT, cloud metadata)
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # documentation
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # documentation
        "203.0.113.0/24",  # documentation
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
        "::/96",  # unspecified, loopback, IPv4-compatible
        "::ffff:0:0/96",  # IPv4-mapped
        "::ffff:0:0:0/96",  # IPv4-translated
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001::/23",  # IETF protocol assignments (Teredo, benchmarking, ORCHID)
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_INSIDE = (_NAT64, ipaddress.ip_network("::/96"), ipaddress.ip_network("::ffff:0:0:0/96"))


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (IPv4-mapped, -compatible or
    -translated, NAT64, 6to4, Teredo's client), if any."""
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in _IPV4_INSIDE):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_forbidden(address: IPAddress) -> bool:
    """Whether webhooks may not reach ``address``: it is not globally routable, or it
    carries an IPv4 address that is not."""
    inner = embedded_ipv4(address)
    if inner is not None and is_forbidden(inner):
        return True
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or any(address in network for network in FORBIDDEN_NETWORKS)
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
