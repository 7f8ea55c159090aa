"""check_solution refuses every broken rule of round-format.md, naming the place at fault, and
agrees with the independent checker (shared/verify_round.py) on what is valid."""

import copy
from collections import Counter, defaultdict
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mentor_match.optimizer.check import MAX_MESSAGES, check_solution
from mentor_match.optimizer.generator import generate_round
from mentor_match.optimizer.problem import SOLUTION_FORMAT
from mentor_match.optimizer.solve import solve

pytestmark = pytest.mark.database_independent

# A round small enough to solve in a blink, yet with in-person sessions, apprentices with
# two masters, masters hosting two apprentices at once and pairings across sites.
ROUND_SIZE = {"n_apprentices": 30, "n_masters": 12, "seed": 1}


def at(clock: str, day: int = 1) -> str:
    return f"2026-12-{day:02d}T{clock}:00Z"


def shifted(time: str, **delta: float) -> str:
    moment = datetime.fromisoformat(time) + timedelta(**delta)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module")
def solved() -> tuple[dict, dict]:
    problem = generate_round(**ROUND_SIZE)
    return problem, solve(problem, time_limit=2)


@pytest.fixture
def broken(solved) -> tuple[dict, dict]:
    """A fresh copy of the solved round for one test to break."""
    return copy.deepcopy(solved)


def assert_refused(problem: dict, solution: dict, expected: str, verify_round) -> None:
    messages = check_solution(problem, solution)
    assert any(expected in message for message in messages), messages
    assert not verify_round(problem, solution)["valid"]


def by_id(problem: dict, ident: str) -> dict:
    return next(r for r in (*problem["masters"], *problem["apprentices"]) if r["id"] == ident)


