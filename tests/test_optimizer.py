"""The optimizer on its own (no app): every solution passes the independent checker, and the
rules that are easy to get wrong are kept on rounds made by hand to need them."""

import threading
from collections import defaultdict
from datetime import datetime, timedelta

import numpy as np
import pytest

from benchmarks.baselines import greedy_solution
from mentor_match.optimizer import Cancelled, ProblemError, load_problem, solve
from mentor_match.optimizer.bound import capacities, lagrangian_upper_bound_slots, upper_bound_slots
from mentor_match.optimizer.exact import solve_exact
from mentor_match.optimizer.generator import generate_round
from mentor_match.optimizer.heuristic import Schedule, Scheduler
from mentor_match.optimizer.lns import neighbourhood_search
from mentor_match.optimizer.model import build_arrays, find_candidates
from mentor_match.optimizer.solution import solution_document, unmatched_reasons
from mentor_match.optimizer.swaps import swap_search

pytestmark = pytest.mark.database_independent

# --- Building rounds by hand ------------------------------------------------------------------


def at(clock: str, day: int = 1) -> str:
    return f"2026-12-{day:02d}T{clock}:00Z"


def window(start: str, end: str, *modes: str, day: int = 1) -> dict:
    return {"start": at(start, day), "end": at(end, day), "modes": list(modes) or ["virtual"]}


def master(
    ident: str,
    skills: dict,
    availability: list,
    *,
    person: str | None = None,
    site: str | None = "london",
    **limits,
) -> dict:
    return {
        "id": ident,
        "person": person or f"p-{ident}",
        "site": site,
        "skills": skills,
        "max_hosting_hours": 10,
        "max_apprentices": 3,
        "in_person_capacity": 1,
        "virtual_capacity": 4,
        "availability": [dict(w) for w in availability],
        **limits,
    }


def apprentice(
    ident: str,
    wants: dict,
    availability: list,
    *,
    person: str | None = None,
    site: str | None = "london",
    **limits,
) -> dict:
    return {
        "id": ident,
        "person": person or f"p-{ident}",
        "site": site,
        "wants": wants,
        "max_hours": 8,
        "max_masters": 2,
        "availability": [dict(w) for w in availability],
        **limits,
    }


def round_doc(masters=(), apprentices=(), exclude=(), **settings) -> dict:
    return {
        "format": "mentor-match/round@1",
        "round": "2026-12",
        "slot_minutes": 60,
        "min_pairing_hours": 2,
        "masters": list(masters),
        "apprentices": list(apprentices),
        "exclude": [list(pair) for pair in exclude],
        **settings,
    }


SKILL, OTHER = "negotiation/anchoring", "coaching/reframing"
MORNING = [window("09:00", "13:00")]


# --- Reading solutions ------------------------------------------------------------------------


