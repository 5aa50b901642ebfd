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
    download_url = ma.fields.Function(_download_url)


class UploadSchema(ma.Schema):
    """multipart/form-data with the file in the field ``file``."""

    file = Upload(required=True, metadata={"description": "The file (MAX_UPLOAD_MB at most)"})


AttachmentPageSchema = page_schema(AttachmentSchema, "AttachmentPageSchema")
