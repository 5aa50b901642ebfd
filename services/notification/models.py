"""In-app notifications, e-mail deliveries, templates, preferences and webhooks."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.common.db import (
    NO_ID_REUSE,
    FailedJobMixin,
    IdempotencyRecordMixin,
    ProcessedEventMixin,
    TimestampMixin,
    UTCDateTime,
    utcnow,
)
from services.notification.extensions import db

# "withheld": not sent, because the recipient may no longer hear about its project.
DELIVERY_STATUSES = ("pending", "sent", "failed", "withheld")
WEBHOOK_DELIVERY_STATUSES = ("pending", "delivered", "failed", "withheld")


class Notification(db.Model):
    """One in-app notification; ``event_id`` is the key that makes it happen only once."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(nullable=False, index=True)
    type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    data: Mapped[dict] = mapped_column(sa.JSON, nullable=False, default=dict)
    event_id: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "event_id", name="uq_notifications_user_event"),
        sa.Index("ix_notifications_user_read_at", "user_id", "read_at"),
        NO_ID_REUSE,
    )


class EmailDelivery(db.Model):
    """One e-mail to send: written with the notification, sent once by the worker."""

    __tablename__ = "email_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(index=True)
    recipient: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    template: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    # The body holds a one-time secret (password reset): wiped once the e-mail is settled.
    redact_body: Mapped[bool] = mapped_column(default=False, nullable=False)
    status: Mapped[str] = mapped_column(
        sa.String(16), default="pending", nullable=False, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    event_id: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    # The project the e-mail is news about: checked again right before it is sent.
    project_id: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.UniqueConstraint(
            "event_id", "recipient", "template", name="uq_email_deliveries_event_recipient"
        ),
        NO_ID_REUSE,
    )


class NotificationTemplate(TimestampMixin, db.Model):
    """Subject and body (sandboxed Jinja2) of one notification type, or of an ad-hoc send."""

    __tablename__ = "notification_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True, nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    channel: Mapped[str] = mapped_column(sa.String(16), default="both", nullable=False)

    __table_args__ = NO_ID_REUSE


class NotificationPreference(db.Model):
    """A user's choice for one notification type; absent means the default."""

    __tablename__ = "notification_preferences"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(nullable=False, index=True)
    event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    in_app: Mapped[bool] = mapped_column(nullable=False)
    email: Mapped[bool] = mapped_column(nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("user_id", "event_type", name="uq_notification_preferences_user_type"),
        NO_ID_REUSE,
    )


class Webhook(TimestampMixin, db.Model):
    """An HTTP endpoint of a user's that receives signed event envelopes."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(nullable=False, index=True)
    url: Mapped[str] = mapped_column(sa.String(2048), nullable=False)
    description: Mapped[str | None] = mapped_column(sa.String(200))
    secret: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    event_types: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    is_active: Mapped[bool] = mapped_column(default=True, nullable=False, index=True)
    failure_count: Mapped[int] = mapped_column(default=0, nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Its place among the owner's WEBHOOKS_MAX_PER_USER (services.common.caps).
    cap_slot: Mapped[int | None] = mapped_column(sa.SmallInteger)

    __table_args__ = (
        sa.Index("uq_webhooks_owner_id_cap_slot", "owner_id", "cap_slot", unique=True),
        NO_ID_REUSE,
    )


class WebhookDelivery(db.Model):
    """One event sent (or being sent) to one webhook, with the outcome of the last try."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True
    )
    event_id: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    event_type: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    payload: Mapped[dict] = mapped_column(sa.JSON, nullable=False)
    status: Mapped[str] = mapped_column(
        sa.String(16), default="pending", nullable=False, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0, nullable=False)
    response_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    webhook: Mapped[Webhook] = relationship()

    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
        NO_ID_REUSE,
    )


class ProcessedEvent(ProcessedEventMixin, db.Model):
    __tablename__ = "processed_events"


class FailedJob(FailedJobMixin, db.Model):
    __tablename__ = "failed_jobs"


class IdempotencyRecord(IdempotencyRecordMixin, db.Model):
    __tablename__ = "idempotency_records"
