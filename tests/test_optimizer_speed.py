"""The swap search and the pair LP bound (issue 22): one person in one place per slot, and a
bound that is tighter than the flow yet never below what a schedule delivers."""

import numpy as np
import pytest

from mentor_match.optimizer import load_problem
from mentor_match.optimizer.bound import pair_lp_upper_bound_slots, upper_bound_slots
from mentor_match.optimizer.generator import generate_round
from mentor_match.optimizer.heuristic import Schedule, Scheduler
from mentor_match.optimizer.model import build_arrays, find_candidates
from mentor_match.optimizer.solution import solution_document, unmatched_reasons
from mentor_match.optimizer.swaps import MasterPlanner, swap_search
from tests.test_optimizer import MORNING, OTHER, SKILL, apprentice, master, round_doc

pytestmark = pytest.mark.database_independent


def _two_records_one_master() -> dict:
    """One person with two apprentice records, both wanting what one roomy master teaches,
    free at the same hours: seating both in one slot would put the person in two sessions."""
    teacher = master("m-1", {SKILL: "master", OTHER: "master"}, MORNING, virtual_capacity=4)
    first = apprentice("a-1", {SKILL: "apprentice"}, MORNING, person="p-twice", max_hours=2)
    second = apprentice("a-2", {OTHER: "apprentice"}, MORNING, person="p-twice", max_hours=2)
    return round_doc([teacher], [first, second])


def test_a_master_plan_never_seats_one_person_twice_in_a_slot():
    # Failed before the fix: the plan gave a-1 and a-2 the same two hours.
    arrays = build_arrays(load_problem(_two_records_one_master()))
    candidates = find_candidates(arrays)
    scheduler = Scheduler(arrays, candidates)
    pairs = list(range(len(candidates.apprentice)))
    assert len(pairs) == 2
    budget = {int(candidates.apprentice[p]): 2 for p in pairs}
    plan = MasterPlanner(scheduler).plan(0, pairs, budget, {}, np.zeros(arrays.n_slots, dtype=bool))
    slots = [{t for t, _ in plan.get(p, [])} for p in pairs]
    assert slots[0] and slots[1], "both records should still be planned, at different hours"
    assert not slots[0] & slots[1]


def test_the_swap_search_keeps_one_person_in_one_place(verify_round):
    problem = _two_records_one_master()
    arrays = build_arrays(load_problem(problem))
    candidates = find_candidates(arrays)
    schedule, _ = swap_search(Scheduler(arrays, candidates), Schedule(), float("inf"), 10**6)
    solution = solution_document(
        arrays,
        candidates,
        schedule,
        schedule.slots,
        unmatched_reasons(arrays, candidates, schedule),
        {},
    )
    result = verify_round(problem, solution)
    assert result["valid"], result["errors"]
    assert schedule.slots == 4  # two hours each, one after the other


@pytest.mark.parametrize("slot_minutes, seed", [(60, 0), (30, 1), (15, 2)])
def test_the_pair_lp_bound_is_tighter_than_the_flow_and_above_the_schedule(slot_minutes, seed):
    problem = generate_round(300, 60, seed=seed)
    problem["slot_minutes"] = slot_minutes
    arrays = build_arrays(load_problem(problem))
    candidates = find_candidates(arrays)
    schedule, _ = swap_search(Scheduler(arrays, candidates), Schedule(), float("inf"), 10**6)
    flow = upper_bound_slots(arrays, candidates)
    lp = pair_lp_upper_bound_slots(arrays, candidates)
    assert lp is not None
    assert schedule.slots <= lp < flow
