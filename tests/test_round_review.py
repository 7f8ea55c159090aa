"""The review figures of a round: counted by hand on a small round, and kept consistent on a
generated one."""

import dataclasses

import pytest

from mentor_match.optimizer.check import check_solution
from mentor_match.optimizer.generator import generate_round
from mentor_match.optimizer.solve import solve
from mentor_match.rounds.review import (
    HEADLINES,
    TINY_HOURS,
    ComparisonRow,
    SkillSupply,
    UnmatchedApprentice,
    compare,
    summarise,
)

pytestmark = pytest.mark.database_independent

ANCHORING, REFRAMING, VOICE = "negotiation/anchoring", "coaching/reframing", "public-speaking/voice"


def at(clock: str, day: int = 1) -> str:
    return f"2026-12-{day:02d}T{clock}:00Z"


def window(start: str, end: str, day: int = 1) -> dict:
    return {"start": at(start, day), "end": at(end, day), "modes": ["in_person", "virtual"]}


def session(start: str, end: str, mode: str = "virtual", day: int = 1) -> dict:
    return {"start": at(start, day), "end": at(end, day), "mode": mode}


DAYS = [window("08:00", "18:00", day) for day in (1, 2, 3)]
NOBODY_TEACHES_VOICE = "Nobody in this round teaches public-speaking/voice above your stage."


def small_round() -> tuple[dict, dict]:
    """m-1 in London teaches anchoring and reframing; m-2, remote, teaches reframing only
    (closing is at apprentice stage, so teaches nobody). a-1 in London and a-2, remote, are
    paired; nobody teaches a-3 voice."""
    master_limits = {"max_apprentices": 3, "in_person_capacity": 1, "virtual_capacity": 4}
    problem = {
        "format": "mentor-match/round@1",
        "round": "2026-12",
        "slot_minutes": 60,
        "min_pairing_hours": 1,
        "exclude": [],
        "masters": [
            {
                "id": "m-1",
                "person": "p-1",
                "site": "london",
                "max_hosting_hours": 10,
                "skills": {ANCHORING: "master", REFRAMING: "journeyman"},
                "availability": DAYS,
                **master_limits,
            },
            {
                "id": "m-2",
                "person": "p-2",
                "site": None,
                "max_hosting_hours": 4,
                "skills": {REFRAMING: "master", "negotiation/closing": "apprentice"},
                "availability": DAYS,
                **master_limits,
            },
        ],
        "apprentices": [
            {
                "id": "a-1",
                "person": "p-3",
                "site": "london",
                "wants": {ANCHORING: "apprentice"},
                "max_hours": 6,
                "max_masters": 2,
                "availability": DAYS,
            },
            {
                "id": "a-2",
                "person": "p-4",
                "site": None,
                "max_hours": 8,
                "max_masters": 2,
                "wants": {REFRAMING: "apprentice", ANCHORING: "journeyman"},
                "availability": DAYS,
            },
            {
                "id": "a-3",
                "person": "p-5",
                "site": "berlin",
                "wants": {VOICE: "apprentice"},
                "max_hours": 4,
                "max_masters": 1,
                "availability": DAYS,
            },
        ],
    }
    solution = {
        "format": "mentor-match/solution@1",
        "round": "2026-12",
        "observation_hours": 7,
        "upper_bound": 8,
        "pairings": [
            {
                "apprentice": "a-1",
                "master": "m-1",
                "skills": [ANCHORING],
                "sessions": [
                    session("09:00", "11:00", "in_person"),
                    session("09:00", "10:00", day=2),
                ],
            },
            {
                "apprentice": "a-2",
                "master": "m-1",
                "skills": [REFRAMING, ANCHORING],
                "sessions": [session("13:00", "15:00")],
            },
            {
                "apprentice": "a-2",
                "master": "m-2",
                "skills": [REFRAMING],
                "sessions": [session("10:00", "12:00", day=3)],
            },
        ],
        "unmatched": [{"apprentice": "a-3", "reason": "no_master", "detail": NOBODY_TEACHES_VOICE}],
    }
    return problem, solution


def test_the_small_round_is_a_valid_solution():
    assert check_solution(*small_round()) == []


def test_headline_figures_of_the_small_round():
    summary = summarise(*small_round())
    assert summary.round == "2026-12"
    assert summary.observation_hours == 7
    assert summary.upper_bound == 8
    assert summary.gap == pytest.approx(1 / 8)
    assert (summary.apprentices_total, summary.apprentices_paired) == (3, 2)
    assert (summary.masters_total, summary.masters_used, summary.pairings) == (2, 2, 3)
    assert (summary.in_person_hours, summary.virtual_hours) == (2, 5)
    # a-2 has no site: 2 hours with m-1 and 2 with m-2.
    assert (summary.remote_apprentices, summary.remote_paired, summary.remote_hours) == (1, 1, 4)
    assert summary.unmatched == (UnmatchedApprentice("a-3", "no_master", NOBODY_TEACHES_VOICE),)


