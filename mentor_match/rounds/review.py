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

    Wanted and hosting hours are each the most the round could give the skill, in
    observation hours (apprentice-hours, as delivered hours are): every apprentice who wants
    it could spend all their max_hours on it, and every master who teaches it all their
    max_hosting_hours, each hour with as many observers as they seat at once. So a person
    with several skills counts in each, and neither column sums to a round total. Delivered
    hours count each observer's session hour once, for the skill its session is for
    (`session_skills`), so they never exceed either column.
    """

    skill: str
    apprentices: int  # apprentices who want it
    wanted_hours: float  # the max_hours of the apprentices who want it
    masters: int  # masters whose stage in it is above apprentice
    hosting_hours: float  # the observation hours those masters could host at most
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


def observers_at_once(master: dict[str, Any]) -> int:
    """The most apprentices a master can have watching in one hour (round-format rules 3, 5, 6)."""
    seats = master["virtual_capacity"] + (master["in_person_capacity"] if master.get("site") else 0)
    return min(seats, master["max_apprentices"])


# A session of a round: its master, start, end and mode, as the solution writes them. The
# apprentices seated in it share one session on the site (see `publication`).
SessionKey = tuple[str, str, str, str]


def session_key(pairing: dict[str, Any], session: dict[str, Any]) -> SessionKey:
    return (pairing["master"], session["start"], session["end"], session["mode"])


def pairing_skill(pairing: dict[str, Any], wants: dict[str, str]) -> str:
    """The micro skill a pairing is for, of those it lists: the one its apprentice is at the
    earliest stage in (`wants`, their stages); among equals, the first by key."""
    return min(pairing["skills"], key=lambda skill: (STAGE_RANK.get(wants.get(skill), 0), skill))


def session_skills(problem: dict[str, Any], pairings: list[dict]) -> dict[SessionKey, str]:
    """The micro skill each session of a round is for: of those its observers' pairings
    list, the one most of them share; among equals, the first observer's own skill
    (`pairing_skill`), then the first by key."""
    wants = {apprentice["id"]: apprentice["wants"] for apprentice in problem["apprentices"]}
    votes: dict[SessionKey, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    first_choice: dict[SessionKey, str] = {}
    for pairing in pairings:
        own = pairing_skill(pairing, wants.get(pairing["apprentice"], {}))
        for session in pairing["sessions"]:
            key = session_key(pairing, session)
            first_choice.setdefault(key, own)
            for skill in pairing["skills"]:
                votes[key][skill] += 1
    return {
        key: min(counts, key=lambda skill: (-counts[skill], skill != first_choice[key], skill))
        for key, counts in votes.items()
    }


def skills_observed(problem: dict[str, Any], pairings: list[dict]) -> list[list[str]]:
    """For each pairing, the micro skill each of its sessions counts for: the session's own
    (`session_skills`), unless the pairing does not list it (a session shared with others),
    then the pairing's (`pairing_skill`)."""
    wants = {apprentice["id"]: apprentice["wants"] for apprentice in problem["apprentices"]}
    skill_of = session_skills(problem, pairings)
    observed = []
    for pairing in pairings:
        own = pairing_skill(pairing, wants.get(pairing["apprentice"], {}))
        sessions = [skill_of[session_key(pairing, session)] for session in pairing["sessions"]]
        observed.append([skill if skill in pairing["skills"] else own for skill in sessions])
    return observed


def summarise(problem: dict[str, Any], solution: dict[str, Any]) -> RoundSummary:
    """The figures for reviewing `solution`, a solution of `problem`."""
    remote = {a["id"] for a in problem["apprentices"] if not a.get("site")}
    pairings = solution["pairings"]
    hours_by_mode: dict[str, float] = defaultdict(float)
    remote_hours = 0.0
    delivered: dict[str, float] = defaultdict(float)
    for pairing, skills in zip(pairings, skills_observed(problem, pairings), strict=True):
        pairing_hours = 0.0
        for session, skill in zip(pairing["sessions"], skills, strict=True):
            hours = session_hours(session)
            hours_by_mode[session["mode"]] += hours
            pairing_hours += hours
            delivered[skill] += hours
        if pairing["apprentice"] in remote:
            remote_hours += pairing_hours
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
            wanted[skill] += apprentice["max_hours"]
    teaching: dict[str, int] = defaultdict(int)
    hosting: dict[str, float] = defaultdict(float)
    for master in problem["masters"]:
        for skill in _teaches(master):
            teaching[skill] += 1
            hosting[skill] += master["max_hosting_hours"] * observers_at_once(master)
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
