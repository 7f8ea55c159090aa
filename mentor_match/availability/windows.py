"""What a person enters: weekly windows and one-off changes, each refused with a message for
every field at fault, and notes on how clock changes apply to the times given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select

from ..errors import Refusal
from ..extensions import db
from ..models import AvailabilityChange, ChangeKind, Person, WeeklyWindow
from .expansion import clock_change_in_gap, local_time_kind
from .services import local_today
from .wording import clock, long_day, utc_offset

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

REMOTE_VIDEO_ONLY = (
    "You work remotely (no site), so you can only offer video. "
    "Choose “Video only”, or set your site on your profile."
)


# Weekly windows -------------------------------------------------------------------------


def add_weekly_window(
    person: Person, *, weekday: int, start: time, end: time, in_person: bool, virtual: bool
) -> WeeklyWindow:
    """Save a new weekly window, or refuse it with a message for each field at fault."""
    # Overlaps are refused rather than merged: the person sees their windows as entered, and
    # can decide which of two clashing windows they meant.
    problems: dict[str, str] = {}
    if end <= start:
        problems["end"] = f"The window must end after it starts ({clock(start)})."
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
                f"{clock(clash.start_time)}–{clock(clash.end_time)}. "
                "Choose times that do not overlap, or delete that window first."
            )
    if problems:
        raise Refusal(problems=problems)
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


def _delete_own(
    person: Person, model: type[WeeklyWindow | AvailabilityChange], row_id: int
) -> bool:
    """Delete one of the person's own rows of `model`; False if they have none with that id."""
    row = db.session.scalar(select(model).where(model.id == row_id, model.person_id == person.id))
    if row is None:
        return False
    db.session.delete(row)
    db.session.commit()
    return True


def delete_weekly_window(person: Person, window_id: int) -> bool:
    """Delete one of the person's own weekly windows; False if they have none with that id."""
    return _delete_own(person, WeeklyWindow, window_id)


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
            f"{clock(at)} does not exist on {long_day(day)} in {person.timezone}: "
            f"clocks go forward from {clock(jumps_from.time())} to {clock(jumps_to.time())}. "
            "Choose a time outside that gap."
        )
        return problem, None
    if kind == "repeated":
        first = datetime.combine(day, at, zone)
        note = (
            f"{clock(at)} happens twice on {long_day(day)} in {person.timezone} because "
            f"clocks go back; the first one ({first:%H:%M %Z}, "
            f"{utc_offset(first.utcoffset())}) is used."
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
    if day < local_today(person):
        problems["day"] = f"{long_day(day)} has passed; choose today or a later day."
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
        problems["end"] = f"The change must end after it starts ({clock(start)})."
    for name, at in (("start", start), ("end", end)):
        if at is None or name in problems or "day" in problems:
            continue
        problem, clock_note = _check_local_time(day, at, person)
        if problem:
            problems[name] = problem
        elif clock_note:
            notes.append(clock_note)
    if problems:
        raise Refusal(problems=problems)
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
                AvailabilityChange.day >= local_today(person),
            )
            .order_by(AvailabilityChange.day, AvailabilityChange.start_time)
        )
    )


def delete_change(person: Person, change_id: int) -> bool:
    """Delete one of the person's own one-off changes; False if they have none with that id."""
    return _delete_own(person, AvailabilityChange, change_id)
