"""Schemas for report jobs as the API takes and shows them, and their list query."""

import marshmallow as ma
from marshmallow import validate

from services.common.pagination import PageArgsSchema, page_schema
from services.common.query_args import CommaList
from services.reporting.models import FORMATS, REPORT_STATUSES, REPORT_TYPES

PARAMS = (
    "Per type: project_summary {project_id} (required); user_workload {user_id?, "
    "project_id?}; overdue_tasks {project_id?, assignee_id?}; activity_summary "
    "{project_id?, days? (1-365, default 30)}; system_overview {} (admins); timesheet "
    "{project_id?, user_id?, since?, until? (YYYY-MM-DD, both included, at most 366 days; "
    "default the 7 days to today), group_by? (day, week, user or task; default day)}."
)


class ReportCreateSchema(ma.Schema):
    """A report to make."""

    type = ma.fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    params = ma.fields.Dict(
        keys=ma.fields.String(), load_default=dict, metadata={"description": PARAMS}
    )
    format = ma.fields.String(load_default="json", validate=validate.OneOf(FORMATS))


def _download_url(report) -> str | None:
    return f"/api/reports/{report.id}/download" if report.status == "completed" else None


class ReportSchema(ma.Schema):
    """A report job: ``pending → running → completed | failed``, then ``expired``."""

    id = ma.fields.Integer()
    requester_id = ma.fields.Integer()
    type = ma.fields.String(metadata={"enum": list(REPORT_TYPES)})
    params = ma.fields.Dict(metadata={"description": PARAMS})
    format = ma.fields.String(metadata={"enum": list(FORMATS)})
    status = ma.fields.String(metadata={"enum": list(REPORT_STATUSES)})
    error = ma.fields.String(allow_none=True)
    size = ma.fields.Integer(allow_none=True, metadata={"description": "Bytes of the file"})
    schedule_id = ma.fields.Integer(allow_none=True)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(allow_none=True)
    download_url = ma.fields.Function(_download_url, allow_none=True)


class ReportListArgsSchema(PageArgsSchema):
    all = ma.fields.Boolean(load_default=False, metadata={"description": "Everyone's (admins)"})
    status = CommaList(REPORT_STATUSES)
    type = CommaList(REPORT_TYPES)


ReportPageSchema = page_schema(ReportSchema, "ReportPage")
