"""What this service asks the user service: whether an account exists and is active
(before it is made a member of a project or a workspace), through its internal user
lookup."""

from __future__ import annotations

from services.common.contracts import UserListSchema
from services.common.errors import abort
from services.common.http import call_service

_schema = UserListSchema()


def active_user_exists(user_id: int) -> bool:
    """Whether the user service knows an active account with this id (503 when it
    cannot say)."""
    answer = call_service("user", "/internal/users", _schema, params={"ids": str(user_id)})
    return any(user["id"] == user_id and user["is_active"] for user in answer["items"])


def require_new_member(already_member: bool, user_id: int) -> None:
    """409 when the user is a member already, 422 unless they are an active account."""
    if already_member:
        abort(
            409,
            "This user is already a member.",
            code="conflict",
            errors={"user_id": ["Already a member."]},
        )
    if not active_user_exists(user_id):
        abort(422, "There is no such active user.", errors={"user_id": ["No such active user."]})
