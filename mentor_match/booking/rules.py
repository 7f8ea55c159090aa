"""The rules of booking: who may book whom, when, in which mode, and within which limits.

Each check raises `errors.Refusal` saying what the person can do instead. The actions
(`booking.actions`) run them in one transaction after `booking.locks.lock` has locked the rows
of the people involved, so seats and monthly limits are counted without a race. The
organisation's booking settings (the notice period) and a master's openness to bookings are
kept here too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from ..allowances.figures import granted, granted_by
from ..availability.expansion import Month
from ..availability.services import availability_by_person, month_plan_for
from ..busy.services import busy_by_person
from ..errors import Refusal
from ..extensions import db
from ..models import (
    AllowanceKind,
    BookingSettings,
    MicroSkill,
    Pairing,
    Person,
    Response,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from ..stages.hosting import hosted_skills
from .grid import SHORTEST, BookingGrid, booking_grid

MAX_SESSION_HOURS = 4
MAX_OPEN_SEATS = 30
# Bookings start at least this long from now, so the master hears in time.
MIN_LEAD = timedelta(hours=1)

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
    """Set how many hours before a session people may still cancel or move it."""
    if not 0 <= hours <= 24 * 14:
        raise Refusal("Choose a notice period from 0 to 336 hours (two weeks).")
    settings = db.session.get(BookingSettings, 1)
    if settings is None:
        settings = BookingSettings(id=1)
        db.session.add(settings)
    settings.notice_hours = hours
    db.session.commit()
    return settings


def set_open_to_bookings(master: Person, *, open_to_bookings: bool) -> None:
    """Let any apprentice who can learn from the master book them, or only those paired."""
    master.open_to_bookings = open_to_bookings
    db.session.commit()


# Who may book whom ------------------------------------------------------------------------


def paired_master_ids(apprentice: Person) -> set[int]:
    """Masters a round paired with the apprentice, where neither declined."""
    return set(
        db.session.scalars(
            select(Pairing.master_id).where(
                Pairing.apprentice_id == apprentice.id,
                Pairing.apprentice_response != Response.DECLINED,
                Pairing.master_response != Response.DECLINED,
            )
        )
    )


def teachable_skills(apprentice: Person, master: Person) -> list[MicroSkill]:
    """Micro skills the apprentice develops that the master hosts at a higher stage."""
    wants = {ps.micro_skill_id: ps.stage for ps in apprentice.skills if ps.develops}
    return [
        ps.micro_skill
        for ps in hosted_skills(master)
        if ps.micro_skill_id in wants and ps.stage.rank > wants[ps.micro_skill_id].rank
    ]


def skills_to_watch(
    apprentice: Person, master: Person, *, joining_open_session: bool = False
) -> list[MicroSkill]:
    """The micro skills the apprentice would watch the master use, or why they may not book."""
    if apprentice.id == master.id:
        raise Refusal("You cannot book a session with yourself.")
    if not (master.active and master.is_master):
        raise Refusal(f"{master.name} is not hosting sessions.")
    skills = teachable_skills(apprentice, master)
    if not skills:
        raise Refusal(
            f"{master.name} does not host a micro skill you are developing above your stage. "
            "Add the micro skills you want to develop on your profile."
        )
    if not (
        joining_open_session
        or master.open_to_bookings
        or master.id in paired_master_ids(apprentice)
    ):
        raise Refusal(f"{master.name} takes bookings only from apprentices they are paired with.")
    return skills


# Time and months --------------------------------------------------------------------------


def local_month(moment: datetime, person: Person) -> Month:
    """The month a moment falls in on the person's own calendar."""
    return Month.containing(moment.astimezone(person.zone).date())


