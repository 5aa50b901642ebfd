"""A project's storage: what its files take (each distinct content once) and its quota
(``PROJECT_STORAGE_QUOTA_MB``). Anyone who can see the project reads it; global admins
too."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_smorest import Blueprint

from services.attachment.attachments.schemas import StorageUsageSchema
from services.attachment.blobs import project_usage
from services.attachment.extensions import db
from services.common.auth import current_principal, require_auth
from services.common.contracts import ProjectAccessSchema
from services.common.errors import abort
from services.common.http import call_service

blp = Blueprint("usage", __name__, url_prefix="/api", description="Projects' file storage")


@blp.route("/projects/<int:project_id>/storage")
class ProjectStorage(MethodView):
    decorators = [require_auth(scope="attachments")]

    @blp.response(200, StorageUsageSchema)
    def get(self, project_id: int):
        """The bytes the project's files take, and its quota."""
        principal = current_principal()
        answer = call_service(
            "project-task",
            f"/internal/projects/{project_id}/access",
            ProjectAccessSchema(),
            params={"user_id": principal.id},
            missing_ok=True,
        )
        if answer is None and not principal.is_admin:
            abort(404, "No such project.")
        usage = project_usage(project_id)
        db.session.commit()
        return {
            "project_id": project_id,
            "usage": usage,
            "quota": current_app.config["PROJECT_STORAGE_QUOTA_BYTES"],
        }
