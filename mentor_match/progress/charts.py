"""The bar charts on progress pages: hours by month over the last year, and by micro skill."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from ..tracking.hours import skill_names

MONTHS_SHOWN = 12
NO_SKILL_LABEL = "No micro skill named"


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: what it stands for, its short axis label, and its hours."""

    label: str
    short: str
    hours: float
    note: str = ""  # a second axis line: the year (’26) under January and the first month


def recent_months(zone: ZoneInfo, now: datetime | None = None) -> list[date]:
    """The first days of the last MONTHS_SHOWN months, oldest first, ending with this one."""
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    index = today.year * 12 + today.month - 1
    return [date(i // 12, i % 12 + 1, 1) for i in range(index - MONTHS_SHOWN + 1, index + 1)]


def month_bars(hours: dict[str, float], zone: ZoneInfo, now: datetime | None = None) -> list[Bar]:
    """Hours by "YYYY-MM" as a bar per month of the last year (zero where none)."""
    months = recent_months(zone, now)
    return [
        Bar(
            label=month.strftime("%B %Y"),
            short=month.strftime("%b"),
            hours=hours.get(month.strftime("%Y-%m"), 0.0),
            note=month.strftime("’%y") if month.month == 1 or index == 0 else "",
        )
        for index, month in enumerate(months)
    ]


def skill_bars(hours: dict[int | None, float]) -> list[Bar]:
    """Hours by micro skill as bars, most hours first."""
    names = skill_names(hours)
    bars = [
        Bar(
            label=names.get(skill_id, NO_SKILL_LABEL) if skill_id else NO_SKILL_LABEL,
            short="",
            hours=total,
        )
        for skill_id, total in hours.items()
    ]
    return sorted(bars, key=lambda bar: (-bar.hours, bar.label))
