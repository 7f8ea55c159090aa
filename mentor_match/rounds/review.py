"""The figures an admin reviews before publishing a round, and how they moved since last month.

Works on the round's problem and solution documents (round-format.md) as stored with a
run, so a review reads exactly what would be published. Both documents are expected to be
well formed: a solver's output, or an upload that `check_solution` accepted.

The gap to the bound is the optimizer's own (`optimizer.solution.gap`), so a review says
what the run's progress said; the site has the optimizer loaded anyway, to run rounds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..optimizer.solution import gap

# Stages rank apprentice < journeyman < master (round-format.md); a master teaches a micro
# skill to an apprentice whose stage in it ranks lower, so only a stage above "apprentice"
# can teach anyone at all.
STAGE_RANK = {"apprentice": 0, "journeyman": 1, "master": 2}
# A micro skill that no master hosts has all its wanted hours unmet. Dividing by this rather
# than by zero ranks such skills above every hosted one, the most wanted of them first.
TINY_HOURS = 1e-6


@dataclass(frozen=True)
class UnmatchedApprentice:
    """An apprentice left without a pairing, and why, as the solution says."""

    apprentice: str
    reason: str
    detail: str


@dataclass(frozen=True)
class SkillSupply:
    """Demand against supply for one micro skill, to show where masters are scarce.

    Hours are shared out so that no hour counts twice across skills: an apprentice's
    max_hours is split evenly over the skills they want, a master's max_hosting_hours
    evenly over the skills they can teach (stage above apprentice), and a pairing's
    observation hours evenly over its skills. Summed over all skills, wanted hours are the
    apprentices' max_hours, hosting hours the teaching masters' max_hosting_hours, and
    delivered hours the round's observation hours.
    """

    skill: str
    apprentices: int  # apprentices who want it
    wanted_hours: float
    masters: int  # masters whose stage in it is above apprentice
    hosting_hours: float
    delivered_hours: float
    scarcity: float  # wanted_hours / hosting_hours (hosting floored at TINY_HOURS)


@dataclass(frozen=True)
class RoundSummary:
    """The headline figures of one solved round."""

    round: str
    observation_hours: float  # apprentice-hours in the sessions
    upper_bound: float
    gap: float | None  # share of the bound not reached; None when the bound is 0
    apprentices_total: int
    apprentices_paired: int
    masters_total: int
    masters_used: int  # masters hosting at least one pairing
    pairings: int
    in_person_hours: float
    virtual_hours: float
    remote_apprentices: int  # apprentices with no site, on video only
    remote_paired: int
    remote_hours: float  # hours observed by remote apprentices
    unmatched: tuple[UnmatchedApprentice, ...]
    skills: tuple[SkillSupply, ...]  # most scarce first


@dataclass(frozen=True)
class ComparisonRow:
    """One headline figure this month beside last month's."""

    label: str
    current: float | None
    previous: float | None
    change: float | None  # current - previous; None when either is missing


def session_hours(session: dict[str, Any]) -> float:
    """A session's length in hours (its times are ISO 8601 UTC ending in Z)."""
    start = datetime.fromisoformat(session["start"])
    end = datetime.fromisoformat(session["end"])
    return (end - start).total_seconds() / 3600


def _teaches(master: dict[str, Any]) -> list[str]:
    """Micro skills a master can teach someone: those where their stage is above apprentice."""
    return [skill for skill, stage in master["skills"].items() if STAGE_RANK[stage] > 0]


