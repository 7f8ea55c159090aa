"""Sessions, seats and verified attendance for the learning-time tests (team, feed, report)."""

from __future__ import annotations

from datetime import datetime, timedelta

from mentor_match.extensions import db
from mentor_match.models import (
    Attendance,
    Observation,
    OrganisationSettings,
    SessionMode,
    SessionObserver,
    ShadowingSession,
)


def set_organisation_allowance(*, observing=None, hosting=None) -> None:
    settings = db.session.get(OrganisationSettings, 1)
    if settings is None:
        settings = OrganisationSettings(id=1)
        db.session.add(settings)
    settings.observing_allowance_hours = observing
    settings.hosting_allowance_hours = hosting
    db.session.commit()


def session_of(master, starts_at: datetime, hours: float = 2, skill=None) -> ShadowingSession:
    session = ShadowingSession(
        master_id=master.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        mode=SessionMode.VIRTUAL,
        seats=4,
        micro_skill_id=skill.id if skill else None,
        note="Bring the Hargreaves file",
    )
    db.session.add(session)
    db.session.commit()
    return session


def seat_in(session, apprentice, *, minutes: int | None = None, notes: str = "") -> SessionObserver:
    """A seat; with `minutes` the master has confirmed attendance; with `notes` an observation."""
    seat = SessionObserver(
        session_id=session.id,
        apprentice_id=apprentice.id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
    )
    db.session.add(seat)
    db.session.flush()
    if minutes is not None:
        db.session.add(
            Attendance(seat_id=seat.id, minutes=minutes, confirmed_by_id=session.master_id)
        )
    if notes:
        db.session.add(Observation(seat_id=seat.id, notes=notes))
    db.session.commit()
    return seat


def observed(
    master, apprentice, starts_at, *, hours: float = 2, minutes: int | None = None, skill=None
):
    """A session the apprentice watched, its attendance verified (all of it unless `minutes`)."""
    session = session_of(master, starts_at, hours, skill)
    seat_in(session, apprentice, minutes=int(hours * 60) if minutes is None else minutes)
    return session
