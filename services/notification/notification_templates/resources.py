"""Notification templates: list, create, read, replace, delete (admin only).

Each notification type renders with the template of its name; deleting one brings back
the built-in default. A template that does not render in the sandbox is refused (422).
"""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from services.common.auth import require_auth
from services.common.concurrency import check_if_match, etag_of
from services.common.errors import abort
from services.common.idempotency import idempotent
from services.common.pagination import paginate, with_link
from services.notification.extensions import db
from services.notification.models import NotificationTemplate
from services.notification.notification_templates.schemas import (
    TemplateInSchema,
    TemplateListArgsSchema,
    TemplatePageSchema,
    TemplateSchema,
)
from services.notification.rendering import template_errors

blp = Blueprint(
    "notification_templates",
    __name__,
    url_prefix="/api/notification-templates",
    description="Notification templates (admin)",
)

_schema = TemplateSchema()


def _with_etag(template: NotificationTemplate, status: int = 200, **headers: str):
    return template, status, {"ETag": etag_of(_schema.dump(template)), **headers}


def _load(template_id: int) -> NotificationTemplate:
    template = db.session.get(NotificationTemplate, template_id)
    if template is None:
        abort(404, "No such template.")
    return template


def _check(data: dict, exclude_id: int | None = None) -> None:
    errors = template_errors(data["subject"], data["body"])
    if errors:
        abort(422, "The template does not render.", errors=errors)
    query = select(NotificationTemplate.id).where(NotificationTemplate.name == data["name"])
    if exclude_id is not None:
        query = query.where(NotificationTemplate.id != exclude_id)
    if db.session.scalar(query) is not None:
        abort(409, "A template of this name exists.", code="conflict", errors={"name": ["Taken."]})


@blp.route("")
class Templates(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.arguments(TemplateListArgsSchema, location="query")
    @blp.response(200, TemplatePageSchema)
    def get(self, args):
        """Every template, by name (admin)."""
        query = select(NotificationTemplate).order_by(NotificationTemplate.name)
        page = paginate(db.session, query, args["page"], args["per_page"])
        return with_link(page)

    @idempotent
    @blp.arguments(TemplateInSchema)
    @blp.response(201, TemplateSchema)
    def post(self, data):
        """Create a template (admin)."""
        _check(data)
        template = NotificationTemplate(**data)
        db.session.add(template)
        db.session.commit()
        location = url_for("notification_templates.TemplateById", template_id=template.id)
        return _with_etag(template, 201, Location=location)


@blp.route("/<int:template_id>")
class TemplateById(MethodView):
    decorators = [require_auth(admin=True)]

    @blp.response(200, TemplateSchema)
    def get(self, template_id: int):
        """One template (admin)."""
        return _with_etag(_load(template_id))

    @blp.arguments(TemplateInSchema)
    @blp.response(200, TemplateSchema)
    def put(self, data, template_id: int):
        """Replace a template (admin)."""
        template = _load(template_id)
        check_if_match(_schema.dump(template))
        _check(data, exclude_id=template.id)
        for field, value in data.items():
            setattr(template, field, value)
        db.session.commit()
        return _with_etag(template)

    @blp.response(204)
    def delete(self, template_id: int):
        """Delete a template; a notification type falls back to its default (admin)."""
        template = _load(template_id)
        check_if_match(_schema.dump(template))
        db.session.delete(template)
        db.session.commit()
