"""Snapshot a round's confirmed people into a round problem (mentor-match/round@1).

Ids in the problem are stable and readable: `m-<person id>` for someone as a master,
`a-<person id>` as an apprentice, `p-<person id>` for the person behind both, and
`site-<id>` for a workplace. The decoder in `publication` reads them back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from ..allowances.figures import granted_for
from ..availability.expansion import Month, cut_out
from ..availability.services import Interval, availability_by_person
from ..extensions import db
from ..models import (
    AllowanceKind,
    MicroSkill,
    MonthPlan,
    Pairing,
    Person,
    PersonSkill,
    Response,
    Round,
    RoundExclusion,
    SessionObserver,
    ShadowingSession,
    Stage,
)
from ..models.skills import Area
from ..organisation.services import only_verified_hosts
from ..stages.hosting import hosting_condition
from ..zones import month_grid_minutes, zone_or_utc
from .opening import confirmed_in

FORMAT = "mentor-match/round@1"
MIN_PAIRING_HOURS = 2


def master_ref(person_id: int) -> str:
    return f"m-{person_id}"


def apprentice_ref(person_id: int) -> str:
    return f"a-{person_id}"


def person_id_of(ref: str) -> int:
    """The person id behind `m-17`, `a-17` or `p-17`."""
    return int(ref.split("-", 1)[1])


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _on_grid(start: datetime, end: datetime, slot_minutes: int) -> tuple[datetime, datetime]:
    """The span shrunk to whole slots: its start rounded up, its end down (may leave nothing)."""
    step = slot_minutes * 60
    first = -(-int(start.timestamp()) // step) * step
    last = int(end.timestamp()) // step * step
    return datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)


def _hours_on_grid(hours: float, slot_minutes: int) -> float | int:
    """Hours rounded down to whole slots; whole hours stay an int, as on a 60-minute grid."""
    slots = int(hours * 60 / slot_minutes + 1e-9)
    total = slots * slot_minutes / 60
    return int(total) if total == int(total) else total


def _windows(intervals: Iterable[Interval], slot_minutes: int, *, remote: bool) -> list[dict]:
    windows = []
    for interval in intervals:
        start, end = _on_grid(interval.start_utc, interval.end_utc, slot_minutes)
        if end <= start:
            continue
        modes = []
        if interval.in_person and not remote:
            modes.append("in_person")
        if interval.virtual:
            modes.append("virtual")
        if modes:
            windows.append({"start": _iso(start), "end": _iso(end), "modes": modes})
    return windows


def confirmed_people(round_: Round) -> list[tuple[Person, MonthPlan]]:
    """Active masters and apprentices who confirmed their plan for the round's month."""
    rows = db.session.execute(
        select(Person, MonthPlan)
        .join(MonthPlan, MonthPlan.person_id == Person.id)
        .where(confirmed_in(round_.month))
        .order_by(Person.id)
    )
    return [(person, plan) for person, plan in rows]


def _skills_by_person(
    person_ids: list[int], *, verified_only: bool
) -> dict[int, list[tuple[str, Stage, bool, bool]]]:
    """(micro skill key, stage, hosts, develops) for each person, in two queries.

    `hosts` is true only where the person may host the skill (stages.hosting's rule, in SQL):
    with `verified_only`, a self-declared stage waits for verification and is not offered to
    the optimizer.
    """
    skills: dict[int, list[tuple[str, Stage, bool, bool]]] = defaultdict(list)
    keys = {
        skill.id: skill.key
        for skill in db.session.scalars(
            select(MicroSkill).join(Area).options(contains_eager(MicroSkill.area))
        )
    }
    for chunk in _chunks(person_ids):
        rows = db.session.execute(
            select(
                PersonSkill.person_id,
                PersonSkill.micro_skill_id,
                PersonSkill.stage,
                hosting_condition(verified_only=verified_only).label("hosts"),
                PersonSkill.develops,
            ).where(PersonSkill.person_id.in_(chunk))
        )
        for row in rows:
            skills[row.person_id].append(
                (keys[row.micro_skill_id], row.stage, bool(row.hosts), row.develops)
            )
    return skills


def _chunks(ids: list[int], size: int = 5000) -> Iterable[list[int]]:
    """Keep IN lists within what every database accepts."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def favoured_apprentices(round_: Round, candidates: Iterable[int]) -> list[str]:
    """Apprentices in last month's published round who ended it with no standing pairing."""
    year, month = map(int, round_.month.split("-"))
    previous_month = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    previous = db.session.scalar(select(Round).where(Round.month == previous_month))
    if previous is None or previous.published_at is None:
        return []
    confirmed_then = set(
        db.session.scalars(
            select(MonthPlan.person_id).where(
                MonthPlan.month == previous_month, MonthPlan.confirmed_at.is_not(None)
            )
        )
    )
    paired_then = set(
        db.session.scalars(
            select(Pairing.apprentice_id).where(
                Pairing.round_id == previous.id,
                Pairing.apprentice_response != Response.DECLINED,
                Pairing.master_response != Response.DECLINED,
            )
        )
    )
    return [apprentice_ref(pid) for pid in candidates if pid in confirmed_then - paired_then]


