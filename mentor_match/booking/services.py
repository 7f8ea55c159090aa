"""The rules of booking: who may book whom, when, in which mode, and within which limits.

Every booking runs in one transaction that first locks the rows of the people involved
(SELECT ... FOR UPDATE on PostgreSQL; SQLite takes its one write lock), so seats and
monthly limits are counted without a race. On PostgreSQL an exclusion constraint on
session_observers also refuses overlapping seats of one apprentice, whatever the code does.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..availability.expansion import Month
from ..availability.services import availability_by_person, month_plan_for
from ..errors import Refusal
from ..extensions import db
from ..integrations.events import SESSION_BOOKED, SESSION_CANCELLED, SESSION_MOVED, record_event
from ..links import absolute_url
from ..models import (
    BookingSettings,
    MicroSkill,
    Pairing,
    Person,
    PersonSkill,
    Response,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from ..organisation.services import only_verified_hosts
from ..rounds.notices import notify
from ..stages.hosting import hosted_skills, hosting_condition
from .grid import SHORTEST, BookingGrid, booking_grid, own_time_grid

# What one offered slot shows seats for: the first hour of a session starting then.
SLOT = timedelta(hours=1)
MAX_SESSION_HOURS = 4
MAX_OPEN_SEATS = 30
# Bookings start at least this long from now, so the master hears in time.
MIN_LEAD = timedelta(hours=1)
# PostgreSQL's SQLSTATE when the no_overlapping_seats exclusion constraint refuses a row.
EXCLUSION_VIOLATION = "23P01"


class BookingRefusal(Refusal):
    """A booking that cannot be made, said so the person can act on it."""


# Said when a master has no stage that lets them host: none marked, or none verified yet.
NOTHING_HOSTED = (
    "You host no micro skill yet: mark the skills you can be observed doing on "
    "your profile. A stage you declared yourself is hosted once an admin or a "
    "verified master in the skill verifies it."
)


# Settings ---------------------------------------------------------------------------------


def booking_settings() -> BookingSettings:
    """The organisation's booking rules (the defaults until an admin saves them)."""
    return db.session.get(BookingSettings, 1) or BookingSettings(id=1, notice_hours=24)


def save_notice_hours(hours: int) -> BookingSettings:
    if not 0 <= hours <= 24 * 14:
        raise BookingRefusal("Choose a notice period from 0 to 336 hours (two weeks).")
    settings = db.session.get(BookingSettings, 1)
    if settings is None:
        settings = BookingSettings(id=1)
        db.session.add(settings)
    settings.notice_hours = hours
    db.session.commit()
    return settings


# Who may book whom ------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterChoice:
    """A master an apprentice may book, the micro skills they would watch, and why allowed."""

    master: Person
    skills: list[MicroSkill]
    paired: bool


def _paired_master_ids(apprentice: Person) -> set[int]:
    return set(
        db.session.scalars(
            select(Pairing.master_id).where(
                Pairing.apprentice_id == apprentice.id,
                Pairing.apprentice_response != Response.DECLINED,
                Pairing.master_response != Response.DECLINED,
            )
        )
    )


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


def teachable_skills(apprentice: Person, master: Person) -> list[MicroSkill]:
    """Micro skills the apprentice develops that the master hosts at a higher stage."""
    wants = {ps.micro_skill_id: ps.stage for ps in apprentice.skills if ps.develops}
    return [
        ps.micro_skill
        for ps in hosted_skills(master)
        if ps.micro_skill_id in wants and ps.stage.rank > wants[ps.micro_skill_id].rank
    ]


def bookable_masters(apprentice: Person) -> list[MasterChoice]:
    """Masters the apprentice is paired with, and masters open to bookings who can teach them."""
    wants = {ps.micro_skill_id: ps.stage for ps in apprentice.skills if ps.develops}
    if not wants:
        return []
    paired = _paired_master_ids(apprentice)
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


def _may_book(apprentice: Person, master: Person, joining_open_session: bool) -> list[MicroSkill]:
    if apprentice.id == master.id:
        raise BookingRefusal("You cannot book a session with yourself.")
    if not (master.active and master.is_master):
        raise BookingRefusal(f"{master.name} is not hosting sessions.")
    skills = teachable_skills(apprentice, master)
    if not skills:
        raise BookingRefusal(
            f"{master.name} does not host a micro skill you are developing above your stage. "
            "Add the micro skills you want to develop on your profile."
        )
    if not (
        joining_open_session
        or master.open_to_bookings
        or master.id in _paired_master_ids(apprentice)
    ):
        raise BookingRefusal(
            f"{master.name} takes bookings only from apprentices they are paired with."
        )
    return skills


