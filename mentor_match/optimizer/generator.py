"""Realistic generated rounds, for tests and benchmarks.

An organisation with offices in several time zones (one with a half-hour offset), office
days and home days, fully remote people on video only, masters scarce in the most wanted
micro skills, and people who are a master in one area and an apprentice in another.
Availability is drawn as weekly local-time windows and expanded with zoneinfo, so half-hour
zones and DST behave as they do for real people.
"""

from __future__ import annotations

import calendar
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from .problem import PROBLEM_FORMAT

SITES = [
    ("london", "Europe/London"),
    ("new-york", "America/New_York"),
    ("bangalore", "Asia/Kolkata"),
    ("sydney", "Australia/Sydney"),
    ("berlin", "Europe/Berlin"),
]
REMOTE_ZONES = [
    "Europe/Lisbon",
    "Asia/Kolkata",
    "Australia/Adelaide",
    "America/Chicago",
    "Europe/Warsaw",
]
# On finer grids the organisation also has people where the grid is needed: Newfoundland and
# Sri Lanka (half hours), and on 15-minute slots an office in Kathmandu (+05:45).
FINER_SITES = {
    30: [("colombo", "Asia/Colombo")],
    15: [("colombo", "Asia/Colombo"), ("kathmandu", "Asia/Kathmandu")],
}
FINER_REMOTE_ZONES = {
    30: ["America/St_Johns", "Asia/Colombo"],
    15: ["America/St_Johns", "Asia/Kathmandu", "Australia/Eucla"],
}
SLOT_CHOICES = (60, 30, 15)
AREAS = {
    "negotiation": [
        "anchoring",
        "batna-analysis",
        "active-listening",
        "concession-planning",
        "closing",
    ],
    "coaching": [
        "powerful-questioning",
        "giving-feedback",
        "goal-setting",
        "holding-silence",
        "reframing",
    ],
    "project-management": [
        "planning",
        "risk-management",
        "estimation",
        "status-reporting",
        "scope-control",
    ],
    "stakeholder-management": [
        "mapping",
        "saying-no",
        "expectation-setting",
        "escalation",
        "influencing",
    ],
    "facilitation": [
        "agenda-design",
        "handling-conflict",
        "decision-making",
        "timekeeping",
        "energising",
    ],
    "software-craftsmanship": [
        "code-review",
        "debugging",
        "refactoring",
        "pair-programming",
        "tdd",
    ],
    "public-speaking": ["storytelling", "handling-q-and-a", "slide-design", "voice", "openings"],
    "interviewing": [
        "structured-questions",
        "probing",
        "note-taking",
        "calibration",
        "selling-the-role",
    ],
}
SKILLS = [f"{area}/{skill}" for area, skills in AREAS.items() for skill in skills]


def _month_days(month: str) -> list[date]:
    year, number = (int(part) for part in month.split("-"))
    return [date(year, number, day) for day in range(1, calendar.monthrange(year, number)[1] + 1)]


def _start_minutes(zone: str, days: list[date], slot_minutes: int) -> dict:
    """On a grid finer than half hours, a master whose offsets this month are whole or half
    hours starts sessions on their :00 and :30 (as the encoder asks); nothing otherwise."""
    if slot_minutes >= 30:
        return {}
    tz = ZoneInfo(zone)
    offsets = {
        datetime.combine(day, time(12), tzinfo=tz).utcoffset().total_seconds() // 60 for day in days
    }
    return {"start_minutes": 30} if all(offset % 30 == 0 for offset in offsets) else {}


