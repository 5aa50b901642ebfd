"""Sign-in with an OpenID Connect provider (``/api/auth/oidc``).

1. ``GET /api/auth/oidc/{provider}/login`` (in a browser) redirects to the provider, with
   a cookie binding the sign-in to that browser;
2. the provider sends the browser back to ``GET /api/auth/oidc/{provider}/callback``,
   which checks the state, exchanges the code and checks the ID token
   (:mod:`services.user.oidc.client`), finds the account, and answers the platform's own
   token pair in the JSON body, as ``POST /api/login`` does (tokens never travel in a
   URL), or 401 ``otp_required`` when the account has two-factor.

The account: the one already linked to this provider's subject; else the account with
the ID token's e-mail, if the provider says the e-mail is verified (it is then linked);
else a new account with that (verified) e-mail. An unverified e-mail links and creates
nothing (403 ``email_not_verified``).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import marshmallow as ma
from flask import current_app, redirect, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.common.db import utcnow
from services.common.errors import abort
from services.common.events import record_event
from services.common.ratelimit import auth_limit
from services.user import signin
from services.user.accounts.resources import new_account
from services.user.accounts.schemas import TokenPairSchema
from services.user.config import OidcProvider
from services.user.extensions import db, limiter
from services.user.models import OidcIdentity, User
from services.user.oidc import client
from services.user.oidc.schemas import CallbackArgsSchema, ProviderListSchema

blp = Blueprint(
    "oidc", __name__, url_prefix="/api/auth/oidc", description="Sign-in with a provider"
)
PUBLIC = {"security": []}
NO_STORE = {"Cache-Control": "no-store"}
_email = ma.validate.Email()


def _provider(name: str) -> OidcProvider:
    provider = current_app.config["OIDC_PROVIDERS"].get(name)
    if provider is None:
        abort(404, "No such sign-in provider.")
    return provider


def _verified(claims: dict[str, Any]) -> str | None:
    """The ID token's e-mail, lowercased, if the provider says it is verified."""
    email, verified = claims.get("email"), claims.get("email_verified")
    if verified not in (True, "true") or not isinstance(email, str) or len(email) > 254:
        return None
    try:
        _email(email)
    except ma.ValidationError:
        return None
    return email.lower()


def _new_username(claims: dict[str, Any], email: str) -> str:
    wanted = claims.get("preferred_username")
    raw = wanted if isinstance(wanted, str) else email.split("@")[0]
    base = re.sub(r"[^a-z0-9_.-]", "", raw.lower())[:24]
    base = base if len(base) >= 3 else f"{base}user"
    candidates = [base, *(f"{base}{secrets.randbelow(10**6):06d}" for _ in range(5))]
    taken = set(db.session.scalars(select(User.username).where(User.username.in_(candidates))))
    return next((c for c in candidates if c not in taken), f"user{secrets.token_hex(8)}")


def _account_for(provider: OidcProvider, claims: dict[str, Any]) -> User:
    """The linked account, the account of the verified e-mail (now linked), or a new one."""
    identity = db.session.scalar(
        select(OidcIdentity).where(
            OidcIdentity.provider == provider.name, OidcIdentity.subject == str(claims["sub"])
        )
    )
    if identity is not None:
        identity.last_login_at = utcnow()
        return db.session.get(User, identity.user_id)
    email = _verified(claims)
    if email is None:
        abort(
            403,
            "The provider did not confirm an e-mail address for you, so no account here can "
            "be linked or made; sign in with your password instead.",
            code="email_not_verified",
        )
    user = db.session.scalar(select(User).where(User.email == email))
    if user is not None and not user.is_active:
        abort(403, "This account is deactivated.", code="account_disabled")
    if user is None:
        name = claims.get("name")
        user = new_account(
            _new_username(claims, email),
            email,
            name[:120] if isinstance(name, str) and name else None,
            secrets.token_urlsafe(32),  # a password nobody knows: a password reset sets one
            via=f"oidc:{provider.name}",
        )
    db.session.add(
        OidcIdentity(
            user_id=user.id,
            provider=provider.name,
            subject=str(claims["sub"]),
            email=email,
            last_login_at=utcnow(),
        )
    )
    record_event(
        "user.oidc_linked",
        actor=user,
        entity=("user", user.id),
        data={"provider": provider.name, "email": email},
    )
    return user


@blp.route("/providers")
class Providers(MethodView):
    @blp.doc(**PUBLIC)
    @blp.response(200, ProviderListSchema)
    def get(self):
        """The providers you can sign in with."""
        return {
            "items": [
                {"name": name, "login_url": f"/api/auth/oidc/{name}/login"}
                for name in current_app.config["OIDC_PROVIDERS"]
            ]
        }


@blp.route("/<string:provider>/login")
class ProviderLogin(MethodView):
    @blp.doc(**PUBLIC)
    @auth_limit(limiter)
    @blp.response(302, description="To the provider's sign-in page (open this in a browser).")
    def get(self, provider: str):
        """Start signing in with a provider: a redirect to it, and a cookie for this browser."""
        chosen = _provider(provider)
        url, browser = client.start(chosen, request.cookies.get(client.BROWSER_COOKIE))
        response = redirect(url, 302)
        response.set_cookie(
            client.BROWSER_COOKIE,
            browser,
            max_age=current_app.config["OIDC_FLOW_TTL_SECONDS"],
            path=client.COOKIE_PATH,
            secure=current_app.config["APP_URL"].startswith("https://"),
            httponly=True,
            samesite="Lax",
        )
        response.headers.update(NO_STORE)
        return response


@blp.route("/<string:provider>/callback")
class ProviderCallback(MethodView):
    @blp.doc(**PUBLIC)
    @auth_limit(limiter)
    @blp.arguments(CallbackArgsSchema, location="query")
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(400, response="BAD_REQUEST")
    @blp.alt_response(401, response="UNAUTHORIZED")
    @blp.alt_response(403, response="FORBIDDEN")
    def get(self, args, provider: str):
        """Where the provider sends you back: your token pair, as a login answers it."""
        chosen = _provider(provider)
        browser = request.cookies.get(client.BROWSER_COOKIE)
        if "error" in args:
            said = args["error"]
            if args.get("error_description"):
                said += f": {args['error_description']}"
            abort(400, f"The provider did not sign you in ({said}).", code="provider_error")
        missing = {name: ["Required."] for name in ("code", "state") if name not in args}
        if missing:
            abort(422, "The provider's answer lacks the code or the state.", errors=missing)
        try:
            flow = client.take_flow(chosen, args["state"], browser)
            claims = client.finish(chosen, flow, args["code"])
        except client.SignInRefused as exc:
            abort(400, exc.detail, code=exc.code)
        user = _account_for(chosen, claims)
        return signin.sign_in(user, signed_in_with=f"oidc:{chosen.name}"), 200, NO_STORE