# Time, months and limits --------------------------------------------------------------------


def _local_month(moment: datetime, person: Person) -> Month:
    return Month.containing(moment.astimezone(person.zone).date())


def _month_span(month: Month, person: Person) -> tuple[datetime, datetime]:
    """The UTC instants at which the month starts and ends in the person's zone."""
    start = datetime.combine(month.first_day, datetime.min.time(), person.zone)
    end = datetime.combine(month.next.first_day, datetime.min.time(), person.zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _live_seats(apprentice_id: int):
    return select(SessionObserver).where(
        SessionObserver.apprentice_id == apprentice_id, SessionObserver.cancelled_at.is_(None)
    )


def _overlapping(column_start, column_end, starts_at, ends_at):
    return and_(column_start < ends_at, column_end > starts_at)


def _seat_clash(
    person: Person,
    starts_at: datetime,
    ends_at: datetime,
    exclude_seat: int | None = None,
    exclude_session: int | None = None,
) -> SessionObserver | None:
    """A live seat of the person overlapping the time, if any."""
    query = select(SessionObserver).where(
        SessionObserver.apprentice_id == person.id,
        SessionObserver.cancelled_at.is_(None),
        _overlapping(SessionObserver.starts_at, SessionObserver.ends_at, starts_at, ends_at),
    )
    if exclude_seat is not None:
        query = query.where(SessionObserver.id != exclude_seat)
    if exclude_session is not None:
        query = query.where(SessionObserver.session_id != exclude_session)
    return db.session.scalars(query.limit(1)).first()


def _hosting_clash(
    person: Person, starts_at: datetime, ends_at: datetime, exclude_session: int | None = None
) -> ShadowingSession | None:
    """A live session the person hosts overlapping the time, if any."""
    query = select(ShadowingSession).where(
        ShadowingSession.master_id == person.id,
        ShadowingSession.cancelled_at.is_(None),
        _overlapping(ShadowingSession.starts_at, ShadowingSession.ends_at, starts_at, ends_at),
    )
    if exclude_session is not None:
        query = query.where(ShadowingSession.id != exclude_session)
    return db.session.scalars(query.limit(1)).first()


def _refuse_if_busy(
    person: Person,
    starts_at: datetime,
    ends_at: datetime,
    *,
    you: bool,
    exclude_seat: int | None = None,
    exclude_session: int | None = None,
) -> None:
    """A person is never in two places at once: not observing twice, nor hosting and observing."""
    seat = _seat_clash(person, starts_at, ends_at, exclude_seat, exclude_session)
    hosted = _hosting_clash(person, starts_at, ends_at, exclude_session)
    clash = seat.starts_at if seat else hosted.starts_at if hosted else None
    if clash is not None:
        who = "You already have" if you else f"{person.name} already has"
        raise BookingRefusal(f"{who} a session then ({_when(clash, person)}).")


def _when(moment: datetime, person: Person) -> str:
    return moment.astimezone(person.zone).strftime("%a %d %b %H:%M %Z")


def _apprentice_limits(
    apprentice: Person,
    master: Person,
    starts_at: datetime,
    ends_at: datetime,
    exclude_seat: int | None = None,
) -> None:
    month = _local_month(starts_at, apprentice)
    limits = month_plan_for(apprentice, month).values
    start, end = _month_span(month, apprentice)
    query = _live_seats(apprentice.id).where(
        SessionObserver.starts_at >= start, SessionObserver.starts_at < end
    )
    if exclude_seat is not None:
        query = query.where(SessionObserver.id != exclude_seat)
    seats = list(db.session.scalars(query.options(selectinload(SessionObserver.session))))
    booked = sum((s.ends_at - s.starts_at).total_seconds() for s in seats) / 3600
    wanted = (ends_at - starts_at).total_seconds() / 3600
    if booked + wanted > limits["observation_hours"]:
        raise BookingRefusal(
            f"This would take you past your {limits['observation_hours']} hours for {month.label} "
            f"(you have {booked:g} booked). Change your plan for {month.label} to observe more."
        )
    masters = {seat.session.master_id for seat in seats}
    if master.id not in masters and len(masters) + 1 > limits["max_masters"]:
        raise BookingRefusal(
            f"You observe {len(masters)} masters in {month.label}, your limit; "
            "change your plan for the month to add another."
        )


def _master_limits(
    master: Person,
    apprentice: Person | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_session: int | None = None,
) -> None:
    month = _local_month(starts_at, master)
    limits = month_plan_for(master, month).values
    start, end = _month_span(month, master)
    query = (
        select(
            ShadowingSession.id,
            ShadowingSession.starts_at,
            ShadowingSession.ends_at,
            SessionObserver.apprentice_id,
        )
        .join(SessionObserver, SessionObserver.session_id == ShadowingSession.id)
        .where(
            ShadowingSession.master_id == master.id,
            ShadowingSession.cancelled_at.is_(None),
            SessionObserver.cancelled_at.is_(None),
            ShadowingSession.starts_at >= start,
            ShadowingSession.starts_at < end,
        )
    )
    if exclude_session is not None:
        query = query.where(ShadowingSession.id != exclude_session)
    hosted: list[tuple[datetime, datetime]] = []
    apprentices: set[int] = set()
    for _, session_start, session_end, apprentice_id in db.session.execute(query):
        hosted.append((session_start, session_end))
        apprentices.add(apprentice_id)
    before = _union_hours(hosted)
    after = _union_hours([*hosted, (starts_at, ends_at)])
    if after > limits["max_hosting_hours"] and after > before:
        raise BookingRefusal(
            f"This would take {master.name} past their {limits['max_hosting_hours']} hosting hours "
            f"for {month.label}. Choose a time when they already host, or another master."
        )
    if (
        apprentice is not None
        and apprentice.id not in apprentices
        and (len(apprentices) + 1 > limits["max_apprentices"])
    ):
        raise BookingRefusal(
            f"{master.name} already has {len(apprentices)} apprentices in {month.label}, their limit."
        )


def _check_times(starts_at: datetime, ends_at: datetime) -> None:
    """Times a session of any grid needs: zoned, in order, far enough ahead."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise BookingRefusal("Times must carry their time zone.")
    if ends_at <= starts_at:
        raise BookingRefusal("A session ends after it starts.")
    if starts_at < utcnow() + MIN_LEAD:
        raise BookingRefusal("Choose a time at least an hour from now.")


def _check_grid(
    grid: BookingGrid, starts_at: datetime, ends_at: datetime, *, with_whom: str = ""
) -> None:
    """The session lies on the grid of the people in it, and lasts from an hour to the longest."""
    if not grid.fits(starts_at, ends_at):
        raise BookingRefusal(f"Sessions{with_whom} {grid.rule}: choose one of the times offered.")
    if not SHORTEST <= ends_at - starts_at <= timedelta(hours=MAX_SESSION_HOURS):
        raise BookingRefusal(f"A session lasts from 1 to {MAX_SESSION_HOURS} hours.")


def grid_between(master: Person, apprentice: Person, month: Month) -> BookingGrid:
    """The grid of bookings between them in the master's month: hours, half or quarter hours."""
    return booking_grid(master.zone, [master.timezone, apprentice.timezone], month)


def _master_free_in(
    master: Person, starts_at: datetime, ends_at: datetime, mode: SessionMode
) -> None:
    """The whole session must lie in the master's availability windows that allow the mode
    (windows that meet, such as 09-12 and 12-17, cover it together)."""
    months = {_local_month(at, master) for at in (starts_at, ends_at - timedelta(microseconds=1))}
    spans = sorted(
        (interval.start_utc, interval.end_utc)
        for month in months
        for interval in availability_by_person(month, [master.id]).get(master.id, [])
        if (interval.in_person if mode is SessionMode.IN_PERSON else interval.virtual)
    )
    reached = starts_at  # free from starts_at up to here
    for start, end in spans:
        if start <= reached < end:
            reached = end
    if reached < ends_at:
        raise BookingRefusal(
            f"{master.name} is not available {('in the room' if mode is SessionMode.IN_PERSON else 'on video')} "
            f"at {_when(reached, master)}. Pick one of their open times."
        )


def _lock(*people: Person) -> None:
    """Serialise bookings that touch the same people: their rows are locked until commit."""
    ids = sorted({person.id for person in people})
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            select(Person.id).where(Person.id.in_(ids)).order_by(Person.id).with_for_update()
        )
    else:
        # SQLite has one write lock for the whole database: take it now, before reading.
        db.session.execute(update(Person).where(Person.id.in_(ids)).values(id=Person.id))


