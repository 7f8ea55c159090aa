"""Turn weekly windows and one-off changes in local time into UTC intervals for a month.

This module imports neither Flask nor SQLAlchemy: it takes plain data (model rows, result
rows or any objects with the same attribute names) so the rounds feature can build the
optimizer's input from bulk queries, and tests can call it with no app.

How clock changes are handled, for a local wall-clock time on a given day:

* A time that exists once maps to its one instant.
* A time that does not exist (the hour skipped when clocks go forward) maps to the instant
  the clocks change, which is the first instant after the gap. A weekly window starting in
  the gap therefore starts when the clocks resume; one ending in the gap ends when they
  jump; one lying wholly inside the gap is dropped for that day. (One-off changes never
  reach this rule: the change form refuses a time that does not exist.)
* A time that happens twice (the hour repeated when clocks go back) uses its first
  occurrence (fold=0), for starts and ends alike.

Windows therefore keep their local wall-clock times across a change of offset, and their
UTC instants move with it.
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

SECONDS_PER_DAY = 24 * 60 * 60
_MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
# Months people can plan for; beyond these the "next month" links would leave the calendar.
FIRST_YEAR, LAST_YEAR = 2000, 2099


class WindowLike(Protocol):
    """A weekly window: WeeklyWindow rows, result rows or any object with these attributes."""

    weekday: int
    start_time: time
    end_time: time
    in_person: bool
    virtual: bool


class ChangeLike(Protocol):
    """A one-off change: AvailabilityChange rows or any object with these attributes."""

    day: date
    kind: str  # "unavailable" or "extra" (ChangeKind is a str enum, so either works)
    start_time: time | None
    end_time: time | None
    in_person: bool
    virtual: bool


class Interval(NamedTuple):
    """A stretch of time someone is available, in UTC, with the modes they offer in it."""

    start_utc: datetime
    end_utc: datetime
    in_person: bool
    virtual: bool


class MonthError(ValueError):
    """A month written in a way we cannot read; the message says how to write it."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month, written "YYYY-MM" in URLs and in MonthPlan.month."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """The month written as "YYYY-MM", or MonthError saying what is wrong."""
        match = _MONTH_PATTERN.fullmatch(text.strip())
        if not match:
            raise MonthError(f"“{text}” is not a month: write it as YYYY-MM, for example 2026-11.")
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise MonthError(f"“{text}” is not a month: the month number must be 01 to 12.")
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise MonthError(
                f"“{text}” is out of range: choose a year from {FIRST_YEAR} to {LAST_YEAR}."
            )
        return cls(year, month)

    @classmethod
    def containing(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        return f"{calendar.month_name[self.month]} {self.year}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def days(self) -> list[date]:
        count = calendar.monthrange(self.year, self.month)[1]
        return [date(self.year, self.month, n) for n in range(1, count + 1)]

    @property
    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    @property
    def has_next(self) -> bool:
        return self.year < LAST_YEAR or self.month < 12

    @property
    def has_previous(self) -> bool:
        return self.year > FIRST_YEAR or self.month > 1


def as_zone(zone: str | ZoneInfo) -> ZoneInfo:
    return zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)


def local_time_kind(day: date, at: time, zone: ZoneInfo) -> str:
    """Whether a wall-clock time on a day exists once ("single"), never ("missing") or twice
    ("repeated")."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        return "missing"
    if first.utcoffset() != naive.replace(tzinfo=zone, fold=1).utcoffset():
        return "repeated"
    return "single"


def clock_change_in_gap(day: date, at: time, zone: ZoneInfo) -> tuple[datetime, datetime, datetime]:
    """For a missing local time: the UTC instant the clocks jump, and the local times they jump
    from and to."""
    naive = datetime.combine(day, at)
    # For a time in a gap, fold=0 reads it with the offset from before the jump (an instant
    # after the jump) and fold=1 with the offset after it (an instant before the jump).
    after = naive.replace(tzinfo=zone).astimezone(UTC)
    before = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    offset_after = after.astimezone(zone).utcoffset()
    # zoneinfo does not expose its transition table, so find the jump by bisection over
    # whole seconds: at most about 17 steps even for a day-long gap, and gaps are rare.
    low, high = before, after
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) // 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    jump = high
    jumps_to = jump.astimezone(zone).replace(tzinfo=None)
    jumps_from = jumps_to - (offset_after - before.astimezone(zone).utcoffset())
    return jump, jumps_from, jumps_to


def to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local day, by the rules in this module's
    docstring."""
    naive = datetime.combine(day, at)
    instant = naive.replace(tzinfo=zone).astimezone(UTC)  # fold=0: the first of a repeated time
    if instant.astimezone(zone).replace(tzinfo=None) == naive:
        return instant
    return clock_change_in_gap(day, at, zone)[0]


# A window within one local day, as seconds after local midnight: (start, end, in_person, virtual).
_Span = tuple[int, int, bool, bool]


