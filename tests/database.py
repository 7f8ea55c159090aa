"""Reading and adjusting the test database behind the services: row counts, every table
emptied, its rows kept and put back, and moving a booked session into the past (time cannot
pass in a test)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from mentor_match.extensions import db
from mentor_match.models import ShadowingSession


def count(model, *where) -> int:
    """How many rows of `model` there are, or how many meet the conditions `where`."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


@dataclass(frozen=True)
class Rows:
    """Every row of every table as it was at one moment, ids included."""

    by_table: dict[str, list[dict]]


def empty_tables() -> None:
    """Delete every row of every table, children first."""
    with db.engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())


def every_row() -> Rows:
    """What the tables hold now (committed), each table's rows in primary-key order, so rows
    that refer to earlier rows of their own table (a person's manager) go back after them."""
    db.session.commit()
    return Rows(
        {
            table.name: [
                dict(row)
                for row in db.session.execute(
                    select(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            for table in db.metadata.sorted_tables
        }
    )


def put_back(rows: Rows) -> None:
    """Insert the rows, with their ids, into the empty tables they were read from: the same
    database state as when they were read, for a fraction of what building it again costs."""
    for table in db.metadata.sorted_tables:
        if rows.by_table[table.name]:
            db.session.execute(table.insert(), rows.by_table[table.name])
    db.session.commit()


def move_into_the_past(session_id: int) -> ShadowingSession:
    """Move a booked two-hour session and its seats back to about ten days ago.

    Attendance is confirmed only once a session has ended, so the session and its seats go
    back by whole days, keeping their time of day and their length.
    """
    db.session.expire_all()
    session = db.session.get(ShadowingSession, session_id)
    length = session.ends_at - session.starts_at
    days_ahead = (session.starts_at.date() - datetime.now(UTC).date()).days
    session.starts_at -= timedelta(days=days_ahead + 10)
    session.ends_at = session.starts_at + length
    for seat in session.observers:
        seat.starts_at, seat.ends_at = session.starts_at, session.ends_at
    db.session.commit()
    assert session.ends_at < datetime.now(UTC) and session.hours == 2
    return session