def slots_of(session: dict) -> list[str]:
    """The starts of a session's 60-minute slots."""
    length = datetime.fromisoformat(session["end"]) - datetime.fromisoformat(session["start"])
    return [shifted(session["start"], hours=hour) for hour in range(length // timedelta(hours=1))]


def hours_of(pairing: dict) -> int:
    return sum(len(slots_of(session)) for session in pairing["sessions"])


def apprentice_with_two_masters(solution: dict) -> tuple[int, int]:
    """Indices of two pairings of one apprentice."""
    indices = defaultdict(list)
    for index, pairing in enumerate(solution["pairings"]):
        indices[pairing["apprentice"]].append(index)
    first, second, *_ = next(found for found in indices.values() if len(found) > 1)
    return first, second


# --- Valid solutions pass both checkers ------------------------------------------------------


@pytest.mark.parametrize("size", [(30, 12, 1), (30, 12, 6), (20, 10, 4), (40, 15, 6)])
def test_solver_output_passes_both_checkers(size, verify_round):
    n_apprentices, n_masters, seed = size
    problem = generate_round(n_apprentices, n_masters, seed=seed)
    solution = solve(problem, time_limit=2)
    assert solution["pairings"]
    assert check_solution(problem, solution) == []
    assert verify_round(problem, solution)["valid"]


def test_a_solution_pairing_nobody_is_valid(solved, verify_round):
    problem, _ = solved
    empty = {
        "format": SOLUTION_FORMAT,
        "round": problem["round"],
        "observation_hours": 0,
        "upper_bound": 0,
        "pairings": [],
    }
    assert check_solution(problem, empty) == []
    assert verify_round(problem, empty)["valid"]


def test_the_chosen_round_has_what_the_rule_tests_break(solved):
    _, solution = solved
    modes = Counter(s["mode"] for p in solution["pairings"] for s in p["sessions"])
    assert modes["in_person"] and modes["virtual"]
    apprentice_with_two_masters(solution)


# --- Each rule broken on a solved round -------------------------------------------------------
# Each case breaks one rule in a copy of the solved round and returns the words the check
# must say about it. Limits are broken by lowering them in the problem: the same pairing of
# problem and solution then breaks the rule.


def unknown_apprentice(problem, solution):
    solution["pairings"][0]["apprentice"] = "a-nobody"
    return "pairings[0]: there is no apprentice a-nobody in round 2026-12"


def unknown_master(problem, solution):
    solution["pairings"][1]["master"] = "m-nobody"
    return "pairings[1]: there is no master m-nobody in round 2026-12"


def same_person(problem, solution):
    pairing = solution["pairings"][0]
    master = by_id(problem, pairing["master"])
    by_id(problem, pairing["apprentice"])["person"] = master["person"]
    return (
        f"pairings[0]: apprentice {pairing['apprentice']} and master {pairing['master']} "
        f"are the same person ({master['person']})"
    )


def excluded_pair(problem, solution):
    pairing = solution["pairings"][2]
    problem["exclude"].append([pairing["apprentice"], pairing["master"]])
    apprentice, master = pairing["apprentice"], pairing["master"]
    return f"pairings[2]: apprentice {apprentice} is excluded from master {master}"


def nothing_teachable(problem, solution):
    pairing = solution["pairings"][0]
    master = by_id(problem, pairing["master"])
    for skill in pairing["skills"]:
        master["skills"][skill] = "apprentice"
    return (
        f"pairings[0]: master {pairing['master']} teaches none of the micro skills "
        f"apprentice {pairing['apprentice']} wants"
    )


def skills_misstated(problem, solution):
    solution["pairings"][0]["skills"].append("cooking/omelettes")
    return "pairings[0].skills: lists"


def off_slot_boundary(problem, solution):
    session = solution["pairings"][0]["sessions"][0]
    session["start"] = shifted(session["start"], minutes=30)
    return f"pairings[0].sessions[0]: {session['start']} is not on a 60-minute slot boundary"


def outside_availability(problem, solution):
    pairing = solution["pairings"][0]
    windows = by_id(problem, pairing["apprentice"])["availability"]
    for hour in range(24 * 28):
        start = shifted(at("00:00", day=2), hours=hour)
        if not any(w["start"] <= start < w["end"] for w in windows):
            break
    pairing["sessions"][0] = {"start": start, "end": shifted(start, hours=1), "mode": "virtual"}
    return (
        f"pairings[0].sessions[0]: apprentice {pairing['apprentice']} is not available "
        f"for virtual sessions at {start}"
    )


def in_person_across_sites(problem, solution):
    for index, pairing in enumerate(solution["pairings"]):
        sites = {by_id(problem, pairing[role])["site"] for role in ("apprentice", "master")}
        if len(sites) > 1 or None in sites:
            pairing["sessions"][0]["mode"] = "in_person"
            return f"pairings[{index}].sessions[0]: in person, but apprentice"
    raise AssertionError("no pairing across sites")


def apprentice_double_booked(problem, solution):
    first, second = apprentice_with_two_masters(solution)
    solution["pairings"][second]["sessions"][0] = dict(solution["pairings"][first]["sessions"][0])
    pairing, session = solution["pairings"][first], solution["pairings"][first]["sessions"][0]
    return (
        f"apprentice {pairing['apprentice']} attends 2 sessions at once, "
        f"pairings[{first}] and pairings[{second}], at {session['start']}"
    )


def over_seat_capacity(problem, solution):
    observers = Counter(
        (p["master"], s["mode"], slot)
        for p in solution["pairings"]
        for s in p["sessions"]
        for slot in slots_of(s)
    )
    (master, mode, slot), count = observers.most_common(1)[0]
    field = f"{mode}_capacity"
    by_id(problem, master)[field] = count - 1
    return f"master {master} has {count} {mode} observers at {slot}, over {field} {count - 1}"


def over_hosting_hours(problem, solution):
    master = solution["pairings"][0]["master"]
    slots = {
        slot
        for p in solution["pairings"]
        if p["master"] == master
        for s in p["sessions"]
        for slot in slots_of(s)
    }
    by_id(problem, master)["max_hosting_hours"] = len(slots) - 1
    return f"master {master} hosts {len(slots)} hours, over max_hosting_hours {len(slots) - 1}"


def over_max_apprentices(problem, solution):
    master, count = Counter(p["master"] for p in solution["pairings"]).most_common(1)[0]
    by_id(problem, master)["max_apprentices"] = count - 1
    return f"master {master} has {count} apprentices, over max_apprentices {count - 1}"


def over_max_hours(problem, solution):
    apprentice = solution["pairings"][0]["apprentice"]
    hours = sum(hours_of(p) for p in solution["pairings"] if p["apprentice"] == apprentice)
    by_id(problem, apprentice)["max_hours"] = hours - 1
    return f"apprentice {apprentice} observes {hours} hours, over max_hours {hours - 1}"


def over_max_masters(problem, solution):
    first, _ = apprentice_with_two_masters(solution)
    apprentice = solution["pairings"][first]["apprentice"]
    by_id(problem, apprentice)["max_masters"] = 1
    return f"apprentice {apprentice} has 2 masters, over max_masters 1"


def under_min_pairing_hours(problem, solution):
    pairing = solution["pairings"][0]
    lost = hours_of(pairing) - 1
    start = pairing["sessions"][0]["start"]
    pairing["sessions"] = [{**pairing["sessions"][0], "end": shifted(start, hours=1)}]
    solution["observation_hours"] -= lost
    return (
        f"pairings[0]: apprentice {pairing['apprentice']} observes master {pairing['master']} "
        "for 1 hour, under min_pairing_hours 2"
    )


def no_sessions(problem, solution):
    solution["pairings"][0]["sessions"] = []
    return "pairings[0]: has no sessions"


def overlapping_sessions(problem, solution):
    sessions = solution["pairings"][0]["sessions"]
    sessions.append(dict(sessions[0]))
    return f"pairings[0].sessions[{len(sessions) - 1}]: overlaps pairings[0].sessions[0]"


def wrong_observation_hours(problem, solution):
    hours = solution["observation_hours"]
    solution["observation_hours"] = hours + 1
    return f"observation_hours is {hours + 1:g}, but the sessions add up to {hours:g} hours"


def bound_below_hours(problem, solution):
    solution["upper_bound"] = solution["observation_hours"] - 1
    return f"upper_bound {solution['upper_bound']:g} is below the {solution['observation_hours']:g}"


BREAKS = {
    1: [
        unknown_apprentice,
        unknown_master,
        same_person,
        excluded_pair,
        nothing_teachable,
        skills_misstated,
    ],
    2: [off_slot_boundary, outside_availability],
    3: [in_person_across_sites],
    4: [apprentice_double_booked],
    5: [over_seat_capacity],
    6: [over_hosting_hours, over_max_apprentices],
    7: [over_max_hours, over_max_masters],
    9: [under_min_pairing_hours, no_sessions, overlapping_sessions],
    10: [wrong_observation_hours, bound_below_hours],
}


@pytest.mark.parametrize(
    "break_rule",
    [
        pytest.param(case, id=f"rule{rule}-{case.__name__}")
        for rule, cases in BREAKS.items()
        for case in cases
    ],
)
def test_a_broken_rule_is_refused_at_its_place(broken, break_rule, verify_round):
    problem, solution = broken
    expected = break_rule(problem, solution)
    assert_refused(problem, solution, expected, verify_round)


# --- Rule 8, on a round made by hand: one person is a master and an apprentice -------------


def person_both_master_and_apprentice() -> dict:
    """p-1 is master m-1 in negotiation and apprentice a-1 in coaching."""

    def person(ident, person, **fields):
        window = {"start": at("09:00"), "end": at("17:00"), "modes": ["virtual"]}
        return {"id": ident, "person": person, "site": None, "availability": [window], **fields}

    master_limits = {
        "max_hosting_hours": 8,
        "max_apprentices": 2,
        "in_person_capacity": 0,
        "virtual_capacity": 2,
    }
    limits = {"max_hours": 8, "max_masters": 2}
    return {
        "format": "mentor-match/round@1",
        "round": "2026-12",
        "slot_minutes": 60,
        "min_pairing_hours": 2,
        "exclude": [],
        "masters": [
            person("m-1", "p-1", skills={"negotiation/anchoring": "master"}, **master_limits),
            person("m-2", "p-2", skills={"coaching/reframing": "master"}, **master_limits),
        ],
        "apprentices": [
            person("a-1", "p-1", wants={"coaching/reframing": "apprentice"}, **limits),
            person("a-2", "p-3", wants={"negotiation/anchoring": "apprentice"}, **limits),
        ],
    }


def two_pairings(a1_starts: str) -> dict:
    def pairing(apprentice, master, skill, start):
        session = {"start": at(start), "end": shifted(at(start), hours=2), "mode": "virtual"}
        return {
            "apprentice": apprentice,
            "master": master,
            "skills": [skill],
            "sessions": [session],
        }

    return {
        "format": SOLUTION_FORMAT,
        "round": "2026-12",
        "observation_hours": 4,
        "upper_bound": 4,
        "pairings": [
            pairing("a-1", "m-2", "coaching/reframing", a1_starts),
            pairing("a-2", "m-1", "negotiation/anchoring", "10:00"),
        ],
    }


def test_a_person_may_host_and_observe_at_different_times(verify_round):
    problem, solution = person_both_master_and_apprentice(), two_pairings("13:00")
    assert check_solution(problem, solution) == []
    assert verify_round(problem, solution)["valid"]


def test_a_person_cannot_host_and_observe_at_once(verify_round):
    problem, solution = person_both_master_and_apprentice(), two_pairings("11:00")
    expected = (
        "person p-1 would host as master m-1 and observe as apprentice a-1 at the same "
        f"time, {at('11:00')}"
    )
    assert_refused(problem, solution, expected, verify_round)


@pytest.mark.parametrize(
    ("start", "end", "valid"),
    [
        ("10:00", "12:00", True),
        ("09:00", "11:00", False),
        ("11:00", "13:00", False),
    ],
)
def test_a_window_covers_only_whole_slots(start, end, valid, verify_round):
    """m-1 is free 09:30 to 12:30: the slots 10:00 and 11:00 lie inside, 09:00 and 12:00 do not."""
    problem, solution = person_both_master_and_apprentice(), two_pairings("13:00")
    problem["masters"][0]["availability"] = [
        {"start": at("09:30"), "end": at("12:30"), "modes": ["virtual"]}
    ]
    solution["pairings"][1]["sessions"] = [{"start": at(start), "end": at(end), "mode": "virtual"}]
    assert (check_solution(problem, solution) == []) is valid
    assert verify_round(problem, solution)["valid"] is valid


# --- Shape and garbage ------------------------------------------------------------------------


def test_a_solution_for_another_round_is_refused(broken):
    problem, solution = broken
    solution["round"] = "2027-01"
    assert check_solution(problem, solution) == [
        "round: the solution is for round 2027-01, but this round is 2026-12"
    ]


def test_times_must_be_utc_with_z(broken):
    problem, solution = broken
    session = solution["pairings"][0]["sessions"][0]
    session["start"] = session["start"].replace("Z", "+00:00")
    messages = check_solution(problem, solution)
    assert any(
        m.startswith("pairings[0].sessions[0].start: must be an ISO 8601 UTC time")
        for m in messages
    ), messages


def test_unmatched_must_name_apprentices_left_unpaired(broken):
    problem, solution = broken
    paired = solution["pairings"][0]["apprentice"]
    solution["unmatched"].append({"apprentice": paired, "reason": "no_master", "detail": "..."})
    index = len(solution["unmatched"]) - 1
    assert check_solution(problem, solution) == [
        f"unmatched[{index}]: apprentice {paired} is paired in pairings[0], so is not unmatched"
    ]


def test_messages_are_capped(broken):
    problem, solution = broken
    for pairing in solution["pairings"]:
        pairing["apprentice"] = "a-nobody"
    solution["pairings"] *= 5
    messages = check_solution(problem, solution)
    assert len(messages) == MAX_MESSAGES + 1
    assert messages[-1].startswith("and ") and messages[-1].endswith(" more")


@pytest.mark.parametrize(
    "garbage",
    [
        None,
        "x",
        [],
        3,
        {},
        {"format": "nope"},
        {"format": SOLUTION_FORMAT},
        {
            "format": SOLUTION_FORMAT,
            "round": "2026-12",
            "observation_hours": "12",
            "upper_bound": float("nan"),
            "pairings": {"a-1": "m-1"},
            "unmatched": "nobody",
        },
        {
            "format": SOLUTION_FORMAT,
            "round": "2026-12",
            "observation_hours": 10**400,
            "upper_bound": True,
            "pairings": [
                None,
                [],
                {"apprentice": ["a-1"]},
                {
                    "apprentice": "a-1",
                    "master": "m-1",
                    "skills": [1],
                    "sessions": [None, {"start": 5}, {"mode": "bus"}],
                },
            ],
        },
    ],
)
def test_garbage_solutions_give_messages(solved, garbage):
    messages = check_solution(solved[0], garbage)
    assert messages and all(isinstance(message, str) for message in messages)


@pytest.mark.parametrize(
    "garbage", [None, "x", [], {"format": "nope"}, {"format": "mentor-match/round@1"}]
)
def test_a_garbage_problem_gives_a_message(solved, garbage):
    messages = check_solution(garbage, solved[1])
    assert len(messages) == 1 and "round problem" in messages[0]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
TIMES = st.sampled_from(
    [
        at("10:00"),
        at("10:30"),
        at("11:00"),
        "2026-12-01T10:00:00+01:00Z",
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:00:00Z",
        "Z",
        "2026-13-01T00:00:00Z",
    ]
)
SESSIONS = st.fixed_dictionaries(
    {
        "start": TIMES | JSON,
        "end": TIMES | JSON,
        "mode": st.sampled_from(["in_person", "virtual"]) | JSON,
    }
)
PAIRINGS = st.fixed_dictionaries(
    {
        "apprentice": st.sampled_from(["a-1", "a-2", "m-1"]) | JSON,
        "master": st.sampled_from(["m-1", "m-2", "a-1"]) | JSON,
        "skills": st.sampled_from([["coaching/reframing"], ["negotiation/anchoring"]]) | JSON,
        "sessions": st.lists(SESSIONS | JSON, max_size=3) | JSON,
    }
)
SOLUTIONS = (
    st.fixed_dictionaries(
        {"format": st.just(SOLUTION_FORMAT), "round": st.just("2026-12")},
        optional={
            "observation_hours": st.integers(0, 8) | JSON,
            "upper_bound": st.integers(0, 8) | JSON,
            "pairings": st.lists(PAIRINGS | JSON, max_size=4) | JSON,
            "unmatched": st.lists(
                st.fixed_dictionaries({"apprentice": JSON, "reason": JSON}) | JSON, max_size=2
            )
            | JSON,
        },
    )
    | JSON
)


@settings(max_examples=200, deadline=None)
@given(solution=SOLUTIONS)
def test_no_solution_makes_the_check_raise(solution):
    messages = check_solution(person_both_master_and_apprentice(), solution)
    assert isinstance(messages, list) and all(isinstance(message, str) for message in messages)