def _union_hours(spans: list[tuple[datetime, datetime]]) -> float:
    """Hours covered by the spans together: an hour three observers share counts once."""
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start >= reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return total / 3600


def _peak_seats(master: Person, mode: SessionMode, starts_at: datetime, ends_at: datetime) -> int:
    """The most observers the master has at any one moment between the times, in that mode."""
    rows = db.session.execute(
        select(SessionObserver.starts_at, SessionObserver.ends_at)
        .join(ShadowingSession, ShadowingSession.id == SessionObserver.session_id)
        .where(
            ShadowingSession.master_id == master.id,
            ShadowingSession.mode == mode,
            ShadowingSession.cancelled_at.is_(None),
            SessionObserver.cancelled_at.is_(None),
            _overlapping(SessionObserver.starts_at, SessionObserver.ends_at, starts_at, ends_at),
        )
    ).all()
    return _peak(rows, starts_at, ends_at)


def _peak(spans, starts_at: datetime, ends_at: datetime) -> int:
    events = []
    for start, end in spans:
        if start < ends_at and end > starts_at:
            events += [(max(start, starts_at), 1), (min(end, ends_at), -1)]
    peak = current = 0
    for _, change in sorted(events, key=lambda event: (event[0], event[1])):
        current += change
        peak = max(peak, current)
    return peak


