"""A person's diary: the sessions they host or observe, as a list, as a month calendar, and
their seat in one session. Read only: nothing here changes a booking."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..availability.expansion import Month
from ..extensions import db
from ..models import MicroSkill, Person, SessionObserver, ShadowingSession, utcnow
from .rules import month_span


@dataclass(frozen=True)
class Appointment:
    """A session in a person's diary, as host or as observer."""

    session: ShadowingSession
    seat: SessionObserver | None  # the person's seat when they observe

    @property
    def hosting(self) -> bool:
        return self.seat is None


def live_hosting(person_id, start) -> tuple[ColumnElement[bool], ...]:
    """A session the person hosts, not cancelled, not over by `start` (values or parameters)."""
    return (
        ShadowingSession.master_id == person_id,
        ShadowingSession.cancelled_at.is_(None),
        ShadowingSession.ends_at > start,
    )


def live_seats(person_id, start) -> tuple[ColumnElement[bool], ...]:
    """A seat the person holds, not cancelled, not over by `start` (values or parameters)."""
    return (
        SessionObserver.apprentice_id == person_id,
        SessionObserver.cancelled_at.is_(None),
        SessionObserver.ends_at > start,
    )


@cache
def _diary_queries(*, bounded: bool, limited: bool, lines: bool) -> tuple[Select, Select]:
    """The hosted and the observed halves of a diary, built once for each shape and reused.

    Building these statements with their loader options costs more CPU than running them,
    and they are on every dashboard and diary page; so the person, the times and the limit
    are bound parameters (:person_id, :start, :end, :limit) and each shape is built once.
    With `lines`, each session comes with what a diary line shows; without, with only what
    the month calendar shows (the master's name).
    """
    person_id, start = bindparam("person_id"), bindparam("start")
    hosted = select(ShadowingSession).where(*live_hosting(person_id, start))
    seats = (
        select(SessionObserver).join(SessionObserver.session).where(*live_seats(person_id, start))
    )
    if bounded:
        hosted = hosted.where(ShadowingSession.starts_at < bindparam("end"))
        seats = seats.where(SessionObserver.starts_at < bindparam("end"))
    hosted = hosted.order_by(ShadowingSession.starts_at, ShadowingSession.id)
    seats = seats.order_by(ShadowingSession.starts_at, SessionObserver.id)
    if limited:
        hosted, seats = hosted.limit(bindparam("limit")), seats.limit(bindparam("limit"))
    if not lines:
        return hosted, seats.options(
            contains_eager(SessionObserver.session).joinedload(ShadowingSession.master)
        )
    # What a diary line shows (_item.html): skill and area, site, master, and for a host the
    # number of observers. Each half brings its sessions' details in its own statement (the
    # joined tables cost PostgreSQL nothing to plan again: page views keep their prepared
    # statements); only a host's observers, a collection, come by one IN query when there
    # are hosted sessions.
    return (
        hosted.options(
            selectinload(ShadowingSession.observers),
            joinedload(ShadowingSession.micro_skill).joinedload(MicroSkill.area),
            joinedload(ShadowingSession.site),
        ),
        seats.options(
            contains_eager(SessionObserver.session).options(
                joinedload(ShadowingSession.master),
                joinedload(ShadowingSession.micro_skill).joinedload(MicroSkill.area),
                joinedload(ShadowingSession.site),
            )
        ),
    )


def _appointments(
    person: Person,
    start: datetime,
    end: datetime | None,
    *,
    limit: int | None = None,
    lines: bool,
    hosting: bool = True,
    observing: bool = True,
) -> list[Appointment]:
    """Live sessions the person hosts or observes from start to end, soonest first.

    A caller that knows the person hosts (or observes) nothing in that span says so with
    hosting=False (observing=False), and that half is not asked for.
    """
    hosted, seats = _diary_queries(bounded=end is not None, limited=limit is not None, lines=lines)
    params: dict = {"person_id": person.id, "start": start}
    if end is not None:
        params["end"] = end
    if limit is not None:
        params["limit"] = limit
    items = [Appointment(s, None) for s in db.session.scalars(hosted, params)] if hosting else []
    if observing:
        items += [Appointment(seat.session, seat) for seat in db.session.scalars(seats, params)]
    items.sort(key=lambda item: item.session.starts_at)
    return items if limit is None else items[:limit]


def upcoming(
    person: Person,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int | None = None,
    *,
    hosting: bool = True,
    observing: bool = True,
) -> list[Appointment]:
    """Live sessions the person hosts or observes from start (default now) to end, soonest first.

    With `limit`, only the first `limit` of them: each half is limited in the database, so
    the dashboard never loads a whole diary to show three lines. hosting=False or
    observing=False leaves out a half the caller knows to be empty.
    """
    return _appointments(
        person,
        start or utcnow(),
        end,
        limit=limit,
        lines=True,
        hosting=hosting,
        observing=observing,
    )


@dataclass(frozen=True)
class MonthDiary:
    """A person's sessions in a month, laid out in weeks from Monday for a month calendar."""

    month: Month
    # The month's days, seven to a week; None pads the first and last weeks outside it.
    weeks: list[list[date | None]]
    by_day: dict[date, list[Appointment]] = field(default_factory=dict)

    def on(self, day: date) -> list[Appointment]:
        """The sessions on one of the person's local days, soonest first."""
        return self.by_day.get(day, [])


def _weeks(month: Month) -> list[list[date | None]]:
    """The month's days in weeks from Monday, with None for days outside it."""
    days = month.days
    cells: list[date | None] = [None] * days[0].weekday()
    cells += list(days)
    cells += [None] * (-len(cells) % 7)
    return [cells[i : i + 7] for i in range(0, len(cells), 7)]


def month_diary(person: Person, month: Month) -> MonthDiary:
    """The person's sessions in a month, by their local day, for a month calendar."""
    start, end = month_span(month, person)
    by_day: dict[date, list[Appointment]] = defaultdict(list)
    for item in _appointments(person, start, end, lines=False):
        by_day[item.session.starts_at.astimezone(person.zone).date()].append(item)
    return MonthDiary(month, _weeks(month), dict(by_day))


def participant_seat(person: Person, session: ShadowingSession) -> SessionObserver | None:
    """The person's live seat in the session, if they observe it."""
    return next(
        (
            seat
            for seat in session.observers
            if seat.apprentice_id == person.id and seat.cancelled_at is None
        ),
        None,
    )


def observable_skills() -> list[MicroSkill]:
    """Every micro skill with its area, by full name: those an observer may say they saw used."""
    return sorted(
        db.session.scalars(select(MicroSkill).options(selectinload(MicroSkill.area))),
        key=lambda skill: skill.full_name,
    )
