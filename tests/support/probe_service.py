"""A minimal second service for end-to-end tests of the shared mechanisms.

It is built only from ``services.common`` exactly as every real service wires them:
``init_service``, the rate limiter and ``auth.init_app`` with the remote verifier, so
whatever it shows about token checks, rate limits and forwarding headers holds for
every service that is not the user service.
"""

from __future__ import annotations

from flask import Flask, request, url_for

from services.common import auth, init_service, ratelimit
from services.common.auth import current_principal, require_auth
from services.common.config import BaseConfig


class ProbeConfig(BaseConfig):
    SERVICE_NAME = "probe"


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_object(ProbeConfig())
    init_service(app)
    ratelimit.init_app(app, ratelimit.make_limiter())
    auth.init_app(app)

    @app.get("/api/probe/whoami")
    @require_auth
    def whoami():
        principal = current_principal()
        return {"id": principal.id, "username": principal.username, "role": principal.role}

    @app.get("/api/probe/client")
    def client():
        """Who and where the service believes the caller is."""
        return {
            "remote_addr": request.remote_addr,
            "scheme": request.scheme,
            "host": request.host,
            "script_root": request.script_root,
            "url": url_for("client", _external=True),
        }

    return app
