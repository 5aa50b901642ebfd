"""Marshmallow fields the project, member and task schemas share."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import marshmallow as ma

from services.common.db import utcnow

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class CalendarDate(ma.fields.Date):
    """A calendar date, exactly ``YYYY-MM-DD``. Dates have no time and so no offset; a
    datetime (with or without offset) is refused with 422 rather than guessed at."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"description": "Calendar date YYYY-MM-DD (no time, no offset)."}
        super().__init__(metadata={**metadata, **kwargs.pop("metadata", {})}, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any):
        if not isinstance(value, str) or not _ISO_DATE.match(value):
            raise ma.ValidationError("Give a date as YYYY-MM-DD.")
        return super()._deserialize(value, attr, data, **kwargs)


EARLIEST_DAY = date(1970, 1, 1)
# The earliest time zone is UTC+14: its "today" is the latest anybody can have.
AHEAD_OF_UTC = timedelta(hours=14)


def latest_day() -> date:
    """Today in UTC+14: the latest day that is already today somewhere."""
    return (utcnow() + AHEAD_OF_UTC).date()


class SpentOn(CalendarDate):
    """The day time was spent: from 1970-01-01 to today in UTC+14, so each user's own
    "today" is allowed wherever they are, and a day still to come anywhere is not."""

    def __init__(self, **kwargs: Any) -> None:
        description = "YYYY-MM-DD; not after today in UTC+14 (any local today), not before 1970."
        metadata = {"description": description, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any):
        day = super()._deserialize(value, attr, data, **kwargs)
        if day < EARLIEST_DAY:
            raise ma.ValidationError("Give a day from 1970-01-01.")
        if day > latest_day():
            raise ma.ValidationError("That day has not come yet anywhere (UTC+14).")
        return day


class Hours(ma.fields.Float):
    """A non-negative number of hours; a JSON number, never a string."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=ma.validate.Range(min=0, max=100_000), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any):
        if isinstance(value, str):
            raise ma.ValidationError("Give a number.")
        return super()._deserialize(value, attr, data, **kwargs)


def not_blank(value: str) -> None:
    """Refuse a string that is only whitespace."""
    if not value.strip():
        raise ma.ValidationError("Must not be blank.")


def title(max_length: int = 200) -> list:
    """Validators of a name or title: 1 to ``max_length`` characters, not blank."""
    return [ma.validate.Length(min=1, max=max_length), not_blank]


def user_id_field(**kwargs: Any) -> ma.fields.Integer:
    """A user id: a positive JSON integer (``"5"`` is refused)."""
    return ma.fields.Integer(strict=True, validate=ma.validate.Range(min=1), **kwargs)
