"""Checking a bearer token: an access token of a login session (a JWT) or a personal
access token (``tp_...``). The user service's own views and ``POST /internal/auth/verify``
(which every other service calls) both come here."""

from __future__ import annotations

from services.common.auth import InvalidToken, Principal
from services.user import personal_tokens, tokens


def verify_bearer_token(token: str) -> tuple[Principal, int]:
    """The principal for the token and the seconds until it expires; raises
    :class:`~services.common.auth.InvalidToken` for anything else."""
    if token.startswith(personal_tokens.PREFIX):
        return personal_tokens.verify(token)
    return tokens.verify_access_token(token)


class LocalTokenVerifier:
    """The user service checks tokens itself, against its own database."""

    def verify(self, token: str) -> Principal:
        return verify_bearer_token(token)[0]

    def recognises(self, token: str) -> bool:
        """Whether this service signed the access token and it has not expired (its
        session is checked by :meth:`verify`). A personal access token is known only by
        a database look-up, so until :meth:`verify` it counts against the address."""
        if token.startswith(personal_tokens.PREFIX):
            return False
        try:
            tokens.decode(token, "access")
        except InvalidToken:
            return False
        return True