def test_skill_supply_of_the_small_round_most_scarce_first():
    skills = summarise(*small_round()).skills
    assert skills == (
        # Nobody teaches voice: a-3's 4 hours against no hosting at all.
        SkillSupply(
            VOICE,
            apprentices=1,
            wanted_hours=4,
            masters=0,
            hosting_hours=0,
            delivered_hours=0,
            scarcity=4 / TINY_HOURS,
        ),
        # a-1's 6 hours and half of a-2's 8; half of m-1's 10 hosting hours. a-1's 3 hours
        # and half of a-2's 2 hours with m-1 were delivered.
        SkillSupply(
            ANCHORING,
            apprentices=2,
            wanted_hours=10,
            masters=1,
            hosting_hours=5,
            delivered_hours=4,
            scarcity=2,
        ),
        # Half of a-2's 8 hours; half of m-1's 10 and all of m-2's 4 (closing teaches nobody).
        SkillSupply(
            REFRAMING,
            apprentices=1,
            wanted_hours=4,
            masters=2,
            hosting_hours=9,
            delivered_hours=3,
            scarcity=4 / 9,
        ),
    )


def test_a_solution_without_sessions_has_no_gap_figure():
    problem, solution = small_round()
    empty = {**solution, "observation_hours": 0, "upper_bound": 0, "pairings": []}
    summary = summarise(problem, empty)
    assert summary.gap is None
    assert summary.observation_hours == summary.apprentices_paired == summary.masters_used == 0


def test_compare_with_last_month():
    problem, solution = small_round()
    last_month = {**solution, "observation_hours": 5, "pairings": solution["pairings"][:2]}
    rows = {
        row.label: row
        for row in compare(summarise(problem, solution), summarise(problem, last_month))
    }
    assert rows["Observation hours"] == ComparisonRow("Observation hours", 7, 5, 2)
    assert rows["Gap to the bound"].change == pytest.approx(1 / 8 - 3 / 8)
    assert rows["Masters hosting"] == ComparisonRow("Masters hosting", 2, 1, 1)
    assert rows["Pairings"] == ComparisonRow("Pairings", 3, 2, 1)
    assert rows["Virtual hours"] == ComparisonRow("Virtual hours", 5, 3, 2)
    assert rows["Hours observed by remote apprentices"].change == 2
    assert rows["Apprentices left unpaired"] == ComparisonRow("Apprentices left unpaired", 1, 1, 0)
    assert list(rows) == [label for label, _ in HEADLINES]


def test_compare_with_no_last_month():
    rows = compare(summarise(*small_round()), None)
    assert [row.label for row in rows] == [label for label, _ in HEADLINES]
    assert all(row.previous is None and row.change is None for row in rows)
    assert rows[0].current == 7


def test_a_summary_is_frozen():
    summary = summarise(*small_round())
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.observation_hours = 0


def test_figures_of_a_generated_round_are_consistent():
    problem = generate_round(30, 12, seed=6)
    solution = solve(problem, time_limit=2)
    summary = summarise(problem, solution)
    approx = pytest.approx
    assert summary.observation_hours == approx(solution["observation_hours"])
    assert summary.in_person_hours + summary.virtual_hours == approx(summary.observation_hours)
    assert summary.in_person_hours > 0 and summary.virtual_hours > 0
    assert 0 < summary.apprentices_paired <= summary.apprentices_total == 30
    assert summary.remote_paired <= summary.remote_apprentices
    assert summary.remote_hours <= summary.virtual_hours + 1e-9
    assert len(summary.unmatched) == summary.apprentices_total - summary.apprentices_paired
    assert 0 <= summary.gap <= 1
    skills = summary.skills
    assert sum(row.delivered_hours for row in skills) == approx(summary.observation_hours)
    assert sum(row.wanted_hours for row in skills) == approx(
        sum(a["max_hours"] for a in problem["apprentices"] if a["wants"])
    )
    assert sum(row.hosting_hours for row in skills) == approx(
        sum(
            m["max_hosting_hours"]
            for m in problem["masters"]
            if any(stage != "apprentice" for stage in m["skills"].values())
        )
    )
    scarcities = [row.scarcity for row in skills]
    assert scarcities == sorted(scarcities, reverse=True)
    assert all(row.delivered_hours == 0 for row in skills if row.masters == 0)
