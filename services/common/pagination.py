"""Page-numbered lists: ``page``/``per_page`` in, ``{items, page, per_page, total, pages}``
out, with an RFC 8288 ``Link`` header (first, prev, next, last)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import urlencode

import marshmallow as ma
from flask import request
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50


class PageArgsSchema(ma.Schema):
    """Query arguments every list accepts."""

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=1_000_000))
    per_page = ma.fields.Integer(
        load_default=DEFAULT_PER_PAGE, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE)
    )


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A schema for a page of ``item_schema`` (used for the response and the docs)."""
    return type(
        name,
        (ma.Schema,),
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "page": ma.fields.Integer(required=True),
            "per_page": ma.fields.Integer(required=True),
            "total": ma.fields.Integer(required=True),
            "pages": ma.fields.Integer(required=True),
        },
    )


def paginate(session: Session, query: Select, page: int, per_page: int) -> dict[str, Any]:
    """Run ``query`` for one page (LIMIT/OFFSET in SQL) and count the total."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = session.scalars(query.limit(per_page).offset((page - 1) * per_page)).all()
    return {
        "items": items,
        "page": page,
        "per_page": per_page,
        "total": total or 0,
        "pages": math.ceil((total or 0) / per_page),
    }


def link_header(page: int, per_page: int, pages: int) -> str:
    """The ``Link`` header for a page of a list served at the current URL."""
    base_args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    # The links are the URL as the service was asked for it; no header may prefix them
    # (a client's X-Forwarded-Prefix would aim them anywhere: services.common.proxies).
    path = request.script_root + request.path

    def url(number: int) -> str:
        return f"{path}?{urlencode({**base_args, 'page': number, 'per_page': per_page})}"

    links = [f'<{url(1)}>; rel="first"']
    if page > 1:
        links.append(f'<{url(min(page - 1, max(pages, 1)))}>; rel="prev"')
    if page < pages:
        links.append(f'<{url(page + 1)}>; rel="next"')
    links.append(f'<{url(max(pages, 1))}>; rel="last"')
    return ", ".join(links)


def with_link(page: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A view's answer for a page: the body, 200 and its ``Link`` header."""
    return page, 200, {"Link": link_header(page["page"], page["per_page"], page["pages"])}
