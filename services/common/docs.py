"""The platform's API documentation: one merged OpenAPI document of every service at
``/api/docs/openapi.json`` and a browsable Swagger UI page at ``/api/docs``, whose assets
are served from the installed ``swagger-ui-bundle`` package (no CDN)."""

from __future__ import annotations

import copy
import logging
from typing import Any

import requests
from flask import Blueprint, Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from services.common.cache import MISSING, ExpiringCache
from services.common.errors import abort
from services.common.http import http_session
from services.common.registry import SERVICES

CACHE_SECONDS = 30.0
log = logging.getLogger(__name__)
blueprint = Blueprint("platform_docs", __name__, url_prefix="/api/docs")

_cache = ExpiringCache(1, CACHE_SECONDS)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Task platform API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/assets/docs-init.js"></script>
</body>
</html>
"""

INIT_SCRIPT = """window.ui = SwaggerUIBundle({
  url: "/api/docs/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true
});
"""


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            key: (
                renames.get(value, value)
                if key == "$ref" and isinstance(value, str)
                else _rename_refs(value, renames)
            )
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge_documents(documents: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Merge per-service OpenAPI documents; clashing component names get a service prefix."""
    merged: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "Task platform API", "version": "1.0"},
        "paths": {},
        "tags": [],
        "components": {},
        "security": [{"bearerAuth": []}],
    }
    for service, document in documents.items():
        prefix = "".join(part.title() for part in service.split("-"))
        renames: dict[str, str] = {}
        for kind, items in document.get("components", {}).items():
            target = merged["components"].setdefault(kind, {})
            for name, definition in items.items():
                if name in target and target[name] != definition:
                    renames[f"#/components/{kind}/{name}"] = f"#/components/{kind}/{prefix}{name}"
        document = _rename_refs(copy.deepcopy(document), renames)
        for kind, items in document.get("components", {}).items():
            for name, definition in items.items():
                ref = f"#/components/{kind}/{name}"
                new_name = renames.get(ref, ref).rsplit("/", 1)[-1]
                merged["components"][kind][new_name] = definition
        merged["paths"].update(document.get("paths", {}))
        for tag in document.get("tags", []):
            merged["tags"].append({**tag, "name": f"{service}: {tag['name']}"})
            for operations in document.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict) and tag["name"] in operation.get("tags", []):
                        operation["tags"] = [
                            f"{service}: {t}" if t == tag["name"] else t for t in operation["tags"]
                        ]
    return merged


def _fetch_documents() -> tuple[dict[str, dict[str, Any]], list[str]]:
    documents, missing = {}, []
    for name, info in SERVICES.items():
        url = f"{info.url()}/api/docs/{name}/openapi.json"
        try:
            response = http_session().get(url, timeout=1.0)
            response.raise_for_status()
            documents[name] = response.json()
        except (requests.RequestException, ValueError) as exc:
            log.info("openapi document of %s unavailable: %s", name, exc)
            missing.append(name)
    return documents, missing


@blueprint.get("/openapi.json")
def merged_document():
    """The merged OpenAPI document of every service that answers."""
    cached = _cache.get("merged")
    if cached is not MISSING:
        return cached
    documents, missing = _fetch_documents()
    if not documents:
        abort(503, "No service published its API document.", code="service_unavailable")
    merged = merge_documents(documents)
    merged["info"]["x-unavailable-services"] = missing
    _cache.set("merged", merged)
    return merged


@blueprint.get("")
@blueprint.get("/")
def page():
    """Browsable API documentation."""
    return Response(PAGE, mimetype="text/html")


@blueprint.get("/assets/docs-init.js")
def init_script():
    return Response(INIT_SCRIPT, mimetype="application/javascript")


@blueprint.get("/assets/<path:filename>")
def assets(filename: str):
    """Swagger UI's files from the installed package."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=3600)


def init_app(app: Flask) -> None:
    """Serve the merged documentation from this app."""
    app.register_blueprint(blueprint)
