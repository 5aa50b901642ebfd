"""Stream tickets: how a browser's ``EventSource`` (which cannot send headers) opens a
stream without its token in the URL.

``POST /api/stream/tickets`` (with the ``Authorization`` header) issues a ticket: 32
random bytes. Redis keeps, under the SHA-256 of the ticket, the caller's access token
encrypted with the ticket itself (Fernet), for ``STREAM_TICKET_SECONDS``: Redis never
holds the ticket, nor a token it could use. ``?ticket=`` redeems it with ``GETDEL``, so
it opens one stream at most; the stream then checks the token like any other (revoked
or expired, it ends).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets

import redis
from cryptography.fernet import Fernet, InvalidToken

KEY_PREFIX = "live:ticket:"
_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _key(ticket: str) -> str:
    return KEY_PREFIX + hashlib.sha256(ticket.encode()).hexdigest()


def _cipher(ticket: str) -> Fernet:
    raw = base64.urlsafe_b64decode(ticket + "=")
    return Fernet(base64.urlsafe_b64encode(raw))


def issue(client: redis.Redis, token: str, ttl_seconds: int) -> str:
    """A new single-use ticket standing for ``token`` for ``ttl_seconds``."""
    ticket = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    client.set(_key(ticket), _cipher(ticket).encrypt(token.encode()), ex=ttl_seconds)
    return ticket


def redeem(client: redis.Redis, ticket: str) -> str | None:
    """The token a ticket stands for, once; None if it is unknown, expired or used."""
    if not _SHAPE.match(ticket):
        return None
    sealed = client.getdel(_key(ticket))
    if sealed is None:
        return None
    try:
        return _cipher(ticket).decrypt(sealed).decode()
    except (InvalidToken, binascii.Error, ValueError):
        return None
