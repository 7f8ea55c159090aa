"""Rules for availability: weekly windows, one-off changes, month plans and the month calendar."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import AvailabilityChange, ChangeKind, MonthPlan, Person, WeeklyWindow
from .expansion import (
    Interval,
    Month,
    MonthError,
    clock_change_in_gap,
    clock_changes,
    expand_availability,
    local_time_kind,
)

__all__ = [
    "APPRENTICE_FIELDS",
    "MASTER_FIELDS",
    "PLAN_LIMITS",
    "WEEKDAYS",
    "AvailabilityRefusal",
    "CalendarDay",
    "CalendarSlot",
    "Interval",
    "Month",
    "MonthCalendar",
    "MonthError",
    "PlanDraft",
    "SavedChange",
    "add_change",
    "add_weekly_window",
    "availability_by_person",
    "default_month",
    "delete_change",
    "delete_weekly_window",
    "expand_availability",
    "month_calendar",
    "month_plan_for",
    "plan_fields_for",
    "save_month_plan",
    "upcoming_changes",
]

log = logging.getLogger(__name__)

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

REMOTE_VIDEO_ONLY = (
    "You work remotely (no site), so you can only offer video. "
    "Choose “Video only”, or set your site on your profile."
)


class AvailabilityRefusal(Exception):
    """Input a person can correct; `problems` maps form field names to messages."""

    def __init__(self, problems: dict[str, str]):
        super().__init__("; ".join(problems.values()))
        self.problems = problems


def _clock(at: time) -> str:
    return at.strftime("%H:%M")


def _long_day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def default_month(person: Person, today: date | None = None) -> Month:
    """The month people plan by default: the one after the current month in their zone."""
    return Month.containing(today or _local_today(person)).next


def _local_today(person: Person) -> date:
    return datetime.now(UTC).astimezone(person.zone).date()


# Weekly windows -------------------------------------------------------------------------


def add_weekly_window(
    person: Person, *, weekday: int, start: time, end: time, in_person: bool, virtual: bool
) -> WeeklyWindow:
    """Save a new weekly window, or refuse it with a message for each field at fault."""
    # Overlaps are refused rather than merged: the person sees their windows as entered, and
    # can decide which of two clashing windows they meant.
    problems: dict[str, str] = {}
    if end <= start:
        problems["end"] = f"The window must end after it starts ({_clock(start)})."
    if not (in_person or virtual):
        problems["mode"] = "Choose in the office, video, or both."
    elif in_person and person.is_remote:
        problems["mode"] = REMOTE_VIDEO_ONLY
    if "end" not in problems:
        clash = db.session.scalar(
            select(WeeklyWindow)
            .where(
                WeeklyWindow.person_id == person.id,
                WeeklyWindow.weekday == weekday,
                WeeklyWindow.start_time < end,
                WeeklyWindow.end_time > start,
            )
            .order_by(WeeklyWindow.start_time)
            .limit(1)
        )
        if clash is not None:
            problems["start"] = (
                f"This overlaps your {WEEKDAYS[weekday]} window "
                f"{_clock(clash.start_time)}–{_clock(clash.end_time)}. "
                "Choose times that do not overlap, or delete that window first."
            )
    if problems:
        raise AvailabilityRefusal(problems)
    window = WeeklyWindow(
        person=person,
        weekday=weekday,
        start_time=start,
        end_time=end,
        in_person=in_person,
        virtual=virtual,
    )
    db.session.add(window)
    db.session.commit()
    return window


def delete_weekly_window(person: Person, window_id: int) -> bool:
    """Delete one of the person's own weekly windows; False if they have none with that id."""
    window = db.session.scalar(
        select(WeeklyWindow).where(
            WeeklyWindow.id == window_id, WeeklyWindow.person_id == person.id
        )
    )
    if window is None:
        return False
    db.session.delete(window)
    db.session.commit()
    return True


# One-off changes ------------------------------------------------------------------------


@dataclass
class SavedChange:
    """A saved one-off change, and anything the person should be told about its times."""

    change: AvailabilityChange
    notes: list[str] = field(default_factory=list)


def _check_local_time(day: date, at: time, person: Person) -> tuple[str | None, str | None]:
    """(problem, note) for a wall-clock time on a day in the person's zone."""
    zone = person.zone
    kind = local_time_kind(day, at, zone)
    if kind == "missing":
        _, jumps_from, jumps_to = clock_change_in_gap(day, at, zone)
        problem = (
            f"{_clock(at)} does not exist on {_long_day(day)} in {person.timezone}: "
            f"clocks go forward from {_clock(jumps_from.time())} to {_clock(jumps_to.time())}. "
            "Choose a time outside that gap."
        )
        return problem, None
    if kind == "repeated":
        first = datetime.combine(day, at, zone)
        note = (
            f"{_clock(at)} happens twice on {_long_day(day)} in {person.timezone} because "
            f"clocks go back; the first one ({first:%H:%M %Z}, "
            f"{_format_offset(first.utcoffset())}) is used."
        )
        return None, note
    return None, None


