"""A minimal second service for end-to-end tests of the shared auth client.

It is built only from ``services.common`` exactly as every real service wires auth:
``init_service`` plus ``auth.init_app`` with the remote verifier, so whatever it shows
about token checks holds for every service that is not the user service.
"""

from __future__ import annotations

from flask import Flask

from services.common import auth, init_service
from services.common.auth import current_principal, require_auth
from services.common.config import BaseConfig


class ProbeConfig(BaseConfig):
    SERVICE_NAME = "probe"


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_object(ProbeConfig())
    init_service(app)
    auth.init_app(app)

    @app.get("/api/probe/whoami")
    @require_auth
    def whoami():
        principal = current_principal()
        return {"id": principal.id, "username": principal.username, "role": principal.role}

    return app
