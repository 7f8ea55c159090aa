"""Time zones: the choices people pick from, showing instants in a person's own zone, and
the slot grid (60, 30 or 15 minutes) on which the zones of a group of people keep their
local hours and half hours."""

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, available_timezones

from wtforms import SelectChoice

from .availability.expansion import Month

# Legacy aliases that clutter a picker; every real place is still reachable by Area/City.
# Used only where no zone.tab is found (see _zone_table).
_SKIPPED_PREFIXES = ("Etc/", "SystemV/", "US/", "Canada/", "Brazil/", "Chile/", "Mexico/")
# Names tzdata links to its one UTC zone; people see it as "UTC".
_UTC_ZONE = "Etc/UTC"


def _tzdata_folders() -> list[Path]:
    """Where zone data lives: the system's folders first (as ZoneInfo reads them), then the
    tzdata package (a dependency, so always there)."""
    return [
        *(Path(folder) for folder in TZPATH),
        Path(str(resources.files("tzdata").joinpath("zoneinfo"))),
    ]


@cache
def _zone_table() -> frozenset[str]:
    """The zones tzdata lists in zone.tab: one name per place, the current spelling
    (Asia/Kolkata, Europe/Kyiv), none of the legacy links."""
    names: set[str] = set()
    for folder in _tzdata_folders():
        try:
            lines = (folder / "zone.tab").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            columns = line.split("\t")
            if not line.startswith("#") and len(columns) >= 3:
                names.add(columns[2].strip())
    return frozenset(names)


@cache
def _links() -> dict[str, str]:
    """Each legacy name (a tzdata Link, as in its "backward" file) and the zone it stands for,
    from the compiled-in tzdata.zi; the system's data wins where both name a link."""
    links: dict[str, str] = {}
    for folder in _tzdata_folders():
        try:
            lines = (folder / "tzdata.zi").read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "L":
                links.setdefault(parts[2], parts[1])
    return links


def canonical_zone(name: str) -> str:
    """The current name of a zone: Asia/Kolkata for Asia/Calcutta, UTC for Etc/UTC.

    Browsers still report some legacy names (Chrome says Asia/Calcutta); they are accepted and
    stored under the name the picker shows. A name tzdata does not link anywhere comes back as
    it is.
    """
    table, links, seen, zone = _zone_table(), _links(), set(), name
    while zone not in table and zone in links and zone not in seen:
        seen.add(zone)
        zone = links[zone]
    if zone == _UTC_ZONE or zone == "UTC":
        return "UTC"
    return zone if zone in table else name


@cache
def timezone_names() -> tuple[str, ...]:
    """IANA zone names a person can choose, one per place in its current spelling, sorted,
    plus UTC."""
    table = _zone_table() & available_timezones()
    if not table:  # no zone.tab anywhere: offer every Area/City name but the legacy areas
        table = {
            name
            for name in available_timezones()
            if "/" in name and not name.startswith(_SKIPPED_PREFIXES)
        }
    return ("UTC", *sorted(table - {"UTC"}))


@cache
def legacy_names() -> dict[str, tuple[str, ...]]:
    """For each name the picker shows, the legacy names that stand for it (for the page's
    script, which reads the browser's zone and may be given an old name)."""
    shown = set(timezone_names())
    aliases: dict[str, list[str]] = {}
    for name in sorted(available_timezones() | set(_links())):
        canonical = canonical_zone(name)
        if canonical != name and canonical in shown:
            aliases.setdefault(canonical, []).append(name)
    return {zone: tuple(names) for zone, names in aliases.items()}


def timezone_choices() -> list[SelectChoice]:
    """Choices for a select field, grouped by continent; each option names the legacy
    names it stands for (data-aliases), so the page's script can pick it for them."""
    aliases = legacy_names()
    return [
        SelectChoice(
            name,
            name.replace("_", " "),
            render_kw={"data-aliases": " ".join(aliases[name])} if name in aliases else {},
            optgroup=name.split("/")[0] if "/" in name else None,
        )
        for name in timezone_names()
    ]


def is_valid_timezone(name: str) -> bool:
    """A zone this machine can load, under its current or a legacy name."""
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