def add_change(
    person: Person,
    *,
    day: date,
    kind: ChangeKind | str,
    start: time | None,
    end: time | None,
    in_person: bool,
    virtual: bool,
    note: str = "",
) -> SavedChange:
    """Save a one-off change for a local day, or refuse it; notes say how clock changes apply."""
    # A time the clocks skip is refused (the person must choose what they mean), while a
    # time that happens twice is accepted with its first occurrence, and a note says so.
    kind = ChangeKind(kind)
    problems: dict[str, str] = {}
    notes: list[str] = []
    if day < _local_today(person):
        problems["day"] = f"{_long_day(day)} has passed; choose today or a later day."
    if kind is ChangeKind.EXTRA:
        if start is None:
            problems["start"] = "An extra window needs a start time."
        if end is None:
            problems["end"] = "An extra window needs an end time."
        if not (in_person or virtual):
            problems["mode"] = "Choose in the office, video, or both."
        elif in_person and person.is_remote:
            problems["mode"] = REMOTE_VIDEO_ONLY
    else:
        # Time off applies to every mode; the flags only matter for extra windows.
        in_person = virtual = True
        if (start is None) != (end is None):
            missing = "end" if end is None else "start"
            problems[missing] = (
                f"Give both a start and an end time, or neither for the whole day; the {missing} "
                "time is missing."
            )
    if start is not None and end is not None and end <= start:
        problems["end"] = f"The change must end after it starts ({_clock(start)})."
    for name, at in (("start", start), ("end", end)):
        if at is None or name in problems or "day" in problems:
            continue
        problem, clock_note = _check_local_time(day, at, person)
        if problem:
            problems[name] = problem
        elif clock_note:
            notes.append(clock_note)
    if problems:
        raise AvailabilityRefusal(problems)
    change = AvailabilityChange(
        person=person,
        day=day,
        kind=kind,
        start_time=start,
        end_time=end,
        in_person=in_person,
        virtual=virtual,
        note=note.strip(),
    )
    db.session.add(change)
    db.session.commit()
    return SavedChange(change, notes)


def upcoming_changes(person: Person) -> list[AvailabilityChange]:
    """The person's one-off changes from today (in their zone) on, earliest first."""
    return list(
        db.session.scalars(
            select(AvailabilityChange)
            .where(
                AvailabilityChange.person_id == person.id,
                AvailabilityChange.day >= _local_today(person),
            )
            .order_by(AvailabilityChange.day, AvailabilityChange.start_time)
        )
    )


def delete_change(person: Person, change_id: int) -> bool:
    """Delete one of the person's own one-off changes; False if they have none with that id."""
    change = db.session.scalar(
        select(AvailabilityChange).where(
            AvailabilityChange.id == change_id, AvailabilityChange.person_id == person.id
        )
    )
    if change is None:
        return False
    db.session.delete(change)
    db.session.commit()
    return True


# Expansion for many people at once ------------------------------------------------------


def availability_by_person(
    month: str | Month, person_ids: Iterable[int] | None = None
) -> dict[int, list[Interval]]:
    """UTC availability in a month by person id, for everyone active or the ids given."""
    # Three queries whatever the number of people (12,000 take about 1.5 s), so a matching
    # round can build its input from this without a query per person.
    month = month if isinstance(month, Month) else Month.parse(month)
    people_query = select(Person.id, Person.timezone).where(Person.active)
    window_query = select(
        WeeklyWindow.person_id,
        WeeklyWindow.weekday,
        WeeklyWindow.start_time,
        WeeklyWindow.end_time,
        WeeklyWindow.in_person,
        WeeklyWindow.virtual,
    )
    # `day` is the person's local day, so the month's own days pick exactly the changes that
    # apply, whatever the zone.
    change_query = select(
        AvailabilityChange.person_id,
        AvailabilityChange.day,
        AvailabilityChange.kind,
        AvailabilityChange.start_time,
        AvailabilityChange.end_time,
        AvailabilityChange.in_person,
        AvailabilityChange.virtual,
    ).where(AvailabilityChange.day.between(month.first_day, month.days[-1]))
    if person_ids is None:
        active = select(Person.id).where(Person.active)
        window_query = window_query.where(WeeklyWindow.person_id.in_(active))
        change_query = change_query.where(AvailabilityChange.person_id.in_(active))
    else:
        ids = list(person_ids)
        people_query = select(Person.id, Person.timezone).where(Person.id.in_(ids))
        window_query = window_query.where(WeeklyWindow.person_id.in_(ids))
        change_query = change_query.where(AvailabilityChange.person_id.in_(ids))

    windows = defaultdict(list)
    for row in db.session.execute(window_query):
        windows[row.person_id].append(row)
    changes = defaultdict(list)
    for row in db.session.execute(change_query):
        changes[row.person_id].append(row)
    return {
        person_id: expand_availability(zone_name, windows[person_id], changes[person_id], month)
        for person_id, zone_name in db.session.execute(people_query)
    }


