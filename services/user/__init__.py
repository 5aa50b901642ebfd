"""User service: accounts, credentials, tokens, two-factor, sessions, provider sign-in
and roles (docs/auth.md)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from services.common import auth, docs, events, idempotency, init_service, make_api, ratelimit
from services.common.config import REPO_ROOT
from services.user.config import Config
from services.user.extensions import db, jwt, limiter, migrate

MIGRATIONS = Path(REPO_ROOT, "migrations", "user")


def create_app(config: object | None = None) -> Flask:
    """Build the user service."""
    app = Flask(__name__)
    app.config.from_object(config or Config())
    init_service(app)
    register_extensions(app)
    register_blueprints(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from services.user import models
    from services.user.verification import LocalTokenVerifier

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS))
    jwt.init_app(app)
    ratelimit.init_app(app, limiter)
    auth.init_app(app, LocalTokenVerifier())
    events.init_app(app, db, models.OutboxEvent)
    idempotency.init_app(app, db, models.IdempotencyRecord)


def register_blueprints(app: Flask) -> None:
    from services.user import internal
    from services.user.access_tokens.resources import blp as access_tokens_blp
    from services.user.accounts.resources import blp as accounts_blp
    from services.user.oidc.resources import blp as oidc_blp
    from services.user.sessions.resources import blp as sessions_blp
    from services.user.two_factor.resources import blp as two_factor_blp
    from services.user.users.resources import blp as users_blp

    api = make_api(app)
    api.register_blueprint(accounts_blp)
    api.register_blueprint(users_blp)
    api.register_blueprint(access_tokens_blp)
    api.register_blueprint(two_factor_blp)
    api.register_blueprint(sessions_blp)
    api.register_blueprint(oidc_blp)
    app.register_blueprint(internal.blueprint)
    docs.init_app(app)


def register_cli(app: Flask) -> None:
    from services.user.cli import register_cli as register

    register(app)
