"""Protected learning time: which of a person's sessions fall within their granted hours.

In each of the person's months (their own zone), their live sessions are taken in date order
and counted up; those whose running total stays within the month's granted figure are
learning time the organisation protects, and the calendar feed and dashboard say so. Seats
count towards the observing figure, a master's sessions with an observer towards the hosting
figure. With no allowance set nothing is marked: no time was granted to protect.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select

from ..extensions import db
from ..models import AllowanceKind, LearningAllowance, Person, SessionObserver, ShadowingSession
from .figures import Granted, granted_for, organisation_allowance
from .usage import month_bounds, month_of

CATEGORY = "Learning time"


@dataclass(frozen=True)
class LearningTime:
    """A session within the person's granted hours for its month."""

    session_id: int
    granted: Granted

    @property
    def line(self) -> str:
        """The sentence the calendar feed adds to the event's description."""
        return (
            f"Protected learning time: within your {self.granted.hours} h granted for "
            f"{self.granted.month.label} ({self.granted.kind.label})."
        )


def _observed(
    person: Person, starts: datetime, ends: datetime
) -> list[tuple[int, datetime, float]]:
    rows = db.session.execute(
        select(SessionObserver.session_id, SessionObserver.starts_at, SessionObserver.ends_at)
        .join(ShadowingSession, ShadowingSession.id == SessionObserver.session_id)
        .where(
            SessionObserver.apprentice_id == person.id,
            SessionObserver.cancelled_at.is_(None),
            ShadowingSession.cancelled_at.is_(None),
            SessionObserver.starts_at >= starts,
            SessionObserver.starts_at < ends,
        )
    )
    return [(sid, start, (end - start).total_seconds() / 3600) for sid, start, end in rows]


def _hosted(person: Person, starts: datetime, ends: datetime) -> list[tuple[int, datetime, float]]:
    someone_watches = exists().where(
        SessionObserver.session_id == ShadowingSession.id, SessionObserver.cancelled_at.is_(None)
    )
    rows = db.session.execute(
        select(ShadowingSession.id, ShadowingSession.starts_at, ShadowingSession.ends_at).where(
            ShadowingSession.master_id == person.id,
            ShadowingSession.cancelled_at.is_(None),
            ShadowingSession.starts_at >= starts,
            ShadowingSession.starts_at < ends,
            someone_watches,
        )
    )
    return [(sid, start, (end - start).total_seconds() / 3600) for sid, start, end in rows]


def learning_time(person: Person, sessions: Iterable[ShadowingSession]) -> dict[int, LearningTime]:
    """Of `sessions`, those within the person's granted hours, by session id."""
    wanted = {session.id for session in sessions if session.starts_at is not None}
    if not wanted:
        return {}
    zone = person.zone
    months = {month_of(session.starts_at, zone) for session in sessions if session.id in wanted}
    kinds = _kinds_granted(person)
    if not kinds:
        return {}
    starts, ends = month_bounds(months)
    marked: dict[int, LearningTime] = {}
    readers = {AllowanceKind.OBSERVING: _observed, AllowanceKind.HOSTING: _hosted}
    for kind in kinds:
        by_month: dict = defaultdict(list)
        for session_id, starts_at, hours in readers[kind](person, starts, ends):
            month = month_of(starts_at, zone)
            if month in months:
                by_month[month].append((starts_at, session_id, hours))
        for month, rows in by_month.items():
            figure = granted_for([person.id], month, kind)[person.id]
            if figure.hours is None:
                continue
            total = 0.0
            for _, session_id, hours in sorted(rows):
                total += hours
                if total > figure.hours + 1e-9:
                    break
                if session_id in wanted:
                    marked[session_id] = LearningTime(session_id, figure)
    return marked


def _kinds_granted(person: Person) -> list[AllowanceKind]:
    """The kinds of learning time the person may be granted at all, in the roles they hold.

    Read first, in two small queries, so the dashboard of a person with no allowance (every
    site until an admin sets one) reads no sessions for it. An approved request raises only
    an allowance, so with neither the organisation's nor their own there is nothing granted.
    """
    held = [
        kind
        for kind, holds in (
            (AllowanceKind.OBSERVING, person.is_apprentice),
            (AllowanceKind.HOSTING, person.is_master),
        )
        if holds
    ]
    if not held:
        return []
    kinds = [kind for kind in held if organisation_allowance(kind) is not None]
    if len(kinds) == len(held):
        return kinds
    own = db.session.execute(
        select(LearningAllowance.observing_hours, LearningAllowance.hosting_hours).where(
            LearningAllowance.person_id == person.id
        )
    ).first()
    if own is not None:
        if own.observing_hours is not None and AllowanceKind.OBSERVING in held:
            kinds.append(AllowanceKind.OBSERVING)
        if own.hosting_hours is not None and AllowanceKind.HOSTING in held:
            kinds.append(AllowanceKind.HOSTING)
    return sorted(set(kinds))
