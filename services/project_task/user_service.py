"""What this service asks the user service: whether an account exists and is active
(before it is made a member), through its internal user lookup."""

from __future__ import annotations

from typing import NoReturn

import requests
from flask import current_app

from services.common.errors import abort
from services.common.http import internal_call


def _unavailable() -> NoReturn:
    abort(
        503,
        "The user service is unavailable; try again shortly.",
        code="service_unavailable",
        headers={"Retry-After": "5"},
    )


def active_user_exists(user_id: int) -> bool:
    """Whether the user service knows an active account with this id."""
    url = f"{current_app.config['USER_SERVICE_URL']}/internal/users"
    try:
        response = internal_call("GET", url, params={"ids": str(user_id)})
    except requests.RequestException:
        _unavailable()
    if response.status_code != 200:
        _unavailable()
    return any(
        user.get("id") == user_id and user.get("is_active")
        for user in response.json().get("items", [])
    )
