"""Calendars to serve in tests: a weekly recurring meeting in iCalendar, built for a month."""

from datetime import date, time

from mentor_match.availability.expansion import Month


def first_weekday(month: str, weekday: int) -> date:
    return next(day for day in Month.parse(month).days if day.weekday() == weekday)


def weekly_meeting(
    month: str,
    *,
    weekday: int,
    start: time,
    end: time,
    zone: str = "Europe/London",
    extra: str = "",
) -> bytes:
    """A calendar with one meeting every week (no end) from the month's first such weekday,
    with the event lines in `extra` added before its end."""
    day = first_weekday(month, weekday).strftime("%Y%m%d")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Mentor Match tests//EN",
        "BEGIN:VEVENT",
        f"UID:weekly-{weekday}@tests",
        "DTSTAMP:20261101T000000Z",
        f"DTSTART;TZID={zone}:{day}T{start.strftime('%H%M%S')}",
        f"DTEND;TZID={zone}:{day}T{end.strftime('%H%M%S')}",
        "RRULE:FREQ=WEEKLY",
        "SUMMARY:Secret project sync",
        "END:VEVENT",
        *[line for line in extra.splitlines() if line.strip()],
        "END:VCALENDAR",
    ]
    return ("\r\n".join(lines) + "\r\n").encode()
