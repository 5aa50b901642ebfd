"""The one shared package: everything a service needs that is not its own domain.

A service wires itself with ``init_service(app)`` (request ids, logging, errors,
metrics, health, rate limits, CORS-free JSON conventions) and ``make_api(app)``
(flask-smorest with the platform's problem+json error contract).
"""

from services.common.app import init_service, make_api

__all__ = ["init_service", "make_api"]
