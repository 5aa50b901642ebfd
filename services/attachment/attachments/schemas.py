"""Schemas for attachments as the API shows and takes them."""

import marshmallow as ma
from flask import url_for
from flask_smorest.fields import Upload

from services.common.pagination import page_schema


def _download_url(attachment) -> str:
    return url_for("attachments.AttachmentDownload", attachment_id=attachment.id)


class AttachmentSchema(ma.Schema):
    """A file attached to a task."""

    id = ma.fields.Integer()
    task_id = ma.fields.Integer()
    filename = ma.fields.String(metadata={"description": "The client's name, made safe"})
    content_type = ma.fields.String(metadata={"description": "Detected from the content"})
    size = ma.fields.Integer(metadata={"description": "Bytes"})
    sha256 = ma.fields.String(metadata={"description": "Hex SHA-256 of the content"})
    uploaded_by = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    version = ma.fields.Integer(metadata={"description": "The latest version's number"})
    download_url = ma.fields.Function(_download_url)


class UploadSchema(ma.Schema):
    """multipart/form-data with the file in the field ``file``."""

    file = Upload(required=True, metadata={"description": "The file (MAX_UPLOAD_MB at most)"})


AttachmentPageSchema = page_schema(AttachmentSchema, "AttachmentPageSchema")


def _version_download_url(version) -> str:
    return url_for(
        "versions.VersionDownload", attachment_id=version.attachment_id, number=version.number
    )


class VersionSchema(ma.Schema):
    """One version of a file."""

    number = ma.fields.Integer()
    attachment_id = ma.fields.Integer()
    filename = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    sha256 = ma.fields.String()
    uploaded_by = ma.fields.Integer()
    restored_from = ma.fields.Integer(
        allow_none=True, metadata={"description": "The version a restore copied (else null)"}
    )
    created_at = ma.fields.DateTime()
    download_url = ma.fields.Function(_version_download_url)


VersionPageSchema = page_schema(VersionSchema, "VersionPageSchema")


class LinkCreateSchema(ma.Schema):
    """A share link to make."""

    expires_in = ma.fields.Integer(
        required=True,
        strict=True,
        metadata={
            "description": "Seconds until the link stops working "
            "(SHARE_LINK_MIN_EXPIRY_SECONDS to SHARE_LINK_MAX_EXPIRY_SECONDS)"
        },
    )


class LinkSchema(ma.Schema):
    """A share link (its token is shown once, when it is made)."""

    id = ma.fields.Integer()
    attachment_id = ma.fields.Integer()
    created_by = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()
    expired = ma.fields.Boolean()


class CreatedLinkSchema(LinkSchema):
    """A share link just made, with its token and URL (never shown again)."""

    token = ma.fields.String()
    url = ma.fields.String(metadata={"description": "Downloads without an account"})


LinkPageSchema = page_schema(LinkSchema, "LinkPageSchema")


class StorageUsageSchema(ma.Schema):
    """What a project's files take and may take."""

    project_id = ma.fields.Integer()
    usage = ma.fields.Integer(metadata={"description": "Bytes: each distinct content once"})
    quota = ma.fields.Integer(metadata={"description": "Bytes (PROJECT_STORAGE_QUOTA_MB)"})
