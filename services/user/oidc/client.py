"""Sign-in with an OpenID Connect provider: the authorization code flow with PKCE (S256),
state and nonce, with Authlib (its OAuth 2 client for the URL and the code exchange, its
ID-token claims for the checks) and joserfc (the signature, against the provider's JWKS).

- The provider's discovery document (``<issuer>/.well-known/openid-configuration``) and
  its key set are fetched at run time, with ``OIDC_HTTP_TIMEOUT``, and kept for
  ``OIDC_METADATA_CACHE_SECONDS`` (the key set is fetched again once for an unknown key
  id, so a provider can rotate its keys). A provider that cannot be reached is 503.
- :func:`start` keeps the state, the nonce and the PKCE verifier in Redis
  (``oidc:flow:<keyed hash of the state>``, ``OIDC_FLOW_TTL_SECONDS``), bound to the
  browser by a random cookie whose keyed hash the entry holds; :func:`finish` takes the
  entry once (a state works once, only in the browser that started it), exchanges the
  code with the verifier, and checks the ID token: signature, ``iss``, ``aud``, ``exp``,
  ``iat`` and the ``nonce``.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError
from authlib.oidc.core import CodeIDToken
from flask import current_app
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from services.common.cache import MISSING, ExpiringCache
from services.common.errors import ServiceUnavailable
from services.common.http import http_session
from services.common.redis_store import get_redis
from services.user.config import OidcProvider
from services.user.tokens import keyed_hash

FLOW_KEY = "oidc:flow:{}"
BROWSER_COOKIE = "oidc_browser"
COOKIE_PATH = "/api/auth/oidc/"
LEEWAY_SECONDS = 60


class SignInRefused(Exception):
    """The sign-in cannot go on: a 400 with ``code`` and ``detail``."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Flow:
    """A sign-in under way, as :func:`start` left it in Redis."""

    provider: str
    nonce: str
    code_verifier: str
    browser: str


def redirect_uri(provider: OidcProvider) -> str:
    """Where the provider sends the browser back (register it with the provider)."""
    return f"{current_app.config['APP_URL']}/api/auth/oidc/{provider.name}/callback"


def _fetch_json(provider: OidcProvider, url: str) -> dict[str, Any]:
    try:
        response = http_session().get(url, timeout=current_app.config["OIDC_HTTP_TIMEOUT"])
        response.raise_for_status()
        document = response.json()
    except (requests.RequestException, ValueError) as exc:
        raise ServiceUnavailable(f"sign-in provider {provider.name}", f"GET {url}: {exc}") from exc
    if not isinstance(document, dict):
        raise ServiceUnavailable(f"sign-in provider {provider.name}", f"GET {url}: not an object")
    return document


def _cached(key: tuple, fetch: Any, *, force: bool = False) -> Any:
    """A provider's document from the app's cache, fetched when missing or forced."""
    cache = current_app.extensions.get("oidc_documents")
    if cache is None:
        ttl = current_app.config["OIDC_METADATA_CACHE_SECONDS"]
        cache = current_app.extensions["oidc_documents"] = ExpiringCache(64, ttl)
    found = MISSING if force else cache.get(key)
    if found is MISSING:
        found = fetch()
        cache.set(key, found)
    return found


def metadata(provider: OidcProvider) -> dict[str, Any]:
    """The provider's discovery document (its ``issuer`` must be the configured one)."""

    def fetch() -> dict[str, Any]:
        url = provider.issuer + "/.well-known/openid-configuration"
        document = _fetch_json(provider, url)
        if str(document.get("issuer", "")).rstrip("/") != provider.issuer:
            raise ServiceUnavailable(
                f"sign-in provider {provider.name}", "its discovery names another issuer"
            )
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(field), str):
                raise ServiceUnavailable(f"sign-in provider {provider.name}", f"no {field}")
        return document

    return _cached(("metadata", provider.issuer), fetch)


