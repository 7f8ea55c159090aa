"""From an iCalendar feed to the times its owner is busy: pure code, no Flask, no database.

recurring-ical-events (with icalendar) expands every recurring event over the window, with its
exceptions (EXDATE, moved or cancelled occurrences). What counts as busy:

* an event is busy unless it says it is not: TRANSP:TRANSPARENT ("show as free"), STATUS:
  CANCELLED, or Outlook's X-MICROSOFT-CDO-BUSYSTATUS:FREE;
* an all-day event (dates, not times) is busy for the whole of those days where the person
  is, in their time zone (leave, a conference); calendars mark holidays and birthdays that
  do not keep anyone away as free (TRANSPARENT), and those are left out by the rule above;
* a time with no zone ("floating") is read in the person's zone;
* the site's own sessions (UID session-N@mentor-match, from its .ics files and feeds) are
  left out: a person who copied them into their calendar is not kept from their own session,
  and the site already knows when they have one.

Only the times come out: no title, place or attendee.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import recurring_ical_events
from icalendar import Calendar

# More occurrences than this in the window is not a calendar a person keeps by hand.
MAX_OCCURRENCES = 5000

Span = tuple[datetime, datetime]
# The UID the site gives its sessions (mentor_match/calendars/services.py).
_OWN_SESSION_UID = re.compile(r"session-\d+@mentor-match")


class FeedError(ValueError):
    """The feed is not a calendar this site can read; the message says so for a person."""


@dataclass(frozen=True)
class BusyTimes:
    """What a feed says about one window: merged busy spans in UTC, and how many events."""

    spans: tuple[Span, ...]
    event_count: int

    @property
    def hours(self) -> float:
        return sum((end - start).total_seconds() for start, end in self.spans) / 3600


def busy_times(feed: bytes, *, zone: ZoneInfo, start: datetime, end: datetime) -> BusyTimes:
    """The busy spans a feed gives between `start` and `end` (UTC), clipped to them."""
    calendar = _calendar(feed)
    spans: list[Span] = []
    seen = 0
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        # after() yields occurrences in order of start, lazily: a rule that repeats every
        # second is cut off at the cap instead of being expanded for three months.
        for event in query.after(start):
            span = _span(event, zone)
            if span is not None and span[0] >= end:
                break
            seen += 1
            if seen > MAX_OCCURRENCES:
                raise FeedError(
                    f"The calendar has more than {MAX_OCCURRENCES} events in the coming months; "
                    "this site reads calendars kept by a person, not generated ones."
                )
            if span is None or not _is_busy(event):
                continue
            clipped = (max(span[0], start), min(span[1], end))
            if clipped[1] > clipped[0]:
                spans.append(clipped)
    except FeedError:
        raise
    except (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar) as error:
        raise FeedError(
            "The calendar could not be read: one of its events is not valid iCalendar "
            f"({_short(error)})."
        ) from error
    return BusyTimes(tuple(merged(spans)), len(spans))


def merged(spans: list[Span]) -> list[Span]:
    """The spans sorted, overlapping and touching ones joined."""
    result: list[Span] = []
    for start, end in sorted(spans):
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def _calendar(feed: bytes) -> Calendar:
    text = feed.decode("utf-8", errors="replace").lstrip("\ufeff \r\n\t")
    if not text[:15].upper().startswith("BEGIN:VCALENDAR"):
        raise FeedError(
            "The address did not give a calendar (an iCalendar file starts with "
            "BEGIN:VCALENDAR). Copy the calendar's private address in iCal format, not the "
            "address of its web page."
        )
    try:
        return Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as error:
        raise FeedError(
            f"The calendar could not be read: it is not valid iCalendar ({_short(error)})."
        ) from error


def _is_busy(event) -> bool:
    if _OWN_SESSION_UID.fullmatch(str(event.get("UID", ""))):
        return False
    if str(event.get("STATUS", "")).upper() == "CANCELLED":
        return False
    if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
        return False
    return str(event.get("X-MICROSOFT-CDO-BUSYSTATUS", "")).upper() != "FREE"


def _span(event, zone: ZoneInfo) -> Span | None:
    """The event's occurrence in UTC, or None for one without a start."""
    if event.get("DTSTART") is None:
        return None
    begins = event["DTSTART"].dt
    if event.get("DTEND") is not None:
        ends = event["DTEND"].dt
    elif event.get("DURATION") is not None:
        ends = begins + event["DURATION"].dt
    elif isinstance(begins, datetime):
        ends = begins  # RFC 5545: a timed event with neither ends where it starts
    else:
        ends = begins + timedelta(days=1)  # an all-day event with neither is one day
    start_utc, end_utc = _instant(begins, zone), _instant(ends, zone)
    return (start_utc, end_utc) if end_utc > start_utc else None


def _instant(moment: date | datetime, zone: ZoneInfo) -> datetime:
    if not isinstance(moment, datetime):  # a day: from its midnight where the person is
        moment = datetime.combine(moment, time(0))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def _short(error: BaseException) -> str:
    return str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
