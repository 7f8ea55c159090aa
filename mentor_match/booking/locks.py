"""How simultaneous bookings are kept apart: row locks, and the database's exclusion constraint.

Every booking action first locks the rows of the people involved (SELECT ... FOR UPDATE on
PostgreSQL; SQLite takes its one write lock), so the rules count seats and monthly limits
without a race. On PostgreSQL the `no_overlapping_seats` exclusion constraint on
session_observers also refuses overlapping seats of one apprentice, whatever the code does.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Refusal
from ..extensions import db
from ..models import Person

# PostgreSQL's SQLSTATE when the no_overlapping_seats exclusion constraint refuses a row.
EXCLUSION_VIOLATION = "23P01"


def lock(*people: Person) -> None:
    """Serialise bookings that touch the same people: their rows are locked until commit."""
    ids = sorted({person.id for person in people})
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            select(Person.id).where(Person.id.in_(ids)).order_by(Person.id).with_for_update()
        )
    else:
        # SQLite has one write lock for the whole database: take it now, before reading.
        db.session.execute(update(Person).where(Person.id.in_(ids)).values(id=Person.id))


def flush_seats(overlap_refusal: str) -> None:
    """Write the pending seats; when the exclusion constraint finds one overlapping another seat
    of its apprentice (one that got in first), roll back and refuse with `overlap_refusal`."""
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if getattr(error.orig, "sqlstate", None) != EXCLUSION_VIOLATION:
            raise
        raise Refusal(overlap_refusal) from None
