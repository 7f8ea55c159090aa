"""How availability's pages and refusals write clock times, days and UTC offsets."""

from __future__ import annotations

from datetime import date, time, timedelta


def clock(at: time) -> str:
    """A wall-clock time as 09:30."""
    return at.strftime("%H:%M")


def long_day(day: date) -> str:
    """A day as 3 Nov 2026."""
    return f"{day.day} {day:%b %Y}"


def utc_offset(offset: timedelta) -> str:
    """An offset from UTC as UTC+05:30 or UTC-03:00."""
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
