"""What an apprentice can book: the masters open to them, a master's free hours with the seats
left in each, and the sessions masters opened for anyone to join."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..availability.expansion import Month
from ..availability.services import availability_by_person, month_plan_for
from ..busy.services import busy_by_person
from ..extensions import db
from ..models import (
    MicroSkill,
    Person,
    PersonSkill,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from ..organisation.services import only_verified_hosts
from ..stages.hosting import hosting_condition
from .grid import BookingGrid, SessionLength
from .rules import (
    MIN_LEAD,
    grid_between,
    local_month,
    month_span,
    most_at_once,
    paired_master_ids,
    teachable_skills,
)

# What one offered slot shows seats for: the first hour of a session starting then.
SLOT = timedelta(hours=1)


@dataclass(frozen=True)
class MasterChoice:
    """A master an apprentice may book, the micro skills they would watch, and why allowed."""

    master: Person
    skills: list[MicroSkill]
    paired: bool


def master_to_book(master_id: int) -> Person | None:
    """A master with what their booking page shows and checks (site, hosted micro skills and
    their areas) loaded in one statement, rather than a lazy load each as the page asks."""
    return db.session.get(
        Person,
        master_id,
        options=[
            joinedload(Person.site),
            joinedload(Person.skills)
            .joinedload(PersonSkill.micro_skill)
            .joinedload(MicroSkill.area),
        ],
    )


def bookable_masters(apprentice: Person) -> list[MasterChoice]:
    """Masters the apprentice is paired with, and masters open to bookings who can teach them."""
    wants = {ps.micro_skill_id: ps.stage for ps in apprentice.skills if ps.develops}
    if not wants:
        return []
    paired = paired_master_ids(apprentice)
    rows = db.session.scalars(
        select(PersonSkill)
        .join(Person, Person.id == PersonSkill.person_id)
        .where(
            hosting_condition(verified_only=only_verified_hosts()),
            PersonSkill.micro_skill_id.in_(wants),
            Person.active,
            Person.is_master,
            Person.id != apprentice.id,
            or_(Person.open_to_bookings, Person.id.in_(paired) if paired else False),
        )
        .options(selectinload(PersonSkill.person), selectinload(PersonSkill.micro_skill))
    )
    skills: dict[int, list[MicroSkill]] = defaultdict(list)
    masters: dict[int, Person] = {}
    for row in rows:
        if row.stage.rank > wants[row.micro_skill_id].rank:
            skills[row.person_id].append(row.micro_skill)
            masters[row.person_id] = row.person
    return sorted(
        (MasterChoice(masters[pid], skills[pid], pid in paired) for pid in masters),
        key=lambda choice: (not choice.paired, choice.master.name),
    )


@dataclass(frozen=True)
class OpenSlot:
    """An hour a master is free, and the seats left in each mode for this apprentice."""

    starts_at: datetime
    ends_at: datetime
    room_seats: int | None  # None: not possible (another site, or not in the room then)
    video_seats: int | None
    you_are_busy: bool
    free_until: datetime  # the end of the master's free time from this start

    @property
    def bookable(self) -> bool:
        return not self.you_are_busy and bool(self.room_seats or self.video_seats)

    def fits(self, length: SessionLength) -> bool:
        """A session of that length from this start ends within the master's free time."""
        return self.starts_at + timedelta(hours=length.hours) <= self.free_until


