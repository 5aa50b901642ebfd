"""Live updates (docs/api.md, "Live updates"): ``GET /api/stream`` (Server-Sent Events),
``GET /api/stream/ws`` (WebSocket) and ``POST /api/stream/tickets``.

The stream is part of the notification service but runs in a process of its own,
``create_app()`` here under gunicorn's gevent workers
(``services/common/gunicorn_gevent_conf.py``), so that
thousands of open connections cost a greenlet each and never take a thread from the
ordinary API. nginx sends ``/api/stream*`` there. The notification service registers
the same blueprint too, so its API document describes the stream.

- :mod:`.resources`: the views; :mod:`.schemas`: what they take;
- :mod:`.session`: one stream's checks, replay, frames and WebSocket messages;
- :mod:`.hub`: the process's reader of the live log and index of open streams;
- :mod:`.wire`: SSE text and the WebSocket; :mod:`.tickets`; :mod:`.slots` (the
  per-user limit across replicas).

The events come from the live log the outbox relays append to
(:mod:`services.common.live_log`).
"""

from __future__ import annotations

from flask import Flask

from services.common import auth, init_service, make_api, memberships, ratelimit
from services.common.ratelimit import make_limiter

limiter = make_limiter()


def init_app(app: Flask) -> None:
    """What the stream needs in an app that serves it: memberships and the hub."""
    from services.notification.stream.hub import Hub

    memberships.init_app(app)
    app.extensions["stream_hub"] = Hub(app)


def create_app(config: object | None = None) -> Flask:
    """Build the stream process: the stream's views and nothing else (no database)."""
    from services.notification.config import StreamConfig
    from services.notification.stream.resources import blp

    app = Flask(__name__)
    app.config.from_object(config or StreamConfig())
    init_service(app)
    ratelimit.init_app(app, limiter)
    # No verifier given: tokens are checked against the user service's /internal/auth/verify.
    auth.init_app(app)
    init_app(app)
    make_api(app).register_blueprint(blp)
    return app