def summarise(problem: dict[str, Any], solution: dict[str, Any]) -> RoundSummary:
    """The figures for reviewing `solution`, a solution of `problem`."""
    remote = {a["id"] for a in problem["apprentices"] if not a.get("site")}
    pairings = solution["pairings"]
    hours_by_mode: dict[str, float] = defaultdict(float)
    remote_hours = 0.0
    delivered: dict[str, float] = defaultdict(float)
    for pairing in pairings:
        pairing_hours = 0.0
        for session in pairing["sessions"]:
            hours = session_hours(session)
            hours_by_mode[session["mode"]] += hours
            pairing_hours += hours
        if pairing["apprentice"] in remote:
            remote_hours += pairing_hours
        for skill in pairing["skills"]:
            delivered[skill] += pairing_hours / len(pairing["skills"])
    observation_hours = sum(hours_by_mode.values())
    bound = float(solution["upper_bound"])
    paired = {pairing["apprentice"] for pairing in pairings}
    return RoundSummary(
        round=solution["round"],
        observation_hours=observation_hours,
        upper_bound=bound,
        gap=gap(observation_hours, bound),
        apprentices_total=len(problem["apprentices"]),
        apprentices_paired=len(paired),
        masters_total=len(problem["masters"]),
        masters_used=len({pairing["master"] for pairing in pairings}),
        pairings=len(pairings),
        in_person_hours=hours_by_mode["in_person"],
        virtual_hours=hours_by_mode["virtual"],
        remote_apprentices=len(remote),
        remote_paired=len(remote & paired),
        remote_hours=remote_hours,
        unmatched=tuple(
            UnmatchedApprentice(entry["apprentice"], entry["reason"], entry["detail"])
            for entry in solution.get("unmatched") or ()
        ),
        skills=_skill_supply(problem, delivered),
    )


def _skill_supply(problem: dict[str, Any], delivered: dict[str, float]) -> tuple[SkillSupply, ...]:
    """Every micro skill wanted, taught or delivered in the round, most scarce first."""
    wanting: dict[str, int] = defaultdict(int)
    wanted: dict[str, float] = defaultdict(float)
    for apprentice in problem["apprentices"]:
        for skill in apprentice["wants"]:
            wanting[skill] += 1
            wanted[skill] += apprentice["max_hours"] / len(apprentice["wants"])
    teaching: dict[str, int] = defaultdict(int)
    hosting: dict[str, float] = defaultdict(float)
    for master in problem["masters"]:
        taught = _teaches(master)
        for skill in taught:
            teaching[skill] += 1
            hosting[skill] += master["max_hosting_hours"] / len(taught)
    rows = [
        SkillSupply(
            skill=skill,
            apprentices=wanting[skill],
            wanted_hours=wanted[skill],
            masters=teaching[skill],
            hosting_hours=hosting[skill],
            delivered_hours=delivered.get(skill, 0.0),
            scarcity=wanted[skill] / max(hosting[skill], TINY_HOURS),
        )
        for skill in {*wanting, *teaching, *delivered}
    ]
    return tuple(sorted(rows, key=lambda row: (-row.scarcity, -row.wanted_hours, row.skill)))


# The headline figures, in the order the side-by-side shows them.
HEADLINES: tuple[tuple[str, Callable[[RoundSummary], float | None]], ...] = (
    ("Observation hours", lambda s: s.observation_hours),
    ("Upper bound", lambda s: s.upper_bound),
    ("Gap to the bound", lambda s: s.gap),
    ("Apprentices", lambda s: s.apprentices_total),
    ("Apprentices paired", lambda s: s.apprentices_paired),
    ("Apprentices left unpaired", lambda s: s.apprentices_total - s.apprentices_paired),
    ("Masters", lambda s: s.masters_total),
    ("Masters hosting", lambda s: s.masters_used),
    ("Pairings", lambda s: s.pairings),
    ("In-person hours", lambda s: s.in_person_hours),
    ("Virtual hours", lambda s: s.virtual_hours),
    ("Remote apprentices", lambda s: s.remote_apprentices),
    ("Remote apprentices paired", lambda s: s.remote_paired),
    ("Hours observed by remote apprentices", lambda s: s.remote_hours),
)


def compare(current: RoundSummary, previous: RoundSummary | None) -> list[ComparisonRow]:
    """This round's headline figures beside last month's (None when there was none)."""
    rows = []
    for label, figure in HEADLINES:
        now = figure(current)
        before = figure(previous) if previous is not None else None
        change = now - before if now is not None and before is not None else None
        rows.append(ComparisonRow(label, now, before, change))
    return rows
