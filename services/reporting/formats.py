"""Renderers: a :class:`~services.reporting.documents.Document` as JSON, CSV or PDF bytes.

- JSON: ``{"report": {...}, "title", "subtitle", "figures": {label: value}, "data"}``
  where ``data`` is the source's aggregate answer as it came;
- CSV (the ``csv`` module): sections one after another, each a title line, a header
  and its rows, separated by a blank line; key figures first. Cells a spreadsheet would
  run as a formula get a leading quote;
- PDF: see :mod:`services.reporting.pdf`.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from services.reporting.documents import Document
from services.reporting.pdf import render_pdf


@dataclass(frozen=True)
class Format:
    extension: str
    content_type: str


FORMATS = {
    "json": Format("json", "application/json"),
    "csv": Format("csv", "text/csv"),
    "pdf": Format("pdf", "application/pdf"),
}

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def render_json(document: Document, meta: dict[str, Any]) -> bytes:
    body = {
        "report": meta,
        "title": document.title,
        "subtitle": document.subtitle,
        "figures": dict(document.figures),
        "data": document.data,
    }
    return json.dumps(body, indent=2, ensure_ascii=False, default=str).encode()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def render_csv(document: Document, meta: dict[str, Any]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_cell(document.title)])
    writer.writerow([_cell(document.subtitle)])
    writer.writerow(["generated_at", meta["generated_at"]])
    writer.writerow([])
    writer.writerow(["Key figures"])
    writer.writerow(["figure", "value"])
    writer.writerows([[label, _cell(value)] for label, value in document.figures])
    for table in document.tables:
        writer.writerow([])
        writer.writerow([_cell(table.title)])
        writer.writerow(table.columns)
        writer.writerows([[_cell(value) for value in row] for row in table.rows])
    return buffer.getvalue().encode("utf-8")


def render(document: Document, report_format: str, meta: dict[str, Any], **options: Any) -> bytes:
    """The document in ``report_format`` (json, csv or pdf)."""
    if report_format == "json":
        return render_json(document, meta)
    if report_format == "csv":
        return render_csv(document, meta)
    return render_pdf(document, meta, **options)
