"""The caller's own account, public profiles, and account administration."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import or_, select

from services.common.auth import current_principal, require_auth, require_scope
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.events import record_event
from services.common.pagination import paginate, with_link
from services.common.scopes import SESSION
from services.user import lockout, personal_tokens, tokens
from services.user.accounts.resources import _taken
from services.user.extensions import db
from services.user.models import User
from services.user.users.schemas import (
    AdminUserArgsSchema,
    AdminUserPageSchema,
    AdminUserUpdateSchema,
    MeReplaceSchema,
    MeUpdateSchema,
    PublicUserListSchema,
    PublicUserSchema,
    UserIdsArgsSchema,
    UserSchema,
)

blp = Blueprint("users", __name__, url_prefix="/api", description="Users")

_user_schema = UserSchema()


def _with_etag(user: User) -> tuple[User, int, dict[str, str]]:
    return user, 200, {"ETag": etag_of(_user_schema.dump(user))}


def _load_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404, "No such user.")
    return user


@blp.route("/users/me")
class Me(MethodView):
    decorators = [require_auth(scope="users")]

    @blp.response(200, UserSchema)
    def get(self):
        """Your account."""
        return _with_etag(_load_user(current_principal().id))

    @blp.arguments(MeReplaceSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, response="CONFLICT")
    def put(self, data):
        """Replace your e-mail and name, optionally your password (these need current_password)."""
        return self._update(data)

    @blp.arguments(MeUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data):
        """Change your e-mail, name or password (e-mail and password need current_password)."""
        return self._update(data)

    def _update(self, data: dict) -> tuple[User, int, dict[str, str]]:
        principal = current_principal()
        user = _load_user(principal.id)
        check_if_match(_user_schema.dump(user))
        email = data["email"].lower() if "email" in data else user.email
        email_changed = email != user.email
        password_changed = "password" in data
        if email_changed:
            errors = _taken("", email, exclude_id=user.id)
            if errors:
                abort(409, "An account with this e-mail exists.", code="conflict", errors=errors)
        if email_changed or password_changed:
            require_scope(SESSION)  # a personal access token cannot take the account over
            lockout.confirm_current_password(user, data.get("current_password"))
        changes: dict[str, list] = {}
        if email_changed:
            changes["email"] = [user.email, email]
            user.email = email
        if "full_name" in data and data["full_name"] != user.full_name:
            changes["full_name"] = [user.full_name, data["full_name"]]
            user.full_name = data["full_name"]
        if password_changed:
            user.password_hash = tokens.hash_password(data["password"])
            tokens.revoke_sessions(user.id, "password_change", keep_session=principal.session_id)
            changes["password"] = ["***", "***"]
        if email_changed or password_changed:
            # Reset links went to the old address, or would undo the new password.
            tokens.revoke_reset_tokens(user.id)
        if changes:
            record_event("user.updated", actor=principal, entity=("user", user.id), changes=changes)
        if email_changed:
            # The old address is told (notification service); nothing the caller sends
            # can skip it.
            old_email, new_email = changes["email"]
            record_event(
                "user.email_changed",
                actor=principal,
                entity=("user", user.id),
                data={"old_email": old_email, "new_email": new_email},
            )
        db.session.commit()
        if password_changed:
            tokens.announce_revocation(user.id)
        return _with_etag(user)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    decorators = [require_auth(scope="users")]

    @blp.response(200, PublicUserSchema)
    def get(self, user_id: int):
        """Someone's public profile."""
        return _load_user(user_id)


@blp.route("/users")
class Users(MethodView):
    decorators = [require_auth(scope="users")]

    @blp.arguments(UserIdsArgsSchema, location="query")
    @blp.response(200, PublicUserListSchema)
    def get(self, args):
        """Public profiles of several users at once (``?ids=1,2,3``)."""
        users = db.session.scalars(select(User).where(User.id.in_(args["ids"])).order_by(User.id))
        return {"items": list(users)}


@blp.route("/admin/users")
class AdminUsers(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.arguments(AdminUserArgsSchema, location="query")
    @blp.response(200, AdminUserPageSchema)
    def get(self, args):
        """All accounts, searchable and filterable (admin)."""
        query = select(User)
        if args.get("q"):
            pattern = f"%{args['q'].lower()}%"
            query = query.where(
                or_(
                    User.username.like(pattern),
                    User.email.like(pattern),
                    User.full_name.ilike(pattern),
                )
            )
        if "role" in args:
            query = query.where(User.role == args["role"])
        if "is_active" in args:
            query = query.where(User.is_active == args["is_active"])
        sort = args["sort"]
        column = getattr(User, sort.lstrip("-"))
        query = query.order_by(column.desc() if sort.startswith("-") else column.asc(), User.id)
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)


@blp.route("/admin/users/<int:user_id>")
class AdminUserById(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.response(200, UserSchema)
    def get(self, user_id: int):
        """One account in full (admin)."""
        return _with_etag(_load_user(user_id))

    @blp.arguments(AdminUserUpdateSchema)
    @blp.response(200, UserSchema)
    @blp.alt_response(409, response="CONFLICT")
    def patch(self, data, user_id: int):
        """Change an account's role or deactivate it (admin)."""
        principal = current_principal()
        user = _load_user(user_id)
        check_if_match(_user_schema.dump(user))
        if user.id == principal.id:
            abort(409, "Admins cannot change their own role or status.", code="conflict")
        changes = {
            field: [getattr(user, field), value]
            for field, value in data.items()
            if getattr(user, field) != value
        }
        for field, value in data.items():
            setattr(user, field, value)
        if changes.get("is_active") == [True, False]:
            tokens.revoke_sessions(user.id, "deactivated")
            tokens.revoke_reset_tokens(user.id)
            personal_tokens.revoke(user.id, "deactivated")
        if changes:
            record_event("user.updated", actor=principal, entity=("user", user.id), changes=changes)
        db.session.commit()
        if changes:
            tokens.announce_revocation(user.id)
        return _with_etag(user)