def _utc(day: date, clock: time, zone: ZoneInfo) -> str:
    moment = datetime.combine(day, clock, tzinfo=zone).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _weekly_pattern(
    rng: random.Random, *, remote: bool, host: bool, slot_minutes: int = 60
) -> list[tuple[int, time, time, list[str]]]:
    """Weekly windows in local time: (weekday, start, end, modes).

    On the hourly grid windows start on the hour or half hour and last whole hours (the draws
    the benchmarks' figures were made with); on finer grids people also give quarter-hour
    starts and half-hour lengths, as they would when the booking page offers them.
    """
    office_days = set() if remote else set(rng.sample(range(5), rng.choice([2, 3, 3, 4])))
    windows = []
    for weekday in rng.sample(range(5), rng.choice([2, 3, 3, 4] if host else [2, 2, 3])):
        start_hour = rng.choice([8, 9, 9, 10, 11, 13, 14, 15])
        if slot_minutes == 60:
            start = time(start_hour, rng.choice([0, 0, 0, 30]))
            length = timedelta(hours=rng.choice([2, 2, 3, 3, 4]))
        else:
            minutes = [0, 0, 0, 30] if slot_minutes == 30 else [0, 0, 0, 15, 30, 45]
            start = time(start_hour, rng.choice(minutes))
            length = timedelta(minutes=rng.choice([120, 120, 150, 180, 180, 240]))
        end = (datetime.combine(date.min, start) + length).time()
        modes = ["in_person", "virtual"] if weekday in office_days else ["virtual"]
        if weekday in office_days and rng.random() < 0.15:
            modes = ["in_person"]  # some office work cannot be shown on camera
        windows.append((weekday, start, end, modes))
    return windows


def _availability(rng, days, zone_name, remote, host, slot_minutes=60):
    zone = ZoneInfo(zone_name)
    pattern = _weekly_pattern(rng, remote=remote, host=host, slot_minutes=slot_minutes)
    leave = set(rng.sample(days, 2)) if rng.random() < 0.3 else set()
    out = []
    for day in days:
        if day in leave:
            continue
        for weekday, start, end, modes in pattern:
            if day.weekday() == weekday:
                out.append(
                    {"start": _utc(day, start, zone), "end": _utc(day, end, zone), "modes": modes}
                )
    return out


