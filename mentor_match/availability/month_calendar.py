"""The month calendar: a person's availability for a month as matching will use it, laid out
in weeks in their own zone, with the days the clocks change and the hours their own calendar
says they are busy (shown to them alone: this page is only ever the signed-in person's)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from sqlalchemy import Select, bindparam, select

from ..busy.services import busy_by_person
from ..extensions import db
from ..models import AvailabilityChange, ChangeKind, Person
from .expansion import Month, clock_changes, cut_out, expand_availability
from .wording import clock, long_day, utc_offset


@dataclass
class CalendarSlot:
    """One line in a calendar day: a window with its modes, or time off."""

    start: time | None
    end: time | None
    kind: str  # "window", "off" or "busy" (the person's own calendar)
    in_person: bool = False
    virtual: bool = False
    note: str = ""

    @property
    def times(self) -> str:
        if self.start is None or self.end is None or self.start == self.end == time(0):
            return "All day"
        # A busy stretch that runs to midnight ends at 24:00 of its day, not 00:00.
        return f"{clock(self.start)}–{'24:00' if self.end == time(0) else clock(self.end)}"

    @property
    def mode(self) -> str:
        if self.kind == "off":
            return "Day off" if self.start is None else "Unavailable"
        if self.kind == "busy":
            return "Busy in your calendar"
        if self.in_person and self.virtual:
            return "In person or video"
        return "In person only" if self.in_person else "Video only"

    @property
    def css(self) -> str:
        if self.kind in ("off", "busy"):
            return f"slot {self.kind}"
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
    first_utc = datetime.combine(month.first_day, time(0), zone).astimezone(UTC)
    end_utc = datetime.combine(month.days[-1] + timedelta(days=1), time(0), zone).astimezone(UTC)
    busy = busy_by_person([person.id], first_utc, end_utc).get(person.id, [])
    intervals = cut_out(expand_availability(zone, person.weekly_windows, changes, month), busy)

    # Show the expanded UTC intervals back in local time, so the page shows what matching
    # will really use (a window starting in a skipped hour shows its true start).
    days = {day: CalendarDay(day, in_month=True) for day in month.days}
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
    for start_utc, stop_utc in busy:
        for day, start, end in _local_days(max(start_utc, first_utc), min(stop_utc, end_utc), zone):
            if day in days:
                days[day].slots.append(CalendarSlot(start, end, "busy"))
    for calendar_day in days.values():
        calendar_day.slots.sort(key=lambda slot: (slot.start is not None, slot.start or time(0)))

    clock_notes = []
    for day, before, after in clock_changes(zone, month):
        direction = "forward" if after > before else "back"
        days[day].clock_note = f"Clocks go {direction} ({utc_offset(after)} from today)"
        clock_notes.append(
            f"Clocks go {direction} on {long_day(day)}, from {utc_offset(before)} to "
            f"{utc_offset(after)}; your windows keep their local times."
        )

    first = month.first_day
    padded = [
        CalendarDay(first - timedelta(days=n), in_month=False)
        for n in range(first.weekday(), 0, -1)
    ]
    padded += list(days.values())
    while len(padded) % 7:
        padded.append(CalendarDay(padded[-1].day + timedelta(days=1), in_month=False))
    weeks = [padded[i : i + 7] for i in range(0, len(padded), 7)]
    total = sum((i.end_utc - i.start_utc).total_seconds() for i in intervals) / 3600
    return MonthCalendar(month, person.timezone, weeks, clock_notes, round(total, 2))


def _local_days(start: datetime, end: datetime, zone) -> list[tuple[date, time, time]]:
    """A UTC span as the local days it touches: (day, from, to), a whole day as 00:00-00:00."""
    pieces = []
    local, stop = start.astimezone(zone), end.astimezone(zone)
    while local < stop:
        next_midnight = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
        piece_end = min(stop, next_midnight)
        pieces.append((local.date(), local.time(), piece_end.time()))
        local = piece_end
    return pieces