# The month calendar ---------------------------------------------------------------------


@dataclass
class CalendarSlot:
    """One line in a calendar day: a window with its modes, or time off."""

    start: time | None
    end: time | None
    kind: str  # "window" or "off"
    in_person: bool = False
    virtual: bool = False
    note: str = ""

    @property
    def times(self) -> str:
        if self.start is None or self.end is None:
            return "All day"
        return f"{_clock(self.start)}–{_clock(self.end)}"

    @property
    def mode(self) -> str:
        if self.kind == "off":
            return "Day off" if self.start is None else "Unavailable"
        if self.in_person and self.virtual:
            return "In person or video"
        return "In person only" if self.in_person else "Video only"

    @property
    def css(self) -> str:
        if self.kind == "off":
            return "slot off"
        return "slot in-person" if self.in_person else "slot"


@dataclass
class CalendarDay:
    day: date
    in_month: bool
    slots: list[CalendarSlot] = field(default_factory=list)
    clock_note: str = ""

    @property
    def is_empty(self) -> bool:
        return not self.slots and not self.clock_note


@dataclass
class MonthCalendar:
    """A month of a person's availability laid out in weeks, Monday first, in their zone."""

    month: Month
    timezone: str
    weeks: list[list[CalendarDay]]
    clock_notes: list[str]
    total_hours: float

    @property
    def days(self) -> list[CalendarDay]:
        return [day for week in self.weeks for day in week if day.in_month]


@cache
def _month_changes_query() -> Select:
    """A person's one-off changes from :first to :last, in order; built once, reused per page."""
    return (
        select(AvailabilityChange)
        .where(
            AvailabilityChange.person_id == bindparam("person_id"),
            AvailabilityChange.day.between(bindparam("first"), bindparam("last")),
        )
        .order_by(AvailabilityChange.day, AvailabilityChange.start_time)
    )


def month_calendar(person: Person, month: Month) -> MonthCalendar:
    """The person's availability for a month as it will be used, shown in their own zone."""
    zone = person.zone
    changes = list(
        db.session.scalars(
            _month_changes_query(),
            {"person_id": person.id, "first": month.first_day, "last": month.days[-1]},
        )
    )
    intervals = expand_availability(zone, person.weekly_windows, changes, month)

    # Show the expanded UTC intervals back in local time, so the page shows what matching
    # will really use (a window starting in a skipped hour shows its true start).
    days = {day: CalendarDay(day, True) for day in month.days}
    for interval in intervals:
        start = interval.start_utc.astimezone(zone)
        end = interval.end_utc.astimezone(zone)
        # A window starting in a skipped hour that spans midnight can land on the next day;
        # if that is outside the month, keep it on the month's last day rather than lose it.
        calendar_day = days.get(start.date()) or days[month.days[-1]]
        calendar_day.slots.append(
            CalendarSlot(start.time(), end.time(), "window", interval.in_person, interval.virtual)
        )
    for change in changes:
        if change.kind is ChangeKind.UNAVAILABLE:
            days[change.day].slots.append(
                CalendarSlot(change.start_time, change.end_time, "off", note=change.note)
            )
    for calendar_day in days.values():
        calendar_day.slots.sort(key=lambda slot: (slot.start is not None, slot.start or time(0)))

    clock_notes = []
    for day, before, after in clock_changes(zone, month):
        direction = "forward" if after > before else "back"
        days[day].clock_note = f"Clocks go {direction} ({_format_offset(after)} from today)"
        clock_notes.append(
            f"Clocks go {direction} on {_long_day(day)}, from {_format_offset(before)} to "
            f"{_format_offset(after)}; your windows keep their local times."
        )

    first = month.first_day
    padded = [CalendarDay(first - timedelta(days=n), False) for n in range(first.weekday(), 0, -1)]
    padded += list(days.values())
    while len(padded) % 7:
        padded.append(CalendarDay(padded[-1].day + timedelta(days=1), False))
    weeks = [padded[i : i + 7] for i in range(0, len(padded), 7)]
    total = sum((i.end_utc - i.start_utc).total_seconds() for i in intervals) / 3600
    return MonthCalendar(month, person.timezone, weeks, clock_notes, round(total, 2))


