"""Query-string fields lists share (docs/api.md): comma lists (``?status=todo,done``) and the
``sort=-priority,due_date`` convention, plus :func:`order_by` to turn a parsed sort into
SQL with a stable tiebreak."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import marshmallow as ma
from sqlalchemy import ColumnElement, nulls_last


class CommaList(ma.fields.Field):
    """A comma-separated list of strings, optionally limited to ``choices``."""

    def __init__(
        self, choices: Iterable[str] | None = None, max_items: int = 50, **kwargs: Any
    ) -> None:
        self.choices = tuple(choices) if choices is not None else None
        self.max_items = max_items
        metadata = {"type": "string", **kwargs.pop("metadata", {})}
        if self.choices:
            metadata.setdefault("description", "Comma list of: " + ", ".join(self.choices))
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        if not isinstance(value, str):
            raise ma.ValidationError("Give a comma-separated list.")
        items = list(dict.fromkeys(part.strip() for part in value.split(",") if part.strip()))
        if not items or len(items) > self.max_items:
            raise ma.ValidationError(f"Give 1 to {self.max_items} comma-separated values.")
        if self.choices is not None:
            unknown = [item for item in items if item not in self.choices]
            if unknown:
                raise ma.ValidationError(
                    f"Unknown value(s) {', '.join(unknown)}; use {', '.join(self.choices)}."
                )
        return items


class SortField(ma.fields.Field):
    """``sort=-priority,due_date``: a comma list of field names, ``-`` for descending.

    Deserialises to ``[(name, descending), ...]``; ``default`` is a sort string too.
    """

    def __init__(self, fields: Iterable[str], default: str | None = None, **kwargs: Any) -> None:
        self.fields = tuple(fields)
        metadata = dict(kwargs.pop("metadata", {}))
        description = f"Comma list of {', '.join(self.fields)}; prefix - for descending."
        if default is not None:
            kwargs["load_default"] = self._parse(default)
            metadata["default"] = default
        if "description" in metadata:
            description = f"{description} {metadata['description']}"
        super().__init__(
            metadata={**metadata, "type": "string", "description": description}, **kwargs
        )

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> list[tuple[str, bool]]:
        if not isinstance(value, str) or not value.strip():
            raise ma.ValidationError("Give a comma-separated list of sort fields.")
        return self._parse(value)

    def _parse(self, value: str) -> list[tuple[str, bool]]:
        keys: list[tuple[str, bool]] = []
        for part in value.split(","):
            part = part.strip()
            name = part.removeprefix("-")
            if name not in self.fields:
                raise ma.ValidationError(f"Cannot sort on {name!r}; use {', '.join(self.fields)}.")
            if any(name == seen for seen, _ in keys):
                raise ma.ValidationError(f"{name!r} is given twice.")
            keys.append((name, part.startswith("-")))
        return keys


def order_by(
    sort: list[tuple[str, bool]],
    columns: Mapping[str, ColumnElement],
    tiebreak: ColumnElement,
    nullable: Iterable[str] = (),
) -> list[ColumnElement]:
    """ORDER BY clauses for a parsed sort: ``columns`` maps names to SQL expressions,
    ``nullable`` names sort their NULLs last either way, ``tiebreak`` (the id) comes last so
    pages are stable."""
    nullable = set(nullable)
    clauses = []
    for name, descending in sort:
        clause = columns[name].desc() if descending else columns[name].asc()
        clauses.append(nulls_last(clause) if name in nullable else clause)
    clauses.append(tiebreak.asc())
    return clauses


LIKE_ESCAPE = "\\"


def search_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere; use it with ``escape=LIKE_ESCAPE``."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
