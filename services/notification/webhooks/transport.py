"""Sending a webhook delivery to an address the guard checked, not to a second DNS answer.

Were ``requests`` to resolve the host name again, a DNS-rebinding attacker could answer
a public address to the guard and a private one to the connection. So the request goes
to a checked address itself: the URL names the address, the ``Host`` header keeps the
name, and over https the handshake sends the name (SNI) and the certificate is verified
against it. The addresses are tried in the resolver's order while no connection can be
made, as a client trying each answer would; once connected, nothing is sent again.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError

from services.common.http import http_session
from services.notification.webhooks.guard import Target


class PinnedAdapter(HTTPAdapter):
    """Speaks TLS to the name in the ``Host`` header while connecting to the URL's address."""

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(
            request, verify, cert
        )
        if host_params["scheme"] == "https":
            # Part of the pool key too: a connection verified for one name serves no other.
            pool_kwargs["server_hostname"] = urlsplit("//" + request.headers["Host"]).hostname
        return host_params, pool_kwargs


def _never_connected(exc: requests.ConnectionError) -> bool:
    """Whether the request failed before a connection was made, so nothing was sent."""
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, ConnectTimeoutError)  # NewConnectionError is one too


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> requests.Response:
    """POST ``body`` to ``target`` over one of its checked addresses; redirects not followed."""
    if target.addresses is None:
        return http_session().post(
            target.url, data=body, headers=headers, timeout=timeout, allow_redirects=False
        )
    session = http_session(PinnedAdapter)
    request = session.prepare_request(
        requests.Request("POST", target.url, data=body, headers=headers)
    )
    settings = session.merge_environment_settings(request.url, {}, None, None, None)
    # As requests sends it: an IDNA host name, any user:password already in Authorization.
    parts = urlsplit(request.url)
    request.headers["Host"] = parts.netloc.rpartition("@")[2]

    def send_to(address: str) -> requests.Response:
        netloc = f"[{address}]" if ":" in address else address
        if parts.port:
            netloc += f":{parts.port}"
        request.url = urlunsplit(parts._replace(netloc=netloc))
        return session.send(request, timeout=timeout, allow_redirects=False, **settings)

    *others, last = target.addresses
    for address in others:
        try:
            return send_to(address)
        except requests.ConnectionError as exc:
            if not _never_connected(exc):
                raise
    return send_to(last)
