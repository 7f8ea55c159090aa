"""Time zones: the choices people pick from, and showing instants in a person's own zone."""
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from wtforms import SelectChoice

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
        SelectChoice(name, name.replace("_", " "), optgroup=name.split("/")[0] if "/" in name else None)
        for name in timezone_names()
    ]


def is_valid_timezone(name: str) -> bool:
    return name in timezone_names() or name in available_timezones()


def in_zone(moment: datetime, zone_name: str) -> datetime:
    """The instant as wall-clock time in the named zone."""
    return moment.astimezone(ZoneInfo(zone_name))