def _plan_seats(master: Person, mode: SessionMode, at: datetime) -> int:
    values = month_plan_for(master, _local_month(at, master)).values
    return values["in_person_seats"] if mode is SessionMode.IN_PERSON else values["virtual_seats"]


# Booking ----------------------------------------------------------------------------------


def book(
    apprentice: Person, master: Person, starts_at: datetime, ends_at: datetime, mode: SessionMode
) -> SessionObserver:
    """Book a seat with a master at a time they are free, joining their session if one exists."""
    try:
        seat = _book(apprentice, master, starts_at, ends_at, mode)
        _seat_event(SESSION_BOOKED, seat)
        _tell_master_of_booking(seat)  # in the same transaction: never booked and not told
        db.session.commit()
    except BookingRefusal:
        db.session.rollback()
        raise
    return seat


def join(apprentice: Person, session: ShadowingSession) -> SessionObserver:
    """Take a seat in an existing session, such as one a master opened."""
    return book(apprentice, session.master, session.starts_at, session.ends_at, session.mode)


def _book(
    apprentice: Person,
    master: Person,
    starts_at: datetime,
    ends_at: datetime,
    mode: SessionMode,
    exclude_seat: int | None = None,
) -> SessionObserver:
    _check_times(starts_at, ends_at)
    _lock(apprentice, master)
    existing = db.session.scalars(
        select(ShadowingSession)
        .where(
            ShadowingSession.master_id == master.id,
            ShadowingSession.starts_at == starts_at,
            ShadowingSession.ends_at == ends_at,
            ShadowingSession.mode == mode,
            ShadowingSession.cancelled_at.is_(None),
        )
        .limit(1)
    ).first()
    if existing is None:
        # A new session lies on the grid of both people; joining one keeps its time, chosen
        # already (by the master, or by a round on its own grid).
        _check_grid(
            grid_between(master, apprentice, _local_month(starts_at, master)),
            starts_at,
            ends_at,
            with_whom=f" with {master.name}",
        )
    joining_open = existing is not None and existing.opened_by_master
    skills = _may_book(apprentice, master, joining_open)
    if mode is SessionMode.IN_PERSON and (
        apprentice.site_id is None or apprentice.site_id != master.site_id
    ):
        raise BookingRefusal(
            f"Seats in the room are for people at {master.site.name if master.site else 'the same site'}; "
            "book a seat on video instead."
        )
    if existing is not None and db.session.scalar(
        select(func.count())
        .select_from(SessionObserver)
        .where(
            SessionObserver.session_id == existing.id,
            SessionObserver.apprentice_id == apprentice.id,
            SessionObserver.cancelled_at.is_(None),
        )
    ):
        raise BookingRefusal("You already have a seat in this session.")
    # The apprentice's month (hours and masters) before the time itself: when the month is
    # full no other time will do either, so that is the answer to give, and it is the check
    # that costs least (the time checks expand the master's availability).
    _apprentice_limits(apprentice, master, starts_at, ends_at, exclude_seat=exclude_seat)
    if not joining_open:
        _master_free_in(master, starts_at, ends_at, mode)
    _refuse_if_busy(apprentice, starts_at, ends_at, you=True, exclude_seat=exclude_seat)
    # The master may host other observers then; they must not be observing someone else.
    if _seat_clash(master, starts_at, ends_at) is not None:
        raise BookingRefusal(f"{master.name} is observing another session then.")
    if existing is not None:
        taken = db.session.scalar(
            select(func.count())
            .select_from(SessionObserver)
            .where(
                SessionObserver.session_id == existing.id, SessionObserver.cancelled_at.is_(None)
            )
        )
        if taken >= existing.seats:
            raise BookingRefusal(
                "That seat was just taken: the session is full. Choose another time."
            )
    else:
        plan_seats = _plan_seats(master, mode, starts_at)
        if _peak_seats(master, mode, starts_at, ends_at) >= plan_seats:
            raise BookingRefusal(
                f"That seat was just taken: {master.name} has no seat "
                f"{'in the room' if mode is SessionMode.IN_PERSON else 'on video'} left then. "
                "Choose another time."
            )
    _master_limits(master, apprentice, starts_at, ends_at)
    session = existing
    if session is None:
        session = ShadowingSession(
            master_id=master.id,
            starts_at=starts_at,
            ends_at=ends_at,
            mode=mode,
            seats=max(1, plan_seats),
            site_id=master.site_id if mode is SessionMode.IN_PERSON else None,
            micro_skill_id=skills[0].id,
        )
        db.session.add(session)
        db.session.flush()
    pairing_id = _pairing_id(apprentice, master, starts_at)  # queried before the seat is pending
    seat = db.session.scalar(
        select(SessionObserver).where(
            SessionObserver.session_id == session.id, SessionObserver.apprentice_id == apprentice.id
        )
    )
    if seat is None:
        seat = SessionObserver(session_id=session.id, apprentice_id=apprentice.id)
        db.session.add(seat)
    seat.starts_at, seat.ends_at, seat.cancelled_at = starts_at, ends_at, None
    seat.pairing_id = pairing_id
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if getattr(error.orig, "sqlstate", None) != EXCLUSION_VIOLATION:
            raise
        # PostgreSQL's exclusion constraint: a seat at an overlapping time got in first.
        raise BookingRefusal("You already have a session at that time.") from None
    return seat


