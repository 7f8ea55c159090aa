"""Sessions, seats and verified attendance for the learning-time tests (team, feed, report)."""

from __future__ import annotations

from datetime import datetime

from mentor_match.extensions import db
from mentor_match.models import OrganisationSettings, ShadowingSession

from .factories import make_seat, make_session


def set_organisation_allowance(*, observing=None, hosting=None) -> None:
    settings = db.session.get(OrganisationSettings, 1)
    if settings is None:
        settings = OrganisationSettings(id=1)
        db.session.add(settings)
    settings.observing_allowance_hours = observing
    settings.hosting_allowance_hours = hosting
    db.session.commit()


def session_of(master, starts_at: datetime, hours: float = 2, skill=None) -> ShadowingSession:
    """A session with a note, which the team page and the report must never show."""
    return make_session(master, starts_at, hours, skill, note="Bring the Hargreaves file")


seat_in = make_seat


def observed(
    master, apprentice, starts_at, *, hours: float = 2, minutes: int | None = None, skill=None
):
    """A session the apprentice watched, its attendance verified (all of it unless `minutes`)."""
    session = session_of(master, starts_at, hours, skill)
    seat_in(session, apprentice, minutes=int(hours * 60) if minutes is None else minutes)
    return session
