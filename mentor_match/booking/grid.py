"""The booking grid: the start times and lengths a session between some people may have.

A booking is cut on the same grid as a round of the same people (`zones.grid_minutes`):
hours for people on whole-hour zones, half hours when one of them is in India or another
half-hour zone, quarter hours with Nepal. Starts offered follow the master's own clock, on
the hour or half hour where the grid allows, because those are the times a person picks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from ..availability.expansion import Month
from ..zones import month_grid_minutes

SHORTEST = timedelta(hours=1)
_SAID = {
    60: "start on the hour and last whole hours",
    30: "start on the hour or half hour and last whole half hours",
    15: "start on a quarter hour and last whole quarter hours",
}


@dataclass(frozen=True)
class SessionLength:
    """A session length a person can choose: its value in hours, as the form posts it."""

    hours: float

    @property
    def value(self) -> str:
        return f"{self.hours:g}"

    @property
    def label(self) -> str:
        whole, minutes = int(self.hours), round(self.hours % 1 * 60)
        return f"{whole} h" + (f" {minutes:02d}" if minutes else "")


@dataclass(frozen=True)
class BookingGrid:
    """Slots of `minutes` (from the Unix epoch), with starts offered on the master's clock."""

    minutes: int
    master_zone: ZoneInfo

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    @property
    def offered_step(self) -> timedelta:
        """Starts offered: each half hour of the master's clock, or each hour on an hourly grid."""
        return timedelta(minutes=max(self.minutes, 30))

    def on_grid(self, moment: datetime) -> bool:
        return moment.microsecond == 0 and int(moment.timestamp()) % (self.minutes * 60) == 0

    def fits(self, starts_at: datetime, ends_at: datetime) -> bool:
        """The session starts on the grid and lasts a whole number of its steps."""
        return (
            self.on_grid(starts_at)
            and ends_at > starts_at
            and (ends_at - starts_at) % self.step == timedelta(0)
        )

    @property
    def rule(self) -> str:
        """The rule in words, for a refusal: 'start on the hour or half hour and ...'."""
        return _SAID.get(self.minutes, f"start and end on {self.minutes}-minute steps")

    def lengths(self, longest_hours: int) -> list[SessionLength]:
        """Lengths to offer, from an hour to the longest, in the offered step."""
        step_hours = self.offered_step / timedelta(hours=1)
        count = int((longest_hours - 1) / step_hours + 1e-9)
        return [SessionLength(1 + n * step_hours) for n in range(count + 1)]

    def starts(
        self, start_utc: datetime, end_utc: datetime, length: timedelta
    ) -> Iterator[datetime]:
        """Starts offered in a window: on the master's :00 (and :30), with `length` left in it."""
        local = start_utc.astimezone(self.master_zone)
        step_minutes = int(self.offered_step / timedelta(minutes=1))
        first = local.replace(
            minute=local.minute // step_minutes * step_minutes, second=0, microsecond=0
        )
        at = first.astimezone(UTC)
        while at < start_utc:
            at += self.offered_step
        while at + length <= end_utc:
            if self.on_grid(at):
                yield at
            at += self.offered_step


def booking_grid(master_zone: ZoneInfo, zone_names: Iterable[str], month: Month) -> BookingGrid:
    """The grid for a session in the master's month between people in these zones."""
    return BookingGrid(month_grid_minutes([str(master_zone), *zone_names], month), master_zone)


# The grid a master's own sessions (opened or moved by them) keep: any quarter hour of their
# clock, as before grids fitted people; they choose the time themselves.
def own_time_grid(master_zone: ZoneInfo) -> BookingGrid:
    return BookingGrid(15, master_zone)
