"""Your notifications, your preferences, and messages admins send (docs/services.md)."""

from __future__ import annotations

import uuid

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select, update

from services.common.auth import Principal, current_principal, require_auth
from services.common.db import utcnow
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.notification.delivery import Notice, dispatch_emails, notify, templates_named
from services.notification.extensions import db
from services.notification.models import Notification
from services.notification.notifications.schemas import (
    NotificationListArgsSchema,
    NotificationPageSchema,
    NotificationSchema,
    PreferencesSchema,
    PreferencesUpdateSchema,
    ReadAllResultSchema,
    SendResultSchema,
    SendSchema,
    UnreadCountSchema,
)
from services.notification.preferences import preferences_of, update_preferences
from services.notification.rendering import TemplateText, template_errors

blp = Blueprint(
    "notifications", __name__, url_prefix="/api/notifications", description="Notifications"
)


def _page_of(user_id: int, args: dict):
    query = select(Notification).where(Notification.user_id == user_id)
    if args["unread"]:
        query = query.where(Notification.read_at.is_(None))
    query = query.order_by(Notification.id.desc())
    page = paginate(db.session, query, args["page"], args["per_page"])
    return with_link(page)


@blp.route("")
class Notifications(MethodView):
    decorators = [require_auth(scope="notifications")]

    @blp.arguments(NotificationListArgsSchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args):
        """Your notifications, newest first (``unread=true`` for unread only)."""
        return _page_of(current_principal().id, args)


@blp.route("/user/<int:user_id>")
class NotificationsOfUser(MethodView):
    decorators = [require_auth(scope="notifications")]

    @blp.arguments(NotificationListArgsSchema, location="query")
    @blp.response(200, NotificationPageSchema)
    def get(self, args, user_id: int):
        """A user's notifications (yourself, or anyone for admins)."""
        principal = current_principal()
        if user_id != principal.id and not principal.is_admin:
            abort(403, "You can only see your own notifications.", code="forbidden")
        return _page_of(user_id, args)


@blp.route("/<int:notification_id>/read")
class NotificationRead(MethodView):
    decorators = [require_auth(scope="notifications")]

    @blp.response(200, NotificationSchema)
    def post(self, notification_id: int):
        """Mark one of your notifications read."""
        notification = db.session.get(Notification, notification_id)
        if notification is None or notification.user_id != current_principal().id:
            abort(404, "No such notification.")
        if notification.read_at is None:
            notification.read_at = utcnow()
            db.session.commit()
        return notification


@blp.route("/read-all")
class NotificationsReadAll(MethodView):
    decorators = [require_auth(scope="notifications")]

    @blp.response(200, ReadAllResultSchema)
    def post(self):
        """Mark all your notifications read."""
        result = db.session.execute(
            update(Notification)
            .where(Notification.user_id == current_principal().id, Notification.read_at.is_(None))
            .values(read_at=utcnow())
        )
        db.session.commit()
        return {"updated": result.rowcount}


@blp.route("/unread-count")
class UnreadCount(MethodView):
    decorators = [require_auth(scope="notifications")]

    @blp.response(200, UnreadCountSchema)
    def get(self):
        """How many of your notifications are unread."""
        count = db.session.scalar(
            select(func.count()).where(
                Notification.user_id == current_principal().id, Notification.read_at.is_(None)
            )
        )
        return {"count": count or 0}


@blp.route("/preferences")
class Preferences(MethodView):
    decorators = [require_auth(scope="notifications")]

    @blp.response(200, PreferencesSchema)
    def get(self):
        """Your preferences: per notification type, in-app and e-mail on or off."""
        user_id = current_principal().id
        return {"preferences": preferences_of([user_id])[user_id]}

    @blp.arguments(PreferencesUpdateSchema)
    @blp.response(200, PreferencesSchema)
    def put(self, data):
        """Change the channels of the types given; the others stay as they are."""
        preferences = update_preferences(current_principal().id, data["preferences"])
        db.session.commit()
        return {"preferences": preferences}


def _template_to_send(data: dict) -> TemplateText:
    if "template" in data:
        template = templates_named([data["template"]]).get(data["template"])
        if template is None:
            abort(422, "No such template.", errors={"template": ["No such template."]})
        return template
    errors = template_errors(data["subject"], data["body"], data["context"])
    if errors:
        abort(422, "The subject or body does not render.", errors=errors)
    return TemplateText("announcement", data["subject"], data["body"])


def _send(principal: Principal, data: dict) -> dict:
    template = _template_to_send(data)
    event_id = f"send:{uuid.uuid4()}"
    notice = Notice(
        kind="announcement",
        event_id=event_id,
        recipients=data["user_ids"],
        context={**data["context"], "actor": principal.as_actor()},
        data={"sent_by": principal.id},
        template=template,
    )
    result = notify([notice])
    db.session.commit()
    dispatch_emails(result.emails)
    return {
        "event_id": event_id,
        "notifications": result.notifications,
        "emails": len(result.emails),
    }


@blp.route("/send")
class Send(MethodView):
    decorators = [require_auth(admin=True)]

    @idempotent
    @blp.arguments(SendSchema)
    @blp.response(202, SendResultSchema)
    def post(self, data):
        """Send users a message, by template or by subject and body (admin)."""
        return _send(current_principal(), data)
