"""What a calendar feed says about when its owner is busy: pure parsing, no app, no database."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mentor_match.busy import parsing
from mentor_match.busy.parsing import FeedError, busy_times

pytestmark = pytest.mark.database_independent

LONDON = ZoneInfo("Europe/London")
JANUARY = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC))


def _feed(*events: str) -> bytes:
    body = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//EN"]
    for number, event in enumerate(events):
        body += ["BEGIN:VEVENT", f"UID:{number}@tests", "DTSTAMP:20261201T000000Z"]
        body += [line.strip() for line in event.strip().splitlines()]
        body.append("END:VEVENT")
    body.append("END:VCALENDAR")
    return ("\r\n".join(body) + "\r\n").encode()


def _spans(feed: bytes, zone: ZoneInfo = LONDON, window=JANUARY) -> list[tuple[str, str]]:
    found = busy_times(feed, zone=zone, start=window[0], end=window[1])
    return [(a.strftime("%d %H:%M"), b.strftime("%d %H:%M")) for a, b in found.spans]


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 1, day, hour, minute, tzinfo=UTC)


def test_a_weekly_meeting_with_an_exception_and_a_moved_occurrence():
    feed = _feed(
        """
        DTSTART;TZID=Europe/London:20270105T100000
        DTEND;TZID=Europe/London:20270105T110000
        RRULE:FREQ=WEEKLY;COUNT=4
        EXDATE;TZID=Europe/London:20270112T100000
        """,
        """
        RECURRENCE-ID;TZID=Europe/London:20270119T100000
        DTSTART;TZID=Europe/London:20270119T150000
        DTEND;TZID=Europe/London:20270119T160000
        """,
    )
    # A moved occurrence carries the UID of its series.
    feed = feed.replace(b"UID:1@tests", b"UID:0@tests")
    assert _spans(feed) == [
        ("05 10:00", "05 11:00"),
        ("19 15:00", "19 16:00"),
        ("26 10:00", "26 11:00"),
    ]


def test_free_and_cancelled_events_are_not_busy():
    feed = _feed(
        "DTSTART:20270104T090000Z\nDTEND:20270104T100000Z\nTRANSP:TRANSPARENT",
        "DTSTART:20270104T110000Z\nDTEND:20270104T120000Z\nSTATUS:CANCELLED",
        "DTSTART:20270104T130000Z\nDTEND:20270104T140000Z\nX-MICROSOFT-CDO-BUSYSTATUS:FREE",
        "DTSTART:20270104T150000Z\nDTEND:20270104T160000Z\nTRANSP:OPAQUE",
    )
    found = busy_times(feed, zone=LONDON, start=JANUARY[0], end=JANUARY[1])
    assert found.spans == ((_at(4, 15), _at(4, 16)),)
    assert found.event_count == 1


def test_the_sites_own_sessions_copied_into_a_calendar_are_not_busy():
    feed = _feed(
        "DTSTART:20270104T090000Z\nDTEND:20270104T100000Z",
        "DTSTART:20270104T110000Z\nDTEND:20270104T120000Z",
    ).replace(b"UID:1@tests", b"UID:session-42@mentor-match")
    assert _spans(feed) == [("04 09:00", "04 10:00")]


def test_an_all_day_event_is_busy_for_the_whole_day_where_the_person_is():
    feed = _feed("DTSTART;VALUE=DATE:20270111\nDTEND;VALUE=DATE:20270113")
    assert _spans(feed) == [("11 00:00", "13 00:00")]
    # In New York the same days start five hours later in UTC.
    assert _spans(feed, ZoneInfo("America/New_York")) == [("11 05:00", "13 05:00")]


def test_floating_times_are_read_in_the_persons_zone():
    feed = _feed("DTSTART:20270105T090000\nDTEND:20270105T100000")
    assert _spans(feed, ZoneInfo("Asia/Kolkata")) == [("05 03:30", "05 04:30")]


def test_overlapping_events_merge_and_the_window_clips():
    feed = _feed(
        "DTSTART:20270105T090000Z\nDTEND:20270105T110000Z",
        "DTSTART:20270105T100000Z\nDURATION:PT2H",
        "DTSTART:20261231T220000Z\nDTEND:20270101T020000Z",
    )
    found = busy_times(feed, zone=LONDON, start=JANUARY[0], end=JANUARY[1])
    assert found.spans == ((_at(1, 0), _at(1, 2)), (_at(5, 9), _at(5, 12)))
    assert found.hours == 5


def test_a_page_that_is_not_a_calendar_is_named():
    with pytest.raises(FeedError) as refused:
        busy_times(b"<!doctype html><p>Log in</p>", zone=LONDON, start=JANUARY[0], end=JANUARY[1])
    assert str(refused.value) == (
        "The address did not give a calendar (an iCalendar file starts with BEGIN:VCALENDAR). "
        "Copy the calendar's private address in iCal format, not the address of its web page."
    )


def test_a_generated_calendar_with_too_many_events_is_refused(monkeypatch):
    """A rule repeating every minute is cut off at the cap, not expanded for the window."""
    monkeypatch.setattr(parsing, "MAX_OCCURRENCES", 50)
    feed = _feed("DTSTART:20270101T000000Z\nDTEND:20270101T000100Z\nRRULE:FREQ=MINUTELY")
    with pytest.raises(FeedError) as refused:
        busy_times(feed, zone=LONDON, start=JANUARY[0], end=JANUARY[1])
    assert str(refused.value) == (
        "The calendar has more than 50 events in the coming months; this site "
        "reads calendars kept by a person, not generated ones."
    )