def _pairing_id(apprentice: Person, master: Person, starts_at: datetime) -> int | None:
    """The pairing of that month this booking belongs to, if the round paired them."""
    from ..models import Round

    month = str(_local_month(starts_at, apprentice))
    return db.session.scalar(
        select(Pairing.id)
        .join(Round, Round.id == Pairing.round_id)
        .where(
            Pairing.apprentice_id == apprentice.id,
            Pairing.master_id == master.id,
            Round.month == month,
            Pairing.apprentice_response != Response.DECLINED,
            Pairing.master_response != Response.DECLINED,
        )
        .limit(1)
    )


def open_session(
    master: Person,
    starts_at: datetime,
    ends_at: datetime,
    mode: SessionMode,
    seats: int,
    micro_skill_id: int | None,
    note: str,
) -> ShadowingSession:
    """A session the master opens for observers to join."""
    if not master.is_master:
        raise BookingRefusal("Only masters open sessions.")
    _check_times(starts_at, ends_at)
    _check_grid(own_time_grid(master.zone), starts_at, ends_at)
    if not 1 <= seats <= MAX_OPEN_SEATS:
        raise BookingRefusal(f"Offer from 1 to {MAX_OPEN_SEATS} seats.")
    if mode is SessionMode.IN_PERSON and master.site_id is None:
        raise BookingRefusal("You work remotely, so you can open sessions on video only.")
    hosted = {ps.micro_skill_id for ps in hosted_skills(master)}
    if not hosted:
        raise BookingRefusal(NOTHING_HOSTED)
    if micro_skill_id is not None and micro_skill_id not in hosted:
        raise BookingRefusal("Choose one of the micro skills you host.")
    _lock(master)
    _refuse_if_busy(master, starts_at, ends_at, you=True)
    session = ShadowingSession(
        master_id=master.id,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        seats=seats,
        site_id=master.site_id if mode is SessionMode.IN_PERSON else None,
        micro_skill_id=micro_skill_id,
        note=note.strip(),
        opened_by_master=True,
    )
    db.session.add(session)
    db.session.commit()
    return session


# Cancelling and moving ----------------------------------------------------------------------