def _key_set(provider: OidcProvider, *, force: bool = False) -> KeySet:
    url = metadata(provider)["jwks_uri"]
    return _cached(
        ("jwks", url), lambda: KeySet.import_key_set(_fetch_json(provider, url)), force=force
    )


def _session(provider: OidcProvider) -> OAuth2Session:
    return OAuth2Session(
        provider.client_id,
        provider.client_secret,
        scope=provider.scopes,
        redirect_uri=redirect_uri(provider),
        code_challenge_method="S256",
        default_timeout=current_app.config["OIDC_HTTP_TIMEOUT"],
    )


def start(provider: OidcProvider, browser: str | None) -> tuple[str, str]:
    """The provider's authorization URL for a new sign-in, and the browser's cookie
    value (the one it has, or a new one)."""
    if not browser or len(browser) > 128:
        browser = secrets.token_urlsafe(32)
    state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
    endpoint = metadata(provider)["authorization_endpoint"]
    with _session(provider) as session:
        url, _ = session.create_authorization_url(
            endpoint, state=state, code_verifier=verifier, nonce=nonce
        )
    flow = {
        "provider": provider.name,
        "nonce": nonce,
        "code_verifier": verifier,
        "browser": keyed_hash(browser),
    }
    ttl = current_app.config["OIDC_FLOW_TTL_SECONDS"]
    get_redis().set(FLOW_KEY.format(keyed_hash(state)), json.dumps(flow), ex=ttl)
    return url, browser


def take_flow(provider: OidcProvider, state: str, browser: str | None) -> Flow:
    """The sign-in a callback's ``state`` names, if this browser started it for this
    provider; it is then over (a state works once)."""
    key = FLOW_KEY.format(keyed_hash(state))
    redis = get_redis()
    raw = redis.get(key)
    flow = Flow(**json.loads(raw)) if raw else None
    if (
        flow is None
        or flow.provider != provider.name
        or not browser
        or not secrets.compare_digest(flow.browser, keyed_hash(browser))
        or not redis.delete(key)
    ):
        raise SignInRefused(
            "invalid_state",
            "This sign-in is unknown, has expired, was used already or was started in "
            "another browser; start again.",
        )
    return flow


def finish(provider: OidcProvider, flow: Flow, code: str) -> dict[str, Any]:
    """Exchange the code and check the ID token; its claims."""
    endpoint = metadata(provider)["token_endpoint"]
    try:
        with _session(provider) as session:
            token = session.fetch_token(endpoint, code=code, code_verifier=flow.code_verifier)
    except OAuthError as exc:
        raise SignInRefused(
            "provider_error", f"The provider refused the sign-in: {exc.error}."
        ) from exc
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"sign-in provider {provider.name}", str(exc)) from exc
    except ValueError as exc:
        raise SignInRefused("provider_error", "The provider's answer was not JSON.") from exc
    if not isinstance(token.get("id_token"), str):
        raise SignInRefused("provider_error", "The provider sent no ID token.")
    return id_token_claims(provider, token["id_token"], flow.nonce, token.get("access_token"))


def id_token_claims(
    provider: OidcProvider, id_token: str, nonce: str, access_token: str | None
) -> dict[str, Any]:
    """The claims of a valid ID token for this client and this sign-in."""
    algorithms = metadata(provider).get("id_token_signing_alg_values_supported") or ["RS256"]
    registry = JWSRegistry(algorithms=[a for a in algorithms if a != "none"])
    try:
        try:
            decoded = jwt.decode(id_token, _key_set(provider), registry=registry)
        except InvalidKeyIdError:
            decoded = jwt.decode(id_token, _key_set(provider, force=True), registry=registry)
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
            },
            {"nonce": nonce, "client_id": provider.client_id, "access_token": access_token},
        )
        claims.validate(leeway=LEEWAY_SECONDS)
    except (JoseError, ValueError) as exc:
        raise SignInRefused(
            "invalid_id_token", f"The provider's ID token is not valid ({exc})."
        ) from exc
    return dict(claims)
