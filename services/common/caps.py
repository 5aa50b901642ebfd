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


def add_within_cap(
    session: Session,
    row: Any,
    *,
    owner: InstrumentedAttribute,
    slot: InstrumentedAttribute,
    limit: int,
) -> bool:
    """Add ``row`` in a free slot of its owner and commit (the session holds nothing else
    to write); False, with nothing written, when all ``limit`` slots are taken. Slots
    above ``limit`` (held since the cap was lowered) count too."""
    owner_id = getattr(row, owner.key)
    # Each lost race means another row took a slot: after ``limit`` of them, all are taken.
    for _ in range(limit + 1):
        taken = set(session.scalars(select(slot).where(owner == owner_id, slot.is_not(None))))
        free = sorted(set(range(1, limit + 1)) - taken)
        if len(taken) >= limit or not free:
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