def open_slots(
    master: Person, apprentice: Person, month: Month, exclude_seat: int | None = None
) -> list[OpenSlot]:
    """The master's free hours in the month from now on, with seats left per mode.

    When moving a seat, `exclude_seat` leaves that seat out: its time is free to move into.
    """
    intervals = availability_by_person(month, [master.id]).get(master.id, [])
    earliest = utcnow() + MIN_LEAD
    same_site = apprentice.site_id is not None and apprentice.site_id == master.site_id
    span_start, span_end = month_span(month, master)
    in_span = (
        SessionObserver.cancelled_at.is_(None),
        SessionObserver.ends_at > span_start,
        SessionObserver.starts_at < span_end,
    )
    # The seats taken in the master's sessions, by mode, in one statement.
    seat_spans: dict[SessionMode, list] = {mode: [] for mode in SessionMode}
    for mode, seat_id, start, end in db.session.execute(
        select(
            ShadowingSession.mode,
            SessionObserver.id,
            SessionObserver.starts_at,
            SessionObserver.ends_at,
        )
        .join(ShadowingSession, ShadowingSession.id == SessionObserver.session_id)
        .where(
            ShadowingSession.master_id == master.id,
            ShadowingSession.cancelled_at.is_(None),
            *in_span,
        )
    ):
        if seat_id != exclude_seat:
            seat_spans[mode].append((start, end))
    values = month_plan_for(master, month).values
    # When the apprentice and the master are themselves observing, in one statement.
    mine, master_observing = [], []
    for observer, seat_id, start, end in db.session.execute(
        select(
            SessionObserver.apprentice_id,
            SessionObserver.id,
            SessionObserver.starts_at,
            SessionObserver.ends_at,
        ).where(SessionObserver.apprentice_id.in_({apprentice.id, master.id}), *in_span)
    ):
        if observer == apprentice.id and seat_id != exclude_seat:
            mine.append((start, end))
        if observer == master.id:
            master_observing.append((start, end))
    # The apprentice's own calendar: busy there is busy here (the master's is already out of
    # `intervals`, through availability_by_person).
    mine.extend(busy_by_person([apprentice.id], span_start, span_end).get(apprentice.id, []))
    slots = []
    spans = sorted((interval.start_utc, interval.end_utc) for interval in intervals)
    grids: dict[Month, BookingGrid] = {}
    for interval in intervals:
        # Starts follow the master's own clock on the grid of both people: on the hour where
        # they are (10:00 in Kolkata), and on the half hour too when either is in a half-hour zone.
        at_month = local_month(interval.start_utc, master)
        grid = grids.get(at_month) or grids.setdefault(
            at_month, grid_between(master, apprentice, at_month)
        )
        for hour in grid.starts(interval.start_utc, interval.end_utc, SLOT):
            end = hour + SLOT
            if hour >= earliest and not any(s < end and e > hour for s, e in master_observing):
                room = None
                if same_site and interval.in_person:
                    taken = most_at_once(seat_spans[SessionMode.IN_PERSON], hour, end)
                    room = max(0, values["in_person_seats"] - taken)
                video = None
                if interval.virtual:
                    taken = most_at_once(seat_spans[SessionMode.VIRTUAL], hour, end)
                    video = max(0, values["virtual_seats"] - taken)
                busy = any(s < end and e > hour for s, e in mine)
                # Free to the end of the windows that meet from here (as check_master_free
                # joins them), or sooner if the master observes someone then.
                free_until = min(
                    [_reach(spans, hour), *(s for s, _ in master_observing if s >= end)]
                )
                slots.append(OpenSlot(hour, end, room, video, busy, free_until))
    return slots


def _reach(spans: list[tuple[datetime, datetime]], start: datetime) -> datetime:
    """How far the sorted spans cover time without a gap from `start`."""
    reached = start
    for span_start, span_end in spans:
        if span_start <= reached < span_end:
            reached = span_end
    return reached


def slots_by_day(slots: list[OpenSlot], person: Person) -> list[tuple]:
    """The slots under each of the person's local days, the days in order."""
    days: dict = {}
    for slot in slots:
        days.setdefault(slot.starts_at.astimezone(person.zone).date(), []).append(slot)
    return sorted(days.items())


def open_sessions_to_join(apprentice: Person) -> list[ShadowingSession]:
    """Sessions masters opened that the apprentice could learn from and still has room in."""
    masters = {choice.master.id for choice in bookable_masters(apprentice)}
    teachers = set(
        db.session.scalars(
            select(PersonSkill.person_id).where(
                PersonSkill.hosts,
                PersonSkill.micro_skill_id.in_(
                    [ps.micro_skill_id for ps in apprentice.skills if ps.develops] or [0]
                ),
            )
        )
    )
    sessions = db.session.scalars(
        select(ShadowingSession)
        .where(
            ShadowingSession.opened_by_master,
            ShadowingSession.cancelled_at.is_(None),
            ShadowingSession.starts_at > utcnow() + MIN_LEAD,
            ShadowingSession.master_id.in_(masters | teachers),
            ShadowingSession.master_id != apprentice.id,
        )
        .order_by(ShadowingSession.starts_at)
        .limit(50)
    )
    return [
        s
        for s in sessions
        if len(s.observers_live) < s.seats and teachable_skills(apprentice, s.master)
    ]