def _check_notice(session: ShadowingSession, person: Person, action: str) -> None:
    hours = booking_settings().notice_hours
    if session.starts_at - utcnow() < timedelta(hours=hours):
        other = "your observers" if person.id == session.master_id else session.master.name
        raise BookingRefusal(
            f"{action} needs {hours} hours' notice, and this session starts "
            f"{_when(session.starts_at, person)}. Tell {other} directly."
        )


def cancel_seat(apprentice: Person, seat: SessionObserver) -> None:
    """The apprentice gives up their seat; a booked session with nobody left ends too."""
    session = seat.session
    if seat.cancelled_at is not None or session.cancelled_at is not None:
        raise BookingRefusal("This seat is already cancelled.")
    _check_notice(session, apprentice, "Cancelling")
    now = utcnow()
    seat.cancelled_at = now
    db.session.flush()
    if not session.opened_by_master and not session.observers_live:
        session.cancelled_at = now
    _seat_event(SESSION_CANCELLED, seat, by="apprentice")
    db.session.commit()
    link = _session_link(session)
    text = (
        f"{apprentice.name} cancelled their seat in your session on "
        f"{_when(session.starts_at, session.master)}."
    )
    notify(
        session.master,
        text,
        link,
        subject="A seat was cancelled",
        body=f"Hello {session.master.name},\n\n{text}\n\n{link}\n",
    )
    db.session.commit()


def cancel_session(master: Person, session: ShadowingSession) -> int:
    """The master cancels: every seat is freed and every observer told; returns how many."""
    if session.master_id != master.id:
        raise BookingRefusal("Only the master who hosts a session can cancel it.")
    if session.cancelled_at is not None:
        raise BookingRefusal("This session is already cancelled.")
    _check_notice(session, master, "Cancelling")
    now = utcnow()
    observers = session.observers_live
    session.cancelled_at = now
    for seat in observers:
        seat.cancelled_at = now
        _seat_event(SESSION_CANCELLED, seat, by="master")
    link = absolute_url("booking.book")
    for seat in observers:
        person = seat.apprentice
        text = f"{master.name} cancelled the session on {_when(session.starts_at, person)}; your seat is freed."
        notify(
            person,
            text,
            link,
            subject="A session was cancelled",
            body=f"Hello {person.name},\n\n{text}\n\nBook another time: {link}\n",
        )
    db.session.commit()
    return len(observers)


def cancel_seats_no_longer_hosted(master: Person, still_hosted: set[int], reason: str) -> int:
    """Cancel the master's upcoming seats in skills they may no longer host; the caller commits.

    A seat is for the session's micro skill, or, in a round's session, for its pairing's.
    A seat keeps going while any of its skills is still in `still_hosted`; a session whose
    last seat goes is cancelled, as is an open session for a skill no longer hosted. No
    notice period applies: the organisation, not the master, took the stage away. Everyone
    whose seat goes is told why. Returns how many seats were cancelled.
    """
    now = utcnow()
    sessions = db.session.scalars(
        select(ShadowingSession)
        .where(
            ShadowingSession.master_id == master.id,
            ShadowingSession.cancelled_at.is_(None),
            ShadowingSession.starts_at > now,
        )
        .options(
            selectinload(ShadowingSession.observers)
            .selectinload(SessionObserver.pairing)
            .selectinload(Pairing.micro_skills)
        )
        .order_by(ShadowingSession.starts_at)
    ).all()
    cancelled = 0
    link = absolute_url("booking.book")
    for session in sessions:
        for seat in session.observers_live:
            skills = (
                {session.micro_skill_id}
                if session.micro_skill_id is not None
                else {skill.id for skill in seat.pairing.micro_skills}
                if seat.pairing
                else set()
            )
            if skills & still_hosted:
                continue
            seat.cancelled_at = now
            cancelled += 1
            _seat_event(SESSION_CANCELLED, seat, by="organisation")
            person = seat.apprentice
            text = (
                f"Your session with {master.name} on {_when(session.starts_at, person)} is "
                f"cancelled: {reason}"
            )
            notify(
                person,
                text,
                link,
                subject="A session was cancelled",
                body=f"Hello {person.name},\n\n{text}\n\nBook another master: {link}\n",
            )
        skill_gone = (
            not still_hosted
            if session.micro_skill_id is None
            else session.micro_skill_id not in still_hosted
        )
        if not session.observers_live and (skill_gone or not session.opened_by_master):
            session.cancelled_at = now
    return cancelled