def encode_round(round_: Round) -> dict:
    """The whole round: every confirmed person, their availability, limits and exclusions.

    Sessions people have already booked in the month come off their time and limits.
    """
    return _encode_confirmed(round_, with_pairings=False)


def encode_fill(round_: Round) -> dict:
    """Only the capacity that the published pairings left free (declined pairings' included).

    Pairings still standing stay as they are: their sessions' hours come off the limits,
    their times come out of everyone's availability, and no pair already made (or declined)
    in this round can be made again.
    """
    return _encode_confirmed(round_, with_pairings=True)


def _encode_confirmed(round_: Round, *, with_pairings: bool) -> dict:
    """The confirmed people on the round's grid, less what is booked (and, with
    `with_pairings`, what the standing pairings hold)."""
    people = confirmed_people(round_)
    zones = {person.id: person.timezone for person, _ in people}
    slot_minutes = round_slot_minutes(round_, zones.values())
    return _encode(
        round_,
        people,
        slot_minutes=slot_minutes,
        usage=_usage(round_, zones, with_pairings=with_pairings, slot_minutes=slot_minutes),
    )


def round_slot_minutes(round_: Round, zone_names: Iterable[str]) -> int:
    """The slot size that keeps every person's local hours and half hours in the round's month.

    With a person in India in the round, 10:00 IST is 04:30 UTC: an hourly grid would cut
    their 10:00-12:00 to 10:30-11:30, so the round is cut into half hours instead.
    """
    return month_grid_minutes(zone_names, Month.parse(round_.month))


# Sessions start on the hour or half hour of the master's own clock.
SESSION_START_MINUTES = 30


class _MasterStarts:
    """A master's `start_minutes` (optimizer/starts.py): on a grid finer than half hours
    (someone in the round is at +05:45), 30 for a master whose zone keeps whole or half hour
    offsets through the month, so a London master is not given 09:15; nothing for a master in
    Kathmandu, whose own :00 falls on a quarter hour, nor on a 30 or 60-minute grid, where
    every slot already starts on an :00 or :30 of every zone in the round."""

    def __init__(self, month: Month, slot_minutes: int) -> None:
        self.month = month
        self.slot_minutes = slot_minutes
        self.by_zone: dict[str, dict] = {}

    def of(self, zone_name: str) -> dict:
        if self.slot_minutes >= SESSION_START_MINUTES:
            return {}
        if zone_name not in self.by_zone:
            fits = month_grid_minutes([zone_name], self.month) >= SESSION_START_MINUTES
            self.by_zone[zone_name] = {"start_minutes": SESSION_START_MINUTES} if fits else {}
        return self.by_zone[zone_name]


class _Usage:
    """What sessions already booked in the month take from each person.

    For a full run these are sessions people booked themselves; for a fill run also the
    round's standing pairings, whose pairs cannot be made again.
    """

    def __init__(self) -> None:
        self.hosting_hours: dict[int, float] = defaultdict(float)
        self.apprentices: dict[int, set[int]] = defaultdict(set)
        self.observed_hours: dict[int, float] = defaultdict(float)
        self.masters: dict[int, set[int]] = defaultdict(set)
        self.busy: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        self.pairs: set[tuple[int, int]] = set()


def _usage(
    round_: Round, zones: dict[int, str], *, with_pairings: bool, slot_minutes: int
) -> _Usage:
    usage = _Usage()
    if with_pairings:
        for pairing in db.session.scalars(select(Pairing).where(Pairing.round_id == round_.id)):
            usage.pairs.add((pairing.apprentice_id, pairing.master_id))
            if pairing.status is not Response.DECLINED:
                usage.apprentices[pairing.master_id].add(pairing.apprentice_id)
                usage.masters[pairing.apprentice_id].add(pairing.master_id)
    month = Month.parse(round_.month)
    # Wide enough for every zone's view of the month; each person's own month is kept below.
    window_start = datetime.combine(month.first_day, time(0), UTC) - timedelta(days=1)
    window_end = datetime.combine(month.next.first_day, time(0), UTC) + timedelta(days=1)
    seats = db.session.execute(
        select(
            ShadowingSession.master_id,
            ShadowingSession.starts_at,
            ShadowingSession.ends_at,
            SessionObserver.apprentice_id,
        )
        .join(SessionObserver, SessionObserver.session_id == ShadowingSession.id)
        .where(
            ShadowingSession.cancelled_at.is_(None),
            SessionObserver.cancelled_at.is_(None),
            ShadowingSession.ends_at > window_start,
            ShadowingSession.starts_at < window_end,
        )
    )

    def in_month(person_id: int, moment: datetime) -> bool:
        zone = zone_or_utc(zones.get(person_id, "UTC"))
        return Month.containing(moment.astimezone(zone).date()) == month

    hosted: dict[int, set[tuple[datetime, datetime]]] = defaultdict(set)
    for master_id, starts_at, ends_at, apprentice_id in seats:
        usage.busy[apprentice_id].append((starts_at, ends_at))
        usage.busy[master_id].append((starts_at, ends_at))
        if in_month(apprentice_id, starts_at):
            usage.observed_hours[apprentice_id] += (ends_at - starts_at).total_seconds() / 3600
            usage.masters[apprentice_id].add(master_id)
        if in_month(master_id, starts_at):
            hosted[master_id].add((starts_at, ends_at))
            usage.apprentices[master_id].add(apprentice_id)
    for master_id, spans in hosted.items():
        # Sessions of one master can overlap (several modes); count each slot once.
        slot = slot_minutes * 60
        slots = {
            index
            for starts_at, ends_at in spans
            for index in range(
                int(starts_at.timestamp()) // slot, -(-int(ends_at.timestamp()) // slot)
            )
        }
        usage.hosting_hours[master_id] = len(slots) * slot_minutes / 60
    return usage


