"""Per-owner caps that hold however many requests race: reports pending or running at
once, report schedules, webhooks.

Counting an owner's rows and then inserting cannot promise a cap: two transactions both
count ``limit - 1`` and both insert. Here a row that counts against its owner's cap
holds one of ``limit`` numbered slots, and a unique index on (owner, slot) makes the
database refuse a second row in the same slot, on PostgreSQL and SQLite alike, with no
lock held. A request that loses a slot to another reads the slots again and takes the
next free one, or is refused once all are taken. A row stops counting when its slot is
set to NULL (NULLs never collide in a unique index) or when it is deleted.

A model under a cap has a nullable integer slot column and
``sa.UniqueConstraint(<owner>, <slot>)``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session


def _free_slots(
    session: Session,
    owner: InstrumentedAttribute,
    slot: InstrumentedAttribute,
    owner_id: Any,
    limit: int,
) -> list[int]:
    """The owner's free slots, none once ``limit`` are taken (slots above ``limit``, held
    since the cap was lowered, count too)."""
    taken = set(session.scalars(select(slot).where(owner == owner_id, slot.is_not(None))))
    if len(taken) >= limit:
        return []
    return sorted(set(range(1, limit + 1)) - taken)


def cap_reached(
    session: Session,
    *,
    owner: InstrumentedAttribute,
    slot: InstrumentedAttribute,
    owner_id: Any,
    limit: int,
) -> bool:
    """Whether the owner has no free slot now: a cheap refusal before costly work (a call
    to another service, a DNS lookup). Only :func:`add_within_cap` decides for sure."""
    return not _free_slots(session, owner, slot, owner_id, limit)


def add_within_cap(
    session: Session,
    row: Any,
    *,
    owner: InstrumentedAttribute,
    slot: InstrumentedAttribute,
    limit: int,
) -> bool:
    """Add ``row`` in a free slot of its owner and commit (the session holds nothing else
    to write); False, with nothing written, when all ``limit`` slots are taken."""
    owner_id = getattr(row, owner.key)
    # Each lost race means another row took a slot: after ``limit`` of them, all are taken.
    for _ in range(limit + 1):
        free = _free_slots(session, owner, slot, owner_id, limit)
        if not free:
            session.rollback()
            return False
        setattr(row, slot.key, free[0])
        session.add(row)
        try:
            session.commit()
            return True
        except IntegrityError:
            session.rollback()
    session.rollback()
    return False
