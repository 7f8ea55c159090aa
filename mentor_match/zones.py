"""Time zones: the choices people pick from, showing instants in a person's own zone, and
the slot grid (60, 30 or 15 minutes) on which the zones of a group of people keep their
local hours and half hours."""

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from wtforms import SelectChoice

from .availability.expansion import Month

# Legacy aliases that clutter a picker; every real place is still reachable by Area/City.
_SKIPPED_PREFIXES = ("Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Chile/", "Mexico/")


@cache
def timezone_names() -> tuple[str, ...]:
    """IANA zone names a person can choose, Area/City style, sorted, plus UTC."""
    names = {
        name
        for name in available_timezones()
        if "/" in name and not name.startswith(_SKIPPED_PREFIXES) and name != "posixrules"
    }
    return ("UTC", *sorted(names))


def timezone_choices() -> list[SelectChoice]:
    """Choices for a select field, grouped by continent."""
    return [
        SelectChoice(
            name, name.replace("_", " "), optgroup=name.split("/")[0] if "/" in name else None
        )
        for name in timezone_names()
    ]


def is_valid_timezone(name: str) -> bool:
    return name in timezone_names() or name in available_timezones()


def in_zone(moment: datetime, zone_name: str) -> datetime:
    """The instant as wall-clock time in the named zone."""
    return moment.astimezone(ZoneInfo(zone_name))


# Slot sizes a round or a booking is cut into, coarsest first. Every one divides a day and
# an hour, and slots count from the Unix epoch, so a grid's boundaries are the UTC instants
# at :00 (and :30, :15 and :45) of every hour.
SLOT_GRIDS = (60, 30, 15)


def zone_or_utc(name: str) -> ZoneInfo:
    """The named zone, or UTC for a name this machine does not know."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


@cache
def _offset_minutes(zone_name: str, start: datetime, end: datetime) -> frozenset[int]:
    """Every UTC offset (in minutes) the zone has at some time from start to end.

    Sampled every hour and at the end: no zone keeps an offset for less than an hour.
    """
    zone = zone_or_utc(zone_name)
    offsets, at = set(), start
    while at < end:
        offsets.add(int(at.astimezone(zone).utcoffset().total_seconds()) // 60)
        at += timedelta(hours=1)
    offsets.add(int(end.astimezone(zone).utcoffset().total_seconds()) // 60)
    return frozenset(offsets)


def grid_minutes(zone_names: Iterable[str], start: datetime, end: datetime) -> int:
    """The coarsest slot size on which every local hour of these zones falls, from start to end.

    60 when every offset the zones have then is whole hours (clock changes included), 30
    when one is a half hour (India, Iran, Newfoundland, central Australia), 15 when one is a
    quarter hour (Nepal, Chatham). An offset on none of the grids (an old local mean time)
    gets the finest.
    """
    offsets = {offset for name in set(zone_names) for offset in _offset_minutes(name, start, end)}
    for grid in SLOT_GRIDS:
        if all(offset % grid == 0 for offset in offsets):
            return grid
    return SLOT_GRIDS[-1]


def month_grid_minutes(zone_names: Iterable[str], month: Month) -> int:
    """The grid for a month, from a day before its first to a day after its last (UTC), so
    every zone's view of the month's days is covered."""
    start = datetime.combine(month.first_day, time(0), UTC) - timedelta(days=1)
    end = datetime.combine(month.next.first_day, time(0), UTC) + timedelta(days=1)
    return grid_minutes(zone_names, start, end)