def month_span(month: Month, person: Person) -> tuple[datetime, datetime]:
    """The UTC instants at which the month starts and ends in the person's zone."""
    start = datetime.combine(month.first_day, datetime.min.time(), person.zone)
    end = datetime.combine(month.next.first_day, datetime.min.time(), person.zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def spoken_time(moment: datetime, person: Person) -> str:
    """A moment as a refusal or a mail says it to the person: 'Tue 03 Nov 10:00 CET'."""
    return moment.astimezone(person.zone).strftime("%a %d %b %H:%M %Z")


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    """Times a session of any grid needs: zoned, in order, far enough ahead."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise Refusal("Times must carry their time zone.")
    if ends_at <= starts_at:
        raise Refusal("A session ends after it starts.")
    if starts_at < utcnow() + MIN_LEAD:
        raise Refusal("Choose a time at least an hour from now.")


def check_grid(
    grid: BookingGrid, starts_at: datetime, ends_at: datetime, *, with_whom: str = ""
) -> None:
    """The session lies on the grid of the people in it, and lasts from an hour to the longest."""
    if not grid.fits(starts_at, ends_at):
        raise Refusal(f"Sessions{with_whom} {grid.rule}: choose one of the times offered.")
    if not SHORTEST <= ends_at - starts_at <= timedelta(hours=MAX_SESSION_HOURS):
        raise Refusal(f"A session lasts from 1 to {MAX_SESSION_HOURS} hours.")


def grid_between(master: Person, apprentice: Person, month: Month) -> BookingGrid:
    """The grid of bookings between them in the master's month: hours, half or quarter hours."""
    return booking_grid(master.zone, [master.timezone, apprentice.timezone], month)


def check_notice(session: ShadowingSession, person: Person, action: str) -> None:
    """A session is cancelled or moved only with the organisation's notice period to spare."""
    hours = booking_settings().notice_hours
    if session.starts_at - utcnow() < timedelta(hours=hours):
        other = "your observers" if person.id == session.master_id else session.master.name
        raise Refusal(
            f"{action} needs {hours} hours' notice, and this session starts "
            f"{spoken_time(session.starts_at, person)}. Tell {other} directly."
        )


def check_master_free(
    master: Person, starts_at: datetime, ends_at: datetime, mode: SessionMode
) -> None:
    """The whole session must lie in the master's availability windows that allow the mode
    (windows that meet, such as 09-12 and 12-17, cover it together)."""
    months = {local_month(at, master) for at in (starts_at, ends_at - timedelta(microseconds=1))}
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
        where = "in the room" if mode is SessionMode.IN_PERSON else "on video"
        raise Refusal(
            f"{master.name} is not available {where} "
            f"at {spoken_time(reached, master)}. Pick one of their open times."
        )


# Nobody in two places at once ---------------------------------------------------------------


def _overlapping(column_start, column_end, starts_at, ends_at):
    return and_(column_start < ends_at, column_end > starts_at)


def seat_clash(
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


def refuse_if_busy(
    person: Person,
    starts_at: datetime,
    ends_at: datetime,
    *,
    you: bool,
    exclude_seat: int | None = None,
    exclude_session: int | None = None,
) -> None:
    """A person is never in two places at once: not observing twice, nor hosting and observing."""
    seat = seat_clash(person, starts_at, ends_at, exclude_seat, exclude_session)
    hosted = _hosting_clash(person, starts_at, ends_at, exclude_session)
    clash = seat.starts_at if seat else hosted.starts_at if hosted else None
    if clash is not None:
        who = "You already have" if you else f"{person.name} already has"
        raise Refusal(f"{who} a session then ({spoken_time(clash, person)}).")


def refuse_if_calendar_busy(person: Person, starts_at: datetime, ends_at: datetime) -> None:
    """The person's own calendar (their feed) must not say they are busy then; they are told
    when, and nobody else ever is."""
    busy = busy_by_person([person.id], starts_at, ends_at).get(person.id)
    if busy:
        when = spoken_time(max(busy[0][0], starts_at), person)
        raise Refusal(f"Your calendar shows you busy then ({when}). Pick another time.")


# Monthly limits and seats -------------------------------------------------------------------


def check_apprentice_limits(
    apprentice: Person,
    master: Person,
    starts_at: datetime,
    ends_at: datetime,
    exclude_seat: int | None = None,
) -> None:
    """The seat keeps the apprentice within their month's observation hours and masters."""
    month = local_month(starts_at, apprentice)
    limits = month_plan_for(apprentice, month).values
    start, end = month_span(month, apprentice)
    query = select(SessionObserver).where(
        SessionObserver.apprentice_id == apprentice.id,
        SessionObserver.cancelled_at.is_(None),
        SessionObserver.starts_at >= start,
        SessionObserver.starts_at < end,
    )
    if exclude_seat is not None:
        query = query.where(SessionObserver.id != exclude_seat)
    seats = list(db.session.scalars(query.options(selectinload(SessionObserver.session))))
    booked = sum((s.ends_at - s.starts_at).total_seconds() for s in seats) / 3600
    wanted = (ends_at - starts_at).total_seconds() / 3600
    planned = limits["observation_hours"]
    figure = granted(apprentice, month, AllowanceKind.OBSERVING)
    if booked + wanted > figure.cap(planned) and figure.cap(planned) < planned:
        raise Refusal(
            f"This would take you past your {figure.hours} hours for {month.label} "
            f"{granted_by(figure)} (you have {booked:g} booked); ask for more on your month plan."
        )
    if booked + wanted > planned:
        raise Refusal(
            f"This would take you past your {limits['observation_hours']} hours for {month.label} "
            f"(you have {booked:g} booked). Change your plan for {month.label} to observe more."
        )
    masters = {seat.session.master_id for seat in seats}
    if master.id not in masters and len(masters) + 1 > limits["max_masters"]:
        raise Refusal(
            f"You observe {len(masters)} masters in {month.label}, your limit; "
            "change your plan for the month to add another."
        )


def check_master_limits(
    master: Person,
    apprentice: Person | None,
    starts_at: datetime,
    ends_at: datetime,
    exclude_session: int | None = None,
) -> None:
    """The session keeps the master within their month's hosting hours and apprentices."""
    month = local_month(starts_at, master)
    limits = month_plan_for(master, month).values
    start, end = month_span(month, master)
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
    planned = limits["max_hosting_hours"]
    figure = granted(master, month, AllowanceKind.HOSTING)
    if after > figure.cap(planned) and after > before and figure.cap(planned) < planned:
        raise Refusal(
            f"This would take {master.name} past their {figure.hours} hosting hours for "
            f"{month.label} {granted_by(figure, whose='their')}. Choose a time when they already "
            "host, or another master."
        )
    if after > planned and after > before:
        raise Refusal(
            f"This would take {master.name} past their {limits['max_hosting_hours']} hosting hours "
            f"for {month.label}. Choose a time when they already host, or another master."
        )
    if (
        apprentice is not None
        and apprentice.id not in apprentices
        and (len(apprentices) + 1 > limits["max_apprentices"])
    ):
        raise Refusal(
            f"{master.name} already has {len(apprentices)} apprentices in {month.label}, "
            "their limit."
        )


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


def peak_seats(master: Person, mode: SessionMode, starts_at: datetime, ends_at: datetime) -> int:
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
    return most_at_once(rows, starts_at, ends_at)


def most_at_once(spans, starts_at: datetime, ends_at: datetime) -> int:
    """The most of the spans that overlap at any one moment between the times."""
    events = []
    for start, end in spans:
        if start < ends_at and end > starts_at:
            events += [(max(start, starts_at), 1), (min(end, ends_at), -1)]
    peak = current = 0
    for _, change in sorted(events, key=lambda event: (event[0], event[1])):
        current += change
        peak = max(peak, current)
    return peak


def plan_seats(master: Person, mode: SessionMode, at: datetime) -> int:
    """The seats the master's plan offers in that mode, in the month of `at`."""
    values = month_plan_for(master, local_month(at, master)).values
    return values["in_person_seats"] if mode is SessionMode.IN_PERSON else values["virtual_seats"]
