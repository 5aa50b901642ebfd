"""What this service asks the user service: whether an account exists and is active
(before it is made a member), through its internal user lookup."""

from __future__ import annotations

from services.common.contracts import UserListSchema
from services.common.http import call_service

_schema = UserListSchema()


def active_user_exists(user_id: int) -> bool:
    """Whether the user service knows an active account with this id (503 when it
    cannot say)."""
    answer = call_service("user", "/internal/users", _schema, params={"ids": str(user_id)})
    return any(user["id"] == user_id and user["is_active"] for user in answer["items"])