def _encode(
    round_: Round, people: list[tuple[Person, MonthPlan]], *, usage: _Usage, slot_minutes: int
) -> dict:
    ids = [person.id for person, _ in people]
    starts = _MasterStarts(Month.parse(round_.month), slot_minutes)
    availability = availability_by_person(round_.month, ids)
    skills = _skills_by_person(ids, verified_only=only_verified_hosts())
    # The plan's hours as granted: an allowance, or an approved request, caps what it says.
    month = Month.parse(round_.month)
    hosting_granted = granted_for(ids, month, AllowanceKind.HOSTING)
    observing_granted = granted_for(ids, month, AllowanceKind.OBSERVING)
    masters, apprentices = [], []
    for person, plan in people:
        remote = person.site_id is None
        intervals = cut_out(availability.get(person.id, []), usage.busy.get(person.id, []))
        windows = _windows(intervals, slot_minutes, remote=remote)
        site = None if remote else f"site-{person.site_id}"
        teaches = {key: stage.value for key, stage, hosts, _ in skills[person.id] if hosts}
        wants = {
            key: stage.value
            for key, stage, _, develops in skills[person.id]
            if develops and stage is not Stage.MASTER
        }
        if person.is_master and teaches:
            hosting = _hours_on_grid(
                max(
                    0,
                    hosting_granted[person.id].cap(plan.max_hosting_hours)
                    - usage.hosting_hours.get(person.id, 0),
                ),
                slot_minutes,
            )
            taken = max(0, plan.max_apprentices - len(usage.apprentices.get(person.id, ())))
            if hosting and taken:
                masters.append(
                    {
                        "id": master_ref(person.id),
                        "person": f"p-{person.id}",
                        "site": site,
                        "skills": teaches,
                        "max_hosting_hours": hosting,
                        "max_apprentices": taken,
                        "in_person_capacity": 0 if remote else plan.in_person_seats,
                        "virtual_capacity": plan.virtual_seats,
                        "availability": windows,
                        **starts.of(person.timezone),
                    }
                )
        if person.is_apprentice and wants:
            hours = _hours_on_grid(
                max(
                    0,
                    observing_granted[person.id].cap(plan.observation_hours)
                    - usage.observed_hours.get(person.id, 0),
                ),
                slot_minutes,
            )
            masters_left = max(0, plan.max_masters - len(usage.masters.get(person.id, ())))
            if hours and masters_left:
                apprentices.append(
                    {
                        "id": apprentice_ref(person.id),
                        "person": f"p-{person.id}",
                        "site": site,
                        "wants": wants,
                        "max_hours": hours,
                        "max_masters": masters_left,
                        "availability": windows,
                    }
                )

    excluded = {
        (row.apprentice_id, row.master_id)
        for row in db.session.execute(
            select(RoundExclusion.apprentice_id, RoundExclusion.master_id).where(
                RoundExclusion.round_id == round_.id
            )
        )
    }
    excluded |= usage.pairs
    apprentice_ids = {person_id_of(a["id"]) for a in apprentices}
    master_ids = {person_id_of(m["id"]) for m in masters}
    exclude = sorted(
        [apprentice_ref(a), master_ref(m)]
        for a, m in excluded
        if a in apprentice_ids and m in master_ids
    )
    problem = {
        "format": FORMAT,
        "round": round_.month,
        "slot_minutes": slot_minutes,
        "min_pairing_hours": MIN_PAIRING_HOURS,
        "masters": masters,
        "apprentices": apprentices,
        "exclude": exclude,
    }
    favour = favoured_apprentices(round_, sorted(apprentice_ids))
    if favour:
        problem["favour"] = favour
    return problem


__all__ = [
    "FORMAT",
    "MIN_PAIRING_HOURS",
    "apprentice_ref",
    "confirmed_people",
    "encode_fill",
    "encode_round",
    "favoured_apprentices",
    "master_ref",
    "person_id_of",
    "round_slot_minutes",
]