# Month plans ----------------------------------------------------------------------------

# (lowest, highest) for each number in a month plan; the form shows these as its ranges.
PLAN_LIMITS: dict[str, tuple[int, int]] = {
    "max_hosting_hours": (0, 160),
    "max_apprentices": (0, 50),
    "in_person_seats": (0, 50),
    "virtual_seats": (0, 50),
    "observation_hours": (0, 160),
    "max_masters": (0, 20),
}
MASTER_FIELDS = ("max_hosting_hours", "max_apprentices", "in_person_seats", "virtual_seats")
APPRENTICE_FIELDS = ("observation_hours", "max_masters")


def plan_fields_for(person: Person) -> tuple[str, ...]:
    """The month-plan numbers that concern this person's roles."""
    return (MASTER_FIELDS if person.is_master else ()) + (
        APPRENTICE_FIELDS if person.is_apprentice else ()
    )


@dataclass
class PlanDraft:
    """A month plan's numbers to start the form from, and where they came from."""

    month: Month
    values: dict[str, int]
    source: str  # "saved", "copied" or "defaults"
    copied_from: str | None = None


def _model_defaults() -> dict[str, int]:
    return {name: MonthPlan.__table__.c[name].default.arg for name in PLAN_LIMITS}


def _defaults_for(person: Person) -> dict[str, int]:
    values = _model_defaults()
    if person.is_remote:
        values["in_person_seats"] = 0  # remote people host on video only
    return values


def month_plan_for(person: Person, month: Month) -> PlanDraft:
    """That month's saved plan, else the latest earlier one, else the defaults; saves nothing."""
    # Months are "YYYY-MM", so the latest plan up to this month is that month's, if saved.
    latest = db.session.scalar(
        select(MonthPlan)
        .where(MonthPlan.person_id == person.id, MonthPlan.month <= str(month))
        .order_by(MonthPlan.month.desc())
        .limit(1)
    )
    if latest is not None and latest.month == str(month):
        return PlanDraft(month, {name: getattr(latest, name) for name in PLAN_LIMITS}, "saved")
    earlier = latest
    if earlier is not None:
        values = {name: getattr(earlier, name) for name in PLAN_LIMITS}
        if person.is_remote:
            values["in_person_seats"] = 0  # they may have moved from a site since
        return PlanDraft(month, values, "copied", earlier.month)
    return PlanDraft(month, _defaults_for(person), "defaults")


def save_month_plan(person: Person, month: Month, limits: dict[str, int]) -> MonthPlan:
    """Save the person's plan for a month, all or nothing."""
    # Only the numbers for the person's roles come from `limits`; the others keep their
    # saved (or copied, or default) values, so a form showing half the fields loses nothing.
    problems: dict[str, str] = {}
    if month < Month.containing(_local_today(person)):
        problems["month"] = f"{month.label} has passed; plan this month or a later one."
    relevant = plan_fields_for(person)
    for name in relevant:
        value = limits.get(name)
        low, high = PLAN_LIMITS[name]
        if value is None or not low <= value <= high:
            problems[name] = f"Enter a whole number from {low} to {high}."
    if person.is_remote and "in_person_seats" in relevant and limits.get("in_person_seats"):
        problems["in_person_seats"] = (
            "You work remotely (no site), so you have no seats in the room; set this to 0."
        )
    if problems:
        raise AvailabilityRefusal(problems)

    values = month_plan_for(person, month).values | {name: limits[name] for name in relevant}
    try:
        return _write_plan(person, month, values)
    except IntegrityError:
        # Two saves of a new month at once (a double click): the other insert won the
        # unique (person, month) row, so write over the row it made.
        db.session.rollback()
        log.info("month plan for person %s, %s saved twice at once", person.id, month)
        return _write_plan(person, month, values)


def _write_plan(person: Person, month: Month, values: dict[str, int]) -> MonthPlan:
    plan = db.session.scalar(
        select(MonthPlan).where(MonthPlan.person_id == person.id, MonthPlan.month == str(month))
    )
    if plan is None:
        plan = MonthPlan(person=person, month=str(month))
        db.session.add(plan)
    for name, value in values.items():
        setattr(plan, name, value)
    db.session.commit()
    return plan