def _seconds(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


def _time_of(seconds: int) -> time:
    return time(seconds // 3600, seconds // 60 % 60, seconds % 60)


def _union(spans: list[_Span]) -> list[_Span]:
    """Non-overlapping spans covering the same time, each offering every mode of the spans
    under it."""
    if len(spans) <= 1:
        return spans
    edges = sorted({edge for span in spans for edge in span[:2]})
    merged: list[_Span] = []
    for start, end in pairwise(edges):
        covering = [span for span in spans if span[0] <= start and span[1] >= end]
        if not covering:
            continue
        in_person = any(span[2] for span in covering)
        virtual = any(span[3] for span in covering)
        last = merged[-1] if merged else None
        if last and last[1] == start and last[2:] == (in_person, virtual):
            merged[-1] = (last[0], end, in_person, virtual)
        else:
            merged.append((start, end, in_person, virtual))
    return merged


def _subtract(spans: list[_Span], cuts: list[tuple[int, int]]) -> list[_Span]:
    """The spans with the cut ranges taken out."""
    for cut_start, cut_end in cuts:
        kept: list[_Span] = []
        for start, end, in_person, virtual in spans:
            if cut_end <= start or cut_start >= end:
                kept.append((start, end, in_person, virtual))
                continue
            if start < cut_start:
                kept.append((start, cut_start, in_person, virtual))
            if cut_end < end:
                kept.append((cut_end, end, in_person, virtual))
        spans = kept
    return spans


def local_day_spans(
    weekly: list[_Span], changes: Iterable[ChangeLike]
) -> list[tuple[time, time, bool, bool]]:
    """A day's windows in local time: weekly windows plus extras, minus time off."""
    # Time off is taken out last, so it wins over an extra window the same day: nobody is
    # ever matched into time they said they are away.
    spans = list(weekly)
    cuts: list[tuple[int, int]] = []
    has_extra = False
    for change in changes:
        if change.kind == "extra":
            if change.start_time is not None and change.end_time is not None:
                spans.append(
                    (
                        _seconds(change.start_time),
                        _seconds(change.end_time),
                        change.in_person,
                        change.virtual,
                    )
                )
                has_extra = True
        elif change.start_time is None or change.end_time is None:
            return []  # a whole day off
        else:
            cuts.append((_seconds(change.start_time), _seconds(change.end_time)))
    if has_extra:
        spans = _union(spans)
    if cuts:
        spans = _subtract(spans, cuts)
    return [
        (_time_of(start), _time_of(end), in_person, virtual)
        for start, end, in_person, virtual in spans
    ]


def expand_availability(
    person_timezone: str | ZoneInfo,
    weekly_windows: Iterable[WindowLike],
    changes: Iterable[ChangeLike],
    month: str | Month,
) -> list[Interval]:
    """Every interval a person is available in a month, in UTC, sorted and non-overlapping."""
    # Days are the person's local days, so changes (kept by local day) outside the month are
    # ignored. Overlapping windows merge, offering the modes of both, so the optimizer never
    # sees the same minute twice.
    zone = as_zone(person_timezone)
    month = month if isinstance(month, Month) else Month.parse(month)
    by_weekday: dict[int, list[_Span]] = defaultdict(list)
    for window in weekly_windows:
        by_weekday[window.weekday].append(
            (
                _seconds(window.start_time),
                _seconds(window.end_time),
                window.in_person,
                window.virtual,
            )
        )
    # Merge once per weekday rather than once per day: most days have no one-off change.
    weekly = {weekday: _union(sorted(spans)) for weekday, spans in by_weekday.items()}
    first, last = month.first_day, month.days[-1]
    changes_by_day: dict[date, list[ChangeLike]] = defaultdict(list)
    for change in changes:
        if first <= change.day <= last:
            changes_by_day[change.day].append(change)

    intervals: list[Interval] = []
    for day in month.days:
        spans_today = weekly.get(day.weekday(), [])
        todays_changes = changes_by_day.get(day)
        if todays_changes:
            local = local_day_spans(spans_today, todays_changes)
        elif spans_today:
            local = [(_time_of(s), _time_of(e), p, v) for s, e, p, v in spans_today]
        else:
            continue
        for start, end, in_person, virtual in local:
            start_utc, end_utc = to_utc(day, start, zone), to_utc(day, end, zone)
            if end_utc > start_utc:  # a window wholly inside a skipped hour has no length
                intervals.append(Interval(start_utc, end_utc, in_person, virtual))
    return intervals


def cut_out(intervals: list[Interval], busy: Iterable[tuple[datetime, datetime]]) -> list[Interval]:
    """Availability with the busy times (booked sessions, a person's own calendar) cut out."""
    result = list(intervals)
    for busy_start, busy_end in busy:
        cut = []
        for interval in result:
            if interval.end_utc <= busy_start or interval.start_utc >= busy_end:
                cut.append(interval)
                continue
            if interval.start_utc < busy_start:
                cut.append(interval._replace(end_utc=busy_start))
            if interval.end_utc > busy_end:
                cut.append(interval._replace(start_utc=busy_end))
        result = cut
    return result


def clock_changes(zone: ZoneInfo, month: Month) -> list[tuple[date, timedelta, timedelta]]:
    """Days in the month on which the zone's offset changes: (day, offset before, offset after)."""

    # Compare offsets at the end of each local day, so a change at midnight (as some zones
    # make) is reported on the day it starts rather than the day before.
    def offset_at_end(day: date) -> timedelta:
        return datetime.combine(day, time(23, 59, 59), zone).utcoffset()

    found = []
    previous = offset_at_end(month.first_day - timedelta(days=1))
    for day in month.days:
        offset = offset_at_end(day)
        if offset != previous:
            found.append((day, previous, offset))
            previous = offset
    return found
