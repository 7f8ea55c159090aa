"""A run uses the time it is given (issue 22): it stops early only when its answer is proven
optimal, since the minutes an admin waits are minutes the search could still improve; and a
run proven optimal ends at once, since nothing it could do after the proof helps anyone."""

import time

import pytest

from mentor_match.optimizer import solve
from mentor_match.optimizer.generator import generate_round

# It times runs against their limits: run alone, after the parallel run (make test).
pytestmark = [pytest.mark.database_independent, pytest.mark.wall_clock]

# The answer is due by the limit, and the last few per cent go to collecting the threads and
# writing the solution: the whole-round CP-SAT search stops at 95% of the limit, the
# neighbourhood search and the bound at 96%. A busy machine makes a run later, never earlier,
# so 90% is not flaky under load, and a run stopped early (before issue 22 the small rounds'
# CP-SAT search stopped at 60% of its limit by counted work, and the large path left 10-15 s
# of 90 unused) fails it.
USED_AT_LEAST = 0.9
# A run proven optimal ends within this share of its limit: the proofs below take 0.5-2 s on
# a quiet 2-core machine and 6 s at a load of 18, against a limit of 30 s. Before the fix they
# ran to 95% of the limit (CP-SAT's interleaved search runs on after its proof).
PROVEN_WITHIN = 0.4


def _timed_solve(problem: dict, limit: float) -> tuple[dict, float]:
    started = time.monotonic()
    stats = solve(problem, time_limit=limit, seed=0)["stats"]
    return stats, time.monotonic() - started


@pytest.mark.parametrize(
    "apprentices, masters, slot_minutes, limit",
    [
        # The generator's small round (60 x 20), solved whole by CP-SAT and not proven in
        # 6 s on 15-minute slots (it stopped at 3.6 s by counted work before the fix).
        (60, 20, 15, 6.0),
        # The generator's medium round (1,000 x 200): the swap search, then the neighbourhood
        # search beside the bound thread.
        (1000, 200, 60, 8.0),
    ],
    ids=["small-at-15-min", "medium-at-60-min"],
)
def test_a_run_not_proven_optimal_uses_its_time(apprentices, masters, slot_minutes, limit):
    problem = generate_round(apprentices, masters, seed=3, slot_minutes=slot_minutes)
    stats, took = _timed_solve(problem, limit)
    assert stats["proven_optimal"] or stats["solve_seconds"] >= USED_AT_LEAST * limit, stats
    assert took >= stats["solve_seconds"]


@pytest.mark.parametrize(
    "apprentices, masters, seed, method",
    [
        # Proven by CP-SAT's search over the whole round.
        (60, 20, 0, "CP-SAT (whole round)"),
        # The first schedule already meets the flow bound: no search at all.
        (30, 10, 0, "flow heuristic + swap search"),
    ],
    ids=["small-by-cp-sat", "met-the-flow-bound"],
)
def test_a_run_proven_optimal_ends_at_once(apprentices, masters, seed, method):
    limit = 30.0
    stats, took = _timed_solve(generate_round(apprentices, masters, seed=seed), limit)
    assert stats["proven_optimal"], stats
    assert stats["method"] == method
    assert took < PROVEN_WITHIN * limit, stats