def reschedule_seat(
    apprentice: Person,
    seat: SessionObserver,
    starts_at: datetime,
    ends_at: datetime,
    mode: SessionMode,
) -> SessionObserver:
    """Move the apprentice's seat to another time with the same master, all or nothing."""
    old = seat.session
    if seat.cancelled_at is not None or old.cancelled_at is not None:
        raise BookingRefusal("This seat is cancelled; book a new time instead.")
    _check_notice(old, apprentice, "Moving a session")
    try:
        now = utcnow()
        seat.cancelled_at = now
        db.session.flush()
        if not old.opened_by_master and not old.observers_live:
            old.cancelled_at = now
        new_seat = _book(apprentice, old.master, starts_at, ends_at, mode)
        _seat_event(SESSION_MOVED, new_seat, previous_session_id=old.id)
        db.session.commit()
    except BookingRefusal:
        db.session.rollback()
        raise
    text = (
        f"{apprentice.name} moved their seat from {_when(old.starts_at, old.master)} "
        f"to {_when(starts_at, old.master)}."
    )
    link = _session_link(new_seat.session)
    notify(
        old.master,
        text,
        link,
        subject="A session was moved",
        body=f"Hello {old.master.name},\n\n{text}\n\n{link}\n",
    )
    db.session.commit()
    return new_seat


def reschedule_session(
    master: Person, session: ShadowingSession, starts_at: datetime, ends_at: datetime
) -> None:
    """The master moves a whole session; every observer must be free at the new time."""
    if session.master_id != master.id:
        raise BookingRefusal("Only the master who hosts a session can move it.")
    if session.cancelled_at is not None:
        raise BookingRefusal("This session is cancelled.")
    _check_notice(session, master, "Moving a session")
    _check_times(starts_at, ends_at)
    _check_grid(own_time_grid(master.zone), starts_at, ends_at)
    _lock(master, *(seat.apprentice for seat in session.observers_live))
    db.session.refresh(session, ["observers"])  # anyone who joined before the lock moves too
    observers = session.observers_live
    _lock(*(seat.apprentice for seat in observers))
    _refuse_if_busy(master, starts_at, ends_at, you=True, exclude_session=session.id)
    for seat in observers:
        try:
            _refuse_if_busy(
                seat.apprentice, starts_at, ends_at, you=False, exclude_session=session.id
            )
        except BookingRefusal as clash:
            raise BookingRefusal(f"{clash} Choose a time all your observers are free.") from None
    old_start = session.starts_at
    session.starts_at, session.ends_at = starts_at, ends_at
    session.reminded_at = None
    session.revision += 1
    for seat in observers:
        seat.starts_at, seat.ends_at = starts_at, ends_at
        _seat_event(SESSION_MOVED, seat, previous_session_id=session.id)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if getattr(error.orig, "sqlstate", None) != EXCLUSION_VIOLATION:
            raise
        raise BookingRefusal("An observer already has a session at that time.") from None
    link = _session_link(session)
    for seat in observers:
        person = seat.apprentice
        text = (
            f"{master.name} moved the session from {_when(old_start, person)} "
            f"to {_when(starts_at, person)}."
        )
        notify(
            person,
            text,
            link,
            subject="A session was moved",
            body=f"Hello {person.name},\n\n{text}\n\n{link}\n",
        )
    db.session.commit()


def _seat_event(kind: str, seat: SessionObserver, **extra) -> None:
    """Tell pollers about a seat: who, with whom, when, in which mode."""
    session = seat.session
    record_event(
        kind,
        session_id=session.id,
        seat_id=seat.id,
        apprentice_id=seat.apprentice_id,
        master_id=session.master_id,
        starts_at=seat.starts_at.isoformat(),
        ends_at=seat.ends_at.isoformat(),
        mode=session.mode.value,
        **extra,
    )


def _session_link(session: ShadowingSession) -> str:
    return absolute_url("booking.session", session_id=session.id)


def _where(session: ShadowingSession) -> str:
    """Where to be, for mail: the site, or the video call's link."""
    from ..calendars.services import video_url

    if session.mode is SessionMode.IN_PERSON:
        return f"In the room at {session.site.name}." if session.site else "In the room."
    return f"On video: {video_url(session)}"


