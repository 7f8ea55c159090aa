"""Reading and adjusting the test database behind the services: row counts, and moving a
booked session into the past (time cannot pass in a test)."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from mentor_match.extensions import db
from mentor_match.models import ShadowingSession


def count(model, *where) -> int:
    """How many rows of `model` there are, or how many meet the conditions `where`."""
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


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
