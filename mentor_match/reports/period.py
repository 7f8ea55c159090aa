"""The period a report covers: whole months in the viewer's zone, and the one a person asks for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from ..inputs import FIRST_YEAR, LAST_YEAR, year_in_range

DEFAULT_MONTHS = 12
MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (or before) `month`."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """Whole months from `first` to `last` inclusive, each given by its first day."""

    first: date
    last: date

    @property
    def from_text(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def to_text(self) -> str:
        return f"{self.last:%Y-%m}"

    @property
    def query(self) -> dict[str, str]:
        """The period as the page's query arguments."""
        return {"from": self.from_text, "to": self.to_text}

    @property
    def label(self) -> str:
        if self.first == self.last:
            return f"{self.first:%B %Y}"
        return f"{self.first:%B %Y} to {self.last:%B %Y}"

    @property
    def slug(self) -> str:
        """The period in a file name, e.g. ``2026-01-to-2026-12``."""
        return f"{self.from_text}-to-{self.to_text}"

    def bounds(self, zone: tzinfo) -> tuple[datetime, datetime]:
        """The period's first instant and the instant just after it, in `zone`'s months."""
        after = add_months(self.last, 1)
        return (
            datetime(self.first.year, self.first.month, 1, tzinfo=zone),
            datetime(after.year, after.month, 1, tzinfo=zone),
        )


def last_months(today: date, count: int = DEFAULT_MONTHS) -> Period:
    """The `count` months up to and including today's."""
    this_month = today.replace(day=1)
    return Period(add_months(this_month, 1 - count), this_month)


@dataclass(frozen=True)
class PeriodChoice:
    """The period to report on, and why the one asked for was refused (None if it was not)."""

    period: Period
    problem: str | None = None


def parse_month(text: str) -> date | None:
    """The first day of a "YYYY-MM" month, or None if the text is not one."""
    match = MONTH_PATTERN.fullmatch(text.strip())
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if year < 1 or not 1 <= month <= 12:
        return None
    return date(year, month, 1)


def choose_period(raw_from: str | None, raw_to: str | None, today: date) -> PeriodChoice:
    """The period asked for by ``?from=YYYY-MM&to=YYYY-MM``; the last 12 months by default.

    With only one end given, the period is the 12 months from (or up to) it. A month that
    cannot be read or is outside the years people may use, or a period that ends before it
    starts, falls back to the default with a message saying why.
    """
    default = last_months(today)
    raw_from, raw_to = (raw_from or "").strip(), (raw_to or "").strip()
    if not raw_from and not raw_to:
        return PeriodChoice(default)
    first = parse_month(raw_from) if raw_from else None
    last = parse_month(raw_to) if raw_to else None
    for raw, month in ((raw_from, first), (raw_to, last)):
        if raw and month is None:
            return PeriodChoice(
                default,
                (
                    f"“{raw[:20]}” is not a month: give months as YYYY-MM, such as "
                    f"{today:%Y-%m}. Showing the last {DEFAULT_MONTHS} months instead."
                ),
            )
        if month is not None and not year_in_range(month):
            return PeriodChoice(
                default,
                (
                    f"“{raw[:20]}” is out of range: choose months in the years {FIRST_YEAR} to "
                    f"{LAST_YEAR}. Showing the last {DEFAULT_MONTHS} months instead."
                ),
            )
    if first is None and last is not None:
        first = add_months(last, 1 - DEFAULT_MONTHS)
    if last is None and first is not None:
        last = add_months(first, DEFAULT_MONTHS - 1)
    assert first is not None and last is not None
    if first > last:
        return PeriodChoice(
            default,
            (
                f"The period starts ({first:%Y-%m}) after it ends ({last:%Y-%m}). "
                f"Showing the last {DEFAULT_MONTHS} months instead."
            ),
        )
    return PeriodChoice(Period(first, last))