def _seconds(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def session_slots(session: dict, slot_minutes: int = 60) -> list[int]:
    step = slot_minutes * 60
    return list(range(_seconds(session["start"]) // step, _seconds(session["end"]) // step))


def hours_in_sessions(solution: dict, slot_minutes: int = 60) -> float:
    return sum(
        len(session_slots(session, slot_minutes)) * slot_minutes / 60
        for pairing in solution["pairings"]
        for session in pairing["sessions"]
    )


def pairs(solution: dict) -> set[tuple[str, str]]:
    return {(pairing["apprentice"], pairing["master"]) for pairing in solution["pairings"]}


def reasons(solution: dict) -> dict[str, str]:
    return {entry["apprentice"]: entry["reason"] for entry in solution["unmatched"]}


def checked(verify, problem: dict, solution: dict) -> dict:
    """The checker's report, after asserting the solution keeps every rule and adds up."""
    report = verify(problem, solution)
    assert report["valid"], report["errors"][:10]
    slot_minutes = problem["slot_minutes"]
    assert solution["observation_hours"] == pytest.approx(hours_in_sessions(solution, slot_minutes))
    assert solution["upper_bound"] >= solution["observation_hours"] - 1e-9
    paired = {pairing["apprentice"] for pairing in solution["pairings"]}
    everyone = {record["id"] for record in problem["apprentices"]}
    assert set(reasons(solution)) == everyone - paired, "unmatched must list exactly the unpaired"
    return report


# --- Generated rounds -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "n_apprentices, n_masters, seed",
    [
        (5, 3, 1),
        (12, 5, 2),
        (30, 10, 4),
        (60, 20, 3),
        (150, 40, 5),
    ],
)
def test_generated_rounds_give_valid_solutions(verify_round, n_apprentices, n_masters, seed):
    problem = generate_round(n_apprentices, n_masters, seed=seed)
    solution = solve(problem, time_limit=1.5, seed=seed)
    report = checked(verify_round, problem, solution)
    assert solution["format"] == "mentor-match/solution@1"
    assert solution["round"] == problem["round"]
    if n_apprentices >= 30:
        assert report["observation_hours"] > 0


def test_small_generated_round_is_solved_to_proven_optimality(verify_round):
    problem = generate_round(30, 10, seed=4)
    solution = solve(problem, time_limit=10)
    checked(verify_round, problem, solution)
    assert solution["stats"]["proven_optimal"] is True
    assert solution["gap"] == 0
    assert solution["observation_hours"] == solution["upper_bound"] > 0


@pytest.mark.parametrize("n_apprentices, n_masters, seed", [(60, 20, 0), (400, 100, 1)])
def test_greedy_baseline_keeps_every_rule(verify_round, n_apprentices, n_masters, seed):
    problem = generate_round(n_apprentices, n_masters, seed=seed)
    checked(verify_round, problem, greedy_solution(problem, time_limit=10))


# --- Bounds ------------------------------------------------------------------------------------


def _bounds(problem: dict) -> tuple[int, int]:
    arrays = build_arrays(load_problem(problem))
    candidates = find_candidates(arrays)
    master_cap = capacities(arrays, candidates)[2]
    return (
        upper_bound_slots(arrays, candidates),
        lagrangian_upper_bound_slots(arrays, candidates, master_cap, target=0, iterations=1_500),
    )


def test_pricing_apprentices_stops_masters_collecting_more_than_they_may_take():
    # A and B take one apprentice each. x could fill either; y only fits A, z only B, for two
    # hours each. The flow sends x two hours to each master beside y and z: 8. In truth a
    # master picks one apprentice, so x goes to one of them: 6.
    day_two = [window("09:00", "13:00", day=2)]
    problem = round_doc(
        [
            master("m-a", {SKILL: "master"}, MORNING, max_apprentices=1, max_hosting_hours=4),
            master("m-b", {SKILL: "master"}, day_two, max_apprentices=1, max_hosting_hours=4),
        ],
        [
            apprentice("a-x", {SKILL: "apprentice"}, MORNING + day_two, max_hours=4),
            apprentice("a-y", {SKILL: "apprentice"}, [window("09:00", "11:00")], max_hours=4),
            apprentice(
                "a-z", {SKILL: "apprentice"}, [window("09:00", "11:00", day=2)], max_hours=4
            ),
        ],
    )
    assert _bounds(problem) == (8, 6)
    solution = solve(problem, time_limit=5)
    assert solution["observation_hours"] == solution["upper_bound"] == 6


@pytest.mark.wall_clock  # proven optimal within its 10 s
@pytest.mark.parametrize("n_apprentices, n_masters, seed", [(60, 20, 0), (80, 25, 1), (90, 30, 2)])
def test_the_priced_bound_is_never_below_a_proven_optimum(n_apprentices, n_masters, seed):
    problem = generate_round(n_apprentices, n_masters, seed=seed)
    solution = solve(problem, time_limit=10)
    assert solution["stats"]["proven_optimal"]
    flow, priced = _bounds(problem)
    assert solution["observation_hours"] <= priced < flow


# --- Rules that are easy to get wrong -----------------------------------------------------------


def test_window_off_the_slot_grid_covers_only_whole_slots(verify_round):
    # A half-hour zone: 03:30-06:30Z with 60-minute slots covers 04:00-06:00 only.
    half_hour = [window("03:30", "06:30")]
    problem = round_doc(
        [master("m-1", {SKILL: "master"}, half_hour)],
        [apprentice("a-1", {SKILL: "apprentice"}, half_hour)],
    )
    solution = solve(problem, time_limit=2)
    checked(verify_round, problem, solution)
    assert solution["observation_hours"] == 2
    [pairing] = solution["pairings"]
    assert [(s["start"], s["end"]) for s in pairing["sessions"]] == [(at("04:00"), at("06:00"))]

    # With 30-minute slots the same window is three whole hours.
    problem["slot_minutes"] = 30
    solution = solve(problem, time_limit=2)
    checked(verify_round, problem, solution)
    assert solution["observation_hours"] == 3


def test_a_person_who_is_both_never_hosts_and_observes_at_once(verify_round):
    # p-both masters reframing and is an apprentice in anchoring; four shared hours, two
    # hours minimum: both pairings fit only if p-both hosts two hours and observes two.
    problem = round_doc(
        [
            master("m-both", {OTHER: "master"}, MORNING, person="p-both"),
            master("m-other", {SKILL: "master"}, MORNING),
        ],
        [
            apprentice("a-both", {SKILL: "apprentice"}, MORNING, person="p-both"),
            apprentice("a-other", {OTHER: "apprentice"}, MORNING),
        ],
    )
    solution = solve(problem, time_limit=5)
    checked(verify_round, problem, solution)
    assert solution["observation_hours"] == 4  # 8 if hosting and observing could overlap
    hosting, observing = set(), set()
    for pairing in solution["pairings"]:
        for session in pairing["sessions"]:
            if pairing["master"] == "m-both":
                hosting.update(session_slots(session))
            if pairing["apprentice"] == "a-both":
                observing.update(session_slots(session))
    assert not hosting & observing
    assert pairs(solution) == {("a-both", "m-other"), ("a-other", "m-both")}


def test_in_person_needs_the_same_site_and_respects_in_person_seats(verify_round):
    office = [window("09:00", "13:00", "in_person")]
    problem = round_doc(
        [
            master(
                "m-1",
                {SKILL: "master"},
                office,
                in_person_capacity=1,
                virtual_capacity=0,
                max_hosting_hours=4,
                max_apprentices=5,
            )
        ],
        [
            *(apprentice(f"a-{n}", {SKILL: "apprentice"}, office, max_hours=2) for n in range(3)),
            apprentice("a-remote", {SKILL: "apprentice"}, office, site=None),
            apprentice("a-berlin", {SKILL: "apprentice"}, office, site="berlin"),
        ],
    )
    solution = solve(problem, time_limit=5)
    checked(verify_round, problem, solution)
    # One in-person seat for four hours: two London apprentices, two hours each.
    assert solution["observation_hours"] == 4
    assert {a for a, _ in pairs(solution)} < {"a-0", "a-1", "a-2"}
    assert reasons(solution)["a-remote"] == reasons(solution)["a-berlin"] == "no_common_time"
    seats = defaultdict(int)
    for pairing in solution["pairings"]:
        for session in pairing["sessions"]:
            assert session["mode"] == "in_person"
            for slot in session_slots(session):
                seats[slot] += 1
    assert max(seats.values()) == 1


def test_video_and_in_person_seats_are_counted_apart(verify_round):
    both = [window("09:00", "11:00", "in_person", "virtual")]
    problem = round_doc(
        [
            master(
                "m-1",
                {SKILL: "master"},
                both,
                in_person_capacity=1,
                virtual_capacity=2,
                max_apprentices=5,
            )
        ],
        [apprentice(f"a-{n}", {SKILL: "apprentice"}, both, max_hours=2) for n in range(5)],
    )
    solution = solve(problem, time_limit=5)
    checked(verify_round, problem, solution)
    assert solution["observation_hours"] == 6  # three seats a slot, two slots
    seats = defaultdict(int)
    for pairing in solution["pairings"]:
        for session in pairing["sessions"]:
            for slot in session_slots(session):
                seats[(slot, session["mode"])] += 1
    assert all(count <= (1 if mode == "in_person" else 2) for (_, mode), count in seats.items())


def test_excluded_pairs_never_appear(verify_round):
    problem = round_doc(
        [master("m-1", {SKILL: "master"}, MORNING), master("m-2", {SKILL: "journeyman"}, MORNING)],
        [
            apprentice("a-1", {SKILL: "apprentice"}, MORNING, max_masters=2),
            apprentice("a-2", {SKILL: "apprentice"}, MORNING),
        ],
        exclude=[("a-1", "m-1"), ("a-2", "m-2")],
    )
    solution = solve(problem, time_limit=5)
    checked(verify_round, problem, solution)
    assert pairs(solution) == {("a-1", "m-2"), ("a-2", "m-1")}


@pytest.mark.parametrize(
    "with_masters, with_apprentices", [(False, True), (True, False), (False, False)]
)
def test_empty_rounds(verify_round, with_masters, with_apprentices):
    problem = round_doc(
        [master("m-1", {SKILL: "master"}, MORNING)] if with_masters else [],
        [apprentice("a-1", {SKILL: "apprentice"}, MORNING)] if with_apprentices else [],
    )
    solution = solve(problem, time_limit=2)
    checked(verify_round, problem, solution)
    assert solution["pairings"] == []
    assert solution["observation_hours"] == solution["upper_bound"] == 0
    assert reasons(solution) == ({"a-1": "no_master"} if with_apprentices else {})


def test_a_round_where_nobody_can_be_paired(verify_round):
    evening = [window("18:00", "22:00")]
    problem = round_doc(
        [master("m-1", {SKILL: "journeyman"}, MORNING), master("m-2", {OTHER: "master"}, MORNING)],
        [
            apprentice("a-stage", {SKILL: "journeyman"}, MORNING),  # nobody ranks above
            apprentice("a-evening", {OTHER: "apprentice"}, evening),  # never free together
            apprentice("a-excluded", {OTHER: "apprentice"}, MORNING),
            apprentice("a-short", {OTHER: "apprentice"}, MORNING, max_hours=1),
            apprentice("a-nothing", {}, MORNING),
        ],
        exclude=[("a-excluded", "m-2")],
    )
    solution = solve(problem, time_limit=2)
    checked(verify_round, problem, solution)
    assert solution["pairings"] == [] and solution["observation_hours"] == 0
    assert reasons(solution) == {
        "a-stage": "no_master",
        "a-evening": "no_common_time",
        "a-excluded": "excluded",
        "a-short": "no_hours",
        "a-nothing": "no_skills",
    }
    assert all(entry["detail"] for entry in solution["unmatched"])


def _unmatched_case(reason: str) -> dict:
    """A round in which a-1 stays unpaired for this reason."""
    wants = {SKILL: "apprentice"}
    if reason == "no_master":
        return round_doc(
            [master("m-1", {OTHER: "master"}, MORNING)], [apprentice("a-1", wants, MORNING)]
        )
    if reason == "no_common_time":
        # One shared hour, and the minimum pairing is two.
        return round_doc(
            [master("m-1", {SKILL: "master"}, [window("09:00", "11:00")])],
            [apprentice("a-1", wants, [window("10:00", "12:00")])],
        )
    if reason == "excluded":
        return round_doc(
            [master("m-1", {SKILL: "master"}, MORNING)],
            [apprentice("a-1", wants, MORNING)],
            exclude=[("a-1", "m-1")],
        )
    if reason == "masters_full":
        # One seat for two hours: a-0 wants every hour of it and more masters are none.
        two_hours = [window("09:00", "11:00")]
        return round_doc(
            [master("m-1", {SKILL: "master"}, two_hours, virtual_capacity=1, max_apprentices=1)],
            [apprentice("a-0", wants, two_hours), apprentice("a-1", wants, two_hours)],
        )
    if reason == "no_hours":
        return round_doc(
            [master("m-1", {SKILL: "master"}, MORNING)],
            [apprentice("a-1", wants, MORNING, max_hours=1)],
        )
    assert reason == "no_skills"
    return round_doc([master("m-1", {SKILL: "master"}, MORNING)], [apprentice("a-1", {}, MORNING)])


@pytest.mark.parametrize(
    "reason",
    [
        "no_master",
        "no_common_time",
        "excluded",
        "masters_full",
        "no_hours",
        "no_skills",
    ],
)
def test_each_unmatched_reason(verify_round, reason):
    problem = _unmatched_case(reason)
    solution = solve(problem, time_limit=2)
    checked(verify_round, problem, solution)
    if reason == "masters_full":
        # Either apprentice may get the only seat; the other is told the masters are full.
        [waiting] = solution["unmatched"]
        assert waiting["reason"] == "masters_full"
        assert solution["observation_hours"] == 2
    else:
        assert reasons(solution) == {"a-1": reason}


def test_min_pairing_hours_drops_short_pairings(verify_round):
    # m-1 can host three hours; two apprentices at three hours minimum cannot both fit.
    problem = round_doc(
        [master("m-1", {SKILL: "master"}, MORNING, max_hosting_hours=3, virtual_capacity=1)],
        [
            apprentice("a-1", {SKILL: "apprentice"}, MORNING),
            apprentice("a-2", {SKILL: "apprentice"}, MORNING),
        ],
        min_pairing_hours=3,
    )
    solution = solve(problem, time_limit=2)
    checked(verify_round, problem, solution)
    assert solution["observation_hours"] == 3
    assert len(solution["pairings"]) == 1


# --- Control: cancel, determinism, errors -------------------------------------------------------


def test_cancel_set_from_on_progress_raises_cancelled():
    problem = generate_round(60, 20, seed=0)
    cancel = threading.Event()
    seen = []

    def on_progress(progress):
        seen.append(progress.phase)
        cancel.set()

    with pytest.raises(Cancelled):
        solve(problem, time_limit=10, on_progress=on_progress, cancel=cancel)
    assert seen and "done" not in seen


def test_progress_reports_hours_and_bound():
    events = []
    solve(generate_round(60, 20, seed=0), time_limit=1, on_progress=events.append)
    assert events[-1].phase == "done"
    assert events[-1].observation_hours <= events[-1].upper_bound
    assert 0 <= events[-1].gap <= 1


def _pairings(problem: dict, seed: int) -> list[dict]:
    """The pairings with their sessions: what people would be told.

    The time limit leaves room: the search stops at a proof of optimality (the same point
    on every run), long before the clock, even on a loaded machine. Since a run uses all its
    time unless proven optimal (issue 22), no counted work stops it first: the 40 x 12 round
    below is proven in 1.5 s on a quiet machine and in 8-12 s at a load of 17 on 2 cores.
    """
    return solve(problem, time_limit=60, seed=seed)["pairings"]


def test_same_seed_gives_the_same_pairings_from_the_flow_heuristic():
    problem = generate_round(30, 10, seed=0)  # the flow heuristic meets the bound here
    assert _pairings(problem, seed=3) == _pairings(problem, seed=3)


def test_same_seed_gives_the_same_pairings_from_cp_sat():
    problem = generate_round(40, 12, seed=1)  # the whole-round CP-SAT model proves optimality
    first = _pairings(problem, seed=3)
    for _ in range(5):
        assert _pairings(problem, seed=3) == first


def test_an_unfinished_exact_search_claims_no_bound_below_a_known_solution():
    problem = load_problem(generate_round(150, 40, seed=0))
    arrays = build_arrays(problem)
    candidates = find_candidates(arrays)
    known = greedy_solution(problem, time_limit=10)["observation_hours"]
    favour = np.zeros(len(problem.apprentices), dtype=np.int64)
    result = solve_exact(Scheduler(arrays, candidates), None, 0.05, 0, favour, workers=2)
    # Stopped before any solution, CP-SAT's objective bound says nothing: none is claimed.
    assert result.schedule is not None or result.bound_slots is None
    if result.bound_slots is not None:
        assert result.bound_slots * arrays.slot_hours >= known


# --- Neighbourhood search ------------------------------------------------------------------------


def _settled_round(n_apprentices: int, n_masters: int, seed: int):
    """A generated round and the schedule the swap search settles on, as solve() has it."""
    problem = generate_round(n_apprentices, n_masters, seed=seed)
    arrays = build_arrays(load_problem(problem))
    candidates = find_candidates(arrays)
    scheduler = Scheduler(arrays, candidates)
    settled, _ = swap_search(scheduler, Schedule(), deadline=float("inf"), max_plans=10**7)
    return problem, arrays, candidates, scheduler, settled


def _as_solution(arrays, candidates, schedule: Schedule) -> dict:
    return solution_document(
        arrays,
        candidates,
        schedule,
        schedule.slots,
        unmatched_reasons(arrays, candidates, schedule),
        {},
    )


def test_the_neighbourhood_search_gains_hours_where_the_swap_search_settled(verify_round):
    problem, arrays, candidates, scheduler, settled = _settled_round(300, 60, seed=2)
    favour = np.zeros(len(arrays.observing_slots), dtype=np.int64)
    better, solved = neighbourhood_search(
        scheduler, settled, favour, work_budget=3.0, deadline=float("inf")
    )
    assert solved > 0
    assert better.slots > settled.slots
    checked(verify_round, problem, _as_solution(arrays, candidates, better))
    # Its input is left as it was: the caller still holds the schedule it passed.
    assert settled.slots == _settled_round(300, 60, seed=2)[4].slots


def test_the_neighbourhood_search_gives_the_same_schedule_for_the_same_work_and_seed():
    _, arrays, _, scheduler, settled = _settled_round(200, 40, seed=1)
    favour = np.zeros(len(arrays.observing_slots), dtype=np.int64)
    runs = [
        neighbourhood_search(
            scheduler, settled, favour, work_budget=1.0, deadline=float("inf"), seed=5
        )
        for _ in range(2)
    ]
    assert runs[0][0].sessions == runs[1][0].sessions and runs[0][1] == runs[1][1]


def test_the_neighbourhood_search_stops_when_cancelled():
    _, arrays, _, scheduler, settled = _settled_round(200, 40, seed=1)
    cancel = threading.Event()
    cancel.set()
    favour = np.zeros(len(arrays.observing_slots), dtype=np.int64)
    schedule, solved = neighbourhood_search(
        scheduler, settled, favour, work_budget=100.0, deadline=float("inf"), cancel=cancel
    )
    assert solved == 0 and schedule.sessions == settled.sessions


@pytest.mark.parametrize(
    "path, value, field",
    [
        (
            ("apprentices", 0, "availability", 0, "end"),
            "2026-12-01 25:00",
            "apprentices[0].availability[0].end",
        ),
        (("masters", 0, "virtual_capacity"), "4", "masters[0].virtual_capacity"),
        (("masters", 0, "max_hosting_hours"), -1, "masters[0].max_hosting_hours"),
        (("apprentices", 0, "wants", SKILL), "expert", f"apprentices[0].wants.{SKILL}"),
        (("slot_minutes",), 7, "slot_minutes"),
        (("apprentices", 0, "wants", SKILL), [], f"apprentices[0].wants.{SKILL}"),
        (("apprentices", 0, "max_hours"), float("nan"), "apprentices[0].max_hours"),
        (("apprentices", 0, "max_hours"), 1e300, "apprentices[0].max_hours"),
        (("masters", 0, "max_apprentices"), 10**30, "masters[0].max_apprentices"),
        (
            ("masters", 0, "availability", 0, "end"),
            "2031-01-01T00:00:00Z",
            "masters[0].availability[0].end",
        ),
        (("favour",), [{}], "favour[0]"),
    ],
)
def test_a_bad_problem_names_the_field(path, value, field):
    problem = round_doc(
        [master("m-1", {SKILL: "master"}, MORNING)],
        [apprentice("a-1", {SKILL: "apprentice"}, MORNING)],
    )
    target = problem
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ProblemError) as refused:
        solve(problem, time_limit=1)
    assert str(refused.value).startswith(f"{field}: ")


def test_a_missing_field_is_named():
    problem = round_doc([master("m-1", {SKILL: "master"}, MORNING)], [])
    del problem["masters"][0]["max_apprentices"]
    with pytest.raises(ProblemError, match=r"^masters\[0\]\.max_apprentices: is missing"):
        solve(problem, time_limit=1)


def test_session_times_are_utc_on_the_slot_grid(verify_round):
    problem = generate_round(30, 10, seed=4)
    solution = solve(problem, time_limit=2)
    checked(verify_round, problem, solution)
    for pairing in solution["pairings"]:
        for session in pairing["sessions"]:
            start = datetime.fromisoformat(session["start"])
            assert session["start"].endswith("Z") and start.utcoffset() == timedelta(0)
            assert start.minute == 0 and start.second == 0