def _tell_master_of_booking(seat: SessionObserver) -> None:
    """The master hears of the booking; the apprentice gets a confirmation to keep."""
    session = seat.session
    master, apprentice = session.master, seat.apprentice
    link = _session_link(session)
    ics = absolute_url("calendars.session_ics", session_id=session.id)
    text = (
        f"{apprentice.name} booked a seat {session.mode.label.lower()} in your session on "
        f"{_when(session.starts_at, master)}."
    )
    notify(
        master,
        text,
        link,
        subject="New booking",
        body=f"Hello {master.name},\n\n{text}\n{_where(session)}\n\n{link}\n",
    )
    confirmation = (
        f"You are booked to observe {master.name} on {_when(session.starts_at, apprentice)}."
    )
    notify(
        apprentice,
        confirmation,
        link,
        subject="Your shadowing session is booked",
        body=(
            f"Hello {apprentice.name},\n\n{confirmation}\n{_where(session)}\n\n"
            f"Session page: {link}\nAdd it to your calendar: {ics}\n"
        ),
    )


# What a person sees -------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenSlot:
    """An hour a master is free, and the seats left in each mode for this apprentice."""

    starts_at: datetime
    ends_at: datetime
    room_seats: int | None  # None: not possible (another site, or not in the room then)
    video_seats: int | None
    you_are_busy: bool

    @property
    def bookable(self) -> bool:
        return not self.you_are_busy and bool(self.room_seats or self.video_seats)


def open_slots(
    master: Person, apprentice: Person, month: Month, exclude_seat: int | None = None
) -> list[OpenSlot]:
    """The master's free hours in the month from now on, with seats left per mode.

    When moving a seat, `exclude_seat` leaves that seat out: its time is free to move into.
    """
    intervals = availability_by_person(month, [master.id]).get(master.id, [])
    earliest = utcnow() + MIN_LEAD
    same_site = apprentice.site_id is not None and apprentice.site_id == master.site_id
    span_start, span_end = _month_span(month, master)
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
    slots = []
    grids: dict[Month, BookingGrid] = {}
    for interval in intervals:
        # Starts follow the master's own clock on the grid of both people: on the hour where
        # they are (10:00 in Kolkata), and on the half hour too when either is in a half-hour zone.
        at_month = _local_month(interval.start_utc, master)
        grid = grids.get(at_month) or grids.setdefault(
            at_month, grid_between(master, apprentice, at_month)
        )
        for hour in grid.starts(interval.start_utc, interval.end_utc, SLOT):
            end = hour + SLOT
            if hour >= earliest and not any(s < end and e > hour for s, e in master_observing):
                room = None
                if same_site and interval.in_person:
                    taken = _peak(seat_spans[SessionMode.IN_PERSON], hour, end)
                    room = max(0, values["in_person_seats"] - taken)
                video = None
                if interval.virtual:
                    video = max(
                        0,
                        values["virtual_seats"] - _peak(seat_spans[SessionMode.VIRTUAL], hour, end),
                    )
                busy = any(s < end and e > hour for s, e in mine)
                slots.append(OpenSlot(hour, end, room, video, busy))
    return slots


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
def _diary_queries(bounded: bool, limited: bool, lines: bool) -> tuple[Select, Select]:
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
    limit: int | None,
    lines: bool,
    hosting: bool = True,
    observing: bool = True,
) -> list[Appointment]:
    """Live sessions the person hosts or observes from start to end, soonest first.

    A caller that knows the person hosts (or observes) nothing in that span says so with
    hosting=False (observing=False), and that half is not asked for.
    """
    hosted, seats = _diary_queries(end is not None, limit is not None, lines)
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
    hosting: bool = True,
    observing: bool = True,
) -> list[Appointment]:
    """Live sessions the person hosts or observes from start (default now) to end, soonest first.

    With `limit`, only the first `limit` of them: each half is limited in the database, so
    the dashboard never loads a whole diary to show three lines. hosting=False or
    observing=False leaves out a half the caller knows to be empty.
    """
    return _appointments(person, start or utcnow(), end, limit, True, hosting, observing)


def month_diary(person: Person, month: Month) -> dict:
    """The person's sessions in a month, by their local day, for a month calendar."""
    start, end = _month_span(month, person)
    by_day: dict = defaultdict(list)
    for item in _appointments(person, start, end, None, lines=False):
        by_day[item.session.starts_at.astimezone(person.zone).date()].append(item)
    return by_day


def participant_seat(person: Person, session: ShadowingSession) -> SessionObserver | None:
    return next(
        (
            seat
            for seat in session.observers
            if seat.apprentice_id == person.id and seat.cancelled_at is None
        ),
        None,
    )


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
