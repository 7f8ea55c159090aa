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
    pairing_skill,
    session_skills,
    skills_observed,
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
        # All of a-1's 6 hours and of a-2's 8; m-1 hosts 10 hours with 3 observers at most
        # (5 seats, 3 apprentices). Only a-1's 3 hours with m-1 were for anchoring.
        SkillSupply(
            ANCHORING,
            apprentices=2,
            wanted_hours=14,
            masters=1,
            hosting_hours=30,
            delivered_hours=3,
            scarcity=14 / 30,
        ),
        # a-2's 8 hours; m-1's 30 and remote m-2's 4 hours with 3 observers (4 video seats,
        # 3 apprentices; closing teaches nobody). a-2 is at an earlier stage in reframing
        # than in anchoring, so both of a-2's pairings are for reframing: 2 + 2 hours.
        SkillSupply(
            REFRAMING,
            apprentices=1,
            wanted_hours=8,
            masters=2,
            hosting_hours=42,
            delivered_hours=4,
            scarcity=8 / 42,
        ),
    )


def test_a_shared_session_counts_for_the_skill_most_of_its_observers_share():
    problem, solution = small_round()
    # a-1 joins a-2's session with m-1: anchoring is listed by both pairings, reframing
    # by a-2's only, so the session is for anchoring, and so are a-2's hours in it.
    solution["pairings"][0]["sessions"].append(session("13:00", "15:00"))
    assert skills_observed(problem, solution["pairings"]) == [
        [ANCHORING, ANCHORING, ANCHORING],
        [ANCHORING],
        [REFRAMING],
    ]
    assert (
        session_skills(problem, solution["pairings"])[("m-1", at("13:00"), at("15:00"), "virtual")]
        == ANCHORING
    )
    supply = {row.skill: row.delivered_hours for row in summarise(problem, solution).skills}
    assert supply == {VOICE: 0, ANCHORING: 7, REFRAMING: 2}


def test_a_pairing_is_for_the_skill_its_apprentice_is_least_advanced_in():
    pairing = {"skills": [ANCHORING, REFRAMING, VOICE]}
    assert pairing_skill(pairing, {ANCHORING: "journeyman", REFRAMING: "apprentice"}) == REFRAMING
    # Among equals, the first by key.
    equals = {ANCHORING: "apprentice", REFRAMING: "journeyman", VOICE: "apprentice"}
    assert pairing_skill(pairing, equals) == ANCHORING


@pytest.mark.parametrize(("apprentices", "masters", "seed"), [(30, 12, 6), (120, 30, 3)])
def test_no_skill_shows_more_delivered_than_possible_on_a_generated_round(
    apprentices, masters, seed
):
    problem = generate_round(apprentices, masters, seed=seed)
    summary = summarise(problem, solve(problem, time_limit=2))
    assert summary.observation_hours > 0
    for row in summary.skills:
        assert row.delivered_hours <= row.hosting_hours + 1e-9, row
        assert row.delivered_hours <= row.wanted_hours + 1e-9, row


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
    # Each observer's hour counts once, for one skill; wanted and hosting hours count each
    # person's hours in every skill they want or teach.
    assert sum(row.delivered_hours for row in skills) == approx(summary.observation_hours)
    assert sum(row.wanted_hours for row in skills) == approx(
        sum(a["max_hours"] * len(a["wants"]) for a in problem["apprentices"])
    )
    assert sum(row.hosting_hours for row in skills) == approx(
        sum(
            m["max_hosting_hours"]
            * min(
                m["virtual_capacity"] + (m["in_person_capacity"] if m["site"] else 0),
                m["max_apprentices"],
            )
            * sum(stage != "apprentice" for stage in m["skills"].values())
            for m in problem["masters"]
        )
    )
    scarcities = [row.scarcity for row in skills]
    assert scarcities == sorted(scarcities, reverse=True)
    assert all(row.delivered_hours == 0 for row in skills if row.masters == 0)