def generate_round(
    n_apprentices: int,
    n_masters: int,
    seed: int = 0,
    month: str = "2026-12",
    remote_share: float = 0.15,
    both_share: float = 0.15,
    exclude_share: float = 0.002,
    *,
    slot_minutes: int = 60,
    second_record_share: float = 0.0,
) -> dict:
    """A round problem of the given size, the same for the same arguments.

    `slot_minutes` (60, 30 or 15) sets the round's grid, adds people in zones that need it
    and draws windows on it; 60 gives exactly the rounds generated before the option existed.
    `second_record_share` gives that share of apprentices a second apprentice record (one
    person wanting skills in another area) and of masters a second master record (one person
    teaching another area), drawn last so the rest of the round does not change.
    """
    if slot_minutes not in SLOT_CHOICES:
        raise ValueError(f"slot_minutes must be one of {SLOT_CHOICES}, not {slot_minutes}")
    rng = random.Random(seed)
    sites = SITES + FINER_SITES.get(slot_minutes, [])
    remote_zones = REMOTE_ZONES + FINER_REMOTE_ZONES.get(slot_minutes, [])
    days = _month_days(month)
    # Popularity: apprentices want the first skills most; masters are scarcest there.
    order = SKILLS[:]
    rng.shuffle(order)
    demand = [1 / (rank + 1) ** 0.8 for rank in range(len(order))]
    supply = [0.3 + rank / len(order) for rank in range(len(order))]

    def place():
        if rng.random() < remote_share:
            return None, rng.choice(remote_zones)
        site, zone = rng.choice(sites)
        return site, zone

    masters = []
    for index in range(n_masters):
        site, zone = place()
        taught = set()
        area = rng.choice(list(AREAS))
        while len(taught) < rng.choice([3, 4, 5]):
            pick = (
                f"{area}/{rng.choice(AREAS[area])}"
                if rng.random() < 0.7
                else rng.choices(order, supply)[0]
            )
            taught.add(pick)
        masters.append(
            {
                "id": f"m-{index}",
                "person": f"p-m{index}",
                "site": site,
                "skills": {
                    skill: rng.choice(["master", "master", "journeyman"])
                    for skill in sorted(taught)
                },
                "max_hosting_hours": rng.choice([6, 8, 8, 10, 12, 16]),
                "max_apprentices": rng.choice([2, 3, 3, 4]),
                "in_person_capacity": 0 if site is None else rng.choice([1, 1, 2]),
                "virtual_capacity": rng.choice([3, 4, 4, 6]),
                "availability": _availability(rng, days, zone, site is None, True, slot_minutes),
                **_start_minutes(zone, days, slot_minutes),
                "_zone": zone,
            }
        )
    apprentices = []
    for index in range(n_apprentices):
        both = masters and rng.random() < both_share
        if both:
            master = rng.choice(masters)
            person, site, zone = master["person"], master["site"], master["_zone"]
            own_areas = {skill.split("/")[0] for skill in master["skills"]}
        else:
            person = f"p-a{index}"
            site, zone = place()
            own_areas = set()
        wants = {}
        while len(wants) < rng.choice([1, 2, 2, 3]):
            skill = rng.choices(order, demand)[0]
            if skill.split("/")[0] not in own_areas:
                wants[skill] = rng.choice(["apprentice", "apprentice", "journeyman"])
        apprentices.append(
            {
                "id": f"a-{index}",
                "person": person,
                "site": site,
                "wants": dict(sorted(wants.items())),
                "max_hours": rng.choice([4, 6, 8, 8, 10, 12]),
                "max_masters": rng.choice([1, 2, 2, 3]),
                "availability": _availability(rng, days, zone, site is None, False, slot_minutes),
                "_zone": zone,
            }
        )
    exclude = []
    for _ in range(int(exclude_share * n_apprentices * max(n_masters, 1) / 10)):
        exclude.append([rng.choice(apprentices)["id"], rng.choice(masters)["id"]])
    if second_record_share > 0:
        _second_records(rng, masters, apprentices, second_record_share, order, demand, supply)
    for record in (*masters, *apprentices):
        del record["_zone"]
    return {
        "format": PROBLEM_FORMAT,
        "round": month,
        "slot_minutes": slot_minutes,
        "min_pairing_hours": 2,
        "masters": masters,
        "apprentices": apprentices,
        "exclude": exclude,
    }


def _second_records(rng, masters, apprentices, share, order, demand, supply) -> None:
    """Give some people a second record of the same kind: same person, site and week, other
    skills. Their sessions under both ids must never overlap (round-format.md rule 8)."""
    for index, first in enumerate(list(apprentices)):
        if rng.random() >= share:
            continue
        taken_areas = {skill.split("/")[0] for skill in first["wants"]}
        wants = {}
        for _ in range(20):
            skill = rng.choices(order, demand)[0]
            if skill.split("/")[0] not in taken_areas:
                wants[skill] = rng.choice(["apprentice", "apprentice", "journeyman"])
            if len(wants) == 2:
                break
        if wants:
            apprentices.append(
                {
                    **first,
                    "id": f"a-{index}b",
                    "availability": [dict(window) for window in first["availability"]],
                    "wants": dict(sorted(wants.items())),
                    "max_hours": rng.choice([4, 6, 8]),
                    "max_masters": rng.choice([1, 2]),
                }
            )
    for index, first in enumerate(list(masters)):
        if rng.random() >= share:
            continue
        taken_areas = {skill.split("/")[0] for skill in first["skills"]}
        taught = {
            skill
            for skill in rng.choices(order, supply, k=4)
            if skill.split("/")[0] not in taken_areas
        }
        if taught:
            masters.append(
                {
                    **first,
                    "id": f"m-{index}b",
                    "availability": [dict(window) for window in first["availability"]],
                    "skills": {
                        skill: rng.choice(["master", "journeyman"]) for skill in sorted(taught)
                    },
                    "max_hosting_hours": rng.choice([4, 6, 8]),
                    "max_apprentices": rng.choice([1, 2, 3]),
                }
            )
