"""Learning time used and planned, month by month: what the team page and the report read.

Used means host-verified, as `tracking.hours` defines it: an apprentice's observed hours are
the attended minutes their masters confirmed; a master's hosted hours are the times of their
sessions with a verified observer, overlaps joined, as on the master's progress page. A month
is the person's own calendar month, as their month plan and their granted figure are.

Every function reads in a handful of queries however many people it is given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..availability.expansion import Month
from ..extensions import db
from ..models import MonthPlan, Person, ShadowingSession
from ..tracking.hours import VerifiedSeat, verified_seats

# Every zone's month lies within a month's UTC bounds widened by this much.
ZONE_MARGIN = timedelta(hours=15)
# Chunked so a large organisation stays under the database's parameter limit.
CHUNK = 500


@dataclass(frozen=True)
class MonthUsage:
    """One person's learning time in one month: verified hours, and what their plan says."""

    person_id: int
    month: Month
    observed_hours: float = 0.0
    hosted_hours: float = 0.0
    # The month plan's figures; None when the person made no plan for the month.
    planned_observing: int | None = None
    planned_hosting: int | None = None


def month_bounds(months: Iterable[Month]) -> tuple[datetime, datetime]:
    """UTC instants enclosing the months in every time zone."""
    ordered = sorted(months)
    first, last = ordered[0], ordered[-1]
    after = Month(last.year + last.month // 12, last.month % 12 + 1)
    return (
        datetime(first.year, first.month, 1, tzinfo=UTC) - ZONE_MARGIN,
        datetime(after.year, after.month, 1, tzinfo=UTC) + ZONE_MARGIN,
    )


def month_of(instant: datetime, zone: ZoneInfo) -> Month:
    local = instant.astimezone(zone)
    return Month(local.year, local.month)


def months_around(today_month: Month, *, before: int, after: int) -> list[Month]:
    """`before` months before `today_month`, then it, then `after` months after it."""
    index = today_month.year * 12 + today_month.month - 1
    return [Month(i // 12, i % 12 + 1) for i in range(index - before, index + after + 1)]


def zones_of(person_ids: Iterable[int]) -> dict[int, ZoneInfo]:
    ids = list(set(person_ids))
    zones: dict[int, ZoneInfo] = {}
    for start in range(0, len(ids), CHUNK):
        for person_id, timezone in db.session.execute(
            select(Person.id, Person.timezone).where(Person.id.in_(ids[start : start + CHUNK]))
        ):
            zones[person_id] = ZoneInfo(timezone)
    return zones


def _merged_hours(spans: set[tuple[datetime, datetime]], zone: ZoneInfo) -> dict[Month, float]:
    """Hours by month of the spans with overlaps joined, so an hour counts once."""
    merged: list[list[datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    hours: dict[Month, float] = defaultdict(float)
    for start, end in merged:
        hours[month_of(start, zone)] += (end - start).total_seconds() / 3600
    return hours


def hosted_hours_by_month(
    seats: list[VerifiedSeat], zones: dict[int, ZoneInfo]
) -> dict[int, dict[Month, float]]:
    """Per master, their hosted hours by month: the times of sessions with a verified seat."""
    session_ids = sorted({seat.session_id for seat in seats})
    times: dict[int, tuple[int, datetime, datetime]] = {}
    for start in range(0, len(session_ids), CHUNK):
        for session_id, master_id, starts_at, ends_at in db.session.execute(
            select(
                ShadowingSession.id,
                ShadowingSession.master_id,
                ShadowingSession.starts_at,
                ShadowingSession.ends_at,
            ).where(ShadowingSession.id.in_(session_ids[start : start + CHUNK]))
        ):
            times[session_id] = (master_id, starts_at, ends_at)
    spans: dict[int, set[tuple[datetime, datetime]]] = defaultdict(set)
    for master_id, starts_at, ends_at in times.values():
        spans[master_id].add((starts_at, ends_at))
    return {
        master_id: _merged_hours(held, zones.get(master_id, ZoneInfo("UTC")))
        for master_id, held in spans.items()
    }


def usage_for(
    person_ids: Iterable[int], months: Iterable[Month]
) -> dict[tuple[int, Month], MonthUsage]:
    """Each person's usage in each month, keyed by (person id, month); a row for every pair."""
    ids = sorted(set(person_ids))
    wanted = sorted(set(months))
    if not ids or not wanted:
        return {}
    zones = zones_of(ids)
    starts, ends = month_bounds(wanted)
    observed: dict[tuple[int, Month], float] = defaultdict(float)
    hosted: dict[int, dict[Month, float]] = {}
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        for seat in verified_seats(apprentice_ids=chunk, starts=starts, ends=ends):
            zone = zones.get(seat.apprentice_id, ZoneInfo("UTC"))
            observed[seat.apprentice_id, month_of(seat.starts_at, zone)] += seat.hours
        hosted.update(
            hosted_hours_by_month(verified_seats(master_ids=chunk, starts=starts, ends=ends), zones)
        )
    plans: dict[tuple[int, str], tuple[int, int, bool, bool]] = {}
    month_texts = [str(month) for month in wanted]
    for start in range(0, len(ids), CHUNK):
        for person_id, month, observing, hosting, is_apprentice, is_master in db.session.execute(
            select(
                MonthPlan.person_id,
                MonthPlan.month,
                MonthPlan.observation_hours,
                MonthPlan.max_hosting_hours,
                Person.is_apprentice,
                Person.is_master,
            )
            .join(Person, Person.id == MonthPlan.person_id)
            .where(
                MonthPlan.person_id.in_(ids[start : start + CHUNK]),
                MonthPlan.month.in_(month_texts),
            )
        ):
            plans[person_id, month] = (observing, hosting, is_apprentice, is_master)
    usage: dict[tuple[int, Month], MonthUsage] = {}
    for person_id in ids:
        for month in wanted:
            plan = plans.get((person_id, str(month)))
            usage[person_id, month] = MonthUsage(
                person_id=person_id,
                month=month,
                observed_hours=observed.get((person_id, month), 0.0),
                hosted_hours=hosted.get(person_id, {}).get(month, 0.0),
                # A plan's figure counts only in the role the person holds.
                planned_observing=plan[0] if plan and plan[2] else None,
                planned_hosting=plan[1] if plan and plan[3] else None,
            )
    return usage
