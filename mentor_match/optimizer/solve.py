"""solve(problem, time_limit, on_progress, cancel): the optimizer's one entry point.

The pipeline: candidate pairs and a max-flow bound; a b-matching and a slot-level flow
for a first schedule; a swap search that gives masters apprentices free at the same
times; then, side by side on two threads, a neighbourhood search that re-solves a few
masters at a time exactly with CP-SAT, and a tighter bound (per-master exact capacities,
then prices on apprentices' hours that make each master take whole apprentices); or, for
rounds small enough, the whole round in CP-SAT from that schedule instead. Every phase is
bounded by work, not the clock, so the same problem and seed give the same solution.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from . import swaps
from .bound import (
    lagrangian_upper_bound_slots, pair_capacity, refined_upper_bound_slots, upper_bound_slots,
)
from .exact import count_session_variables, solve_exact
from .heuristic import Schedule, Scheduler, b_matching, improve
from .lns import neighbourhood_search
from .model import build_arrays, find_candidates
from .problem import Problem, load_problem
from .solution import solution_document, unmatched_reasons

log = logging.getLogger(__name__)

# Rounds whose whole CP-SAT model stays this small are solved exactly (proven optimal
# when time allows); larger ones use the flow heuristic and its bound.
EXACT_MODEL_LIMIT = 25_000
# CP-SAT's deterministic time per second of the time limit. The answer then depends only on
# the input and seed; on this 2-core machine the work fits the time with room to spare, and
# the wall-clock deadline stops it early on a much slower one.
WORK_SHARE = 0.6
# Master plans the swap search may evaluate per second of the time limit (measured on this
# 2-core machine: about 5,500 a second on rounds of 1,000 x 200 and 10,000 x 2,000).
PLANS_PER_SECOND = 4_000
SWAP_SHARE = 0.7
# The bound is tightened with the work left over. Estimated from counts, never from the
# clock, so it is the same on every run: building the first schedule costs about
# SETUP_SECONDS_PER_PAIR per candidate pair, and swaps run at about SWAP_PLANS_PER_SECOND.
SETUP_SECONDS_PER_PAIR = 2.5e-5
SWAP_PLANS_PER_SECOND = 5_500
USABLE_SHARE = 0.8
# The Lagrangian bound's subgradient steps: enough to settle on rounds of 1,000 x 200, fewer
# when a round is so large that they would not fit in LAGRANGE_SHARE of the time limit at
# about LAGRANGE_SECONDS_PER_PAIR per candidate pair and step, and none when too few to
# help would fit (rounds of 10,000 x 2,000 in 90 s).
LAGRANGE_ITERATIONS = 1_500
LAGRANGE_SHARE = 0.05
LAGRANGE_SECONDS_PER_PAIR = 4e-7
LAGRANGE_MIN_ITERATIONS = 200
# The neighbourhood search gets the same usable time as the bound, on the other core; one
# unit of its work (CP-SAT deterministic time plus model building) takes about this many
# seconds here.
LNS_SECONDS_PER_WORK = 2.0


class Cancelled(Exception):
    """The caller asked the optimizer to stop; no solution is returned."""


@dataclass(frozen=True)
class Progress:
    """Where the search is: for progress bars and logs."""

    phase: str
    elapsed: float
    observation_hours: float | None
    upper_bound: float | None

    @property
    def gap(self) -> float | None:
        if self.observation_hours is None or not self.upper_bound:
            return None
        return (self.upper_bound - self.observation_hours) / self.upper_bound


def solve(
    problem: dict | Problem,
    time_limit: float = 60.0,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
    deadline: float | None = None,
) -> dict:
    """Pair apprentices with masters and schedule sessions; returns a solution document.

    `time_limit` sets every phase's work budget, so the same problem, time limit and seed
    give the same solution. `deadline` (a time.monotonic() instant, by default `time_limit`
    from now) is when the answer is due: a machine too slow for the work is stopped by it.
    Raises ProblemError for a malformed problem and Cancelled if `cancel` is set.
    """
    started = time.monotonic()
    if deadline is None:
        deadline = started + time_limit

    def elapsed() -> float:
        return time.monotonic() - started

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled()

    def report(phase: str, slots: int | None, bound: int | None) -> None:
        if on_progress is not None:
            hours = None if slots is None else slots * arrays.slot_hours
            on_progress(Progress(phase, elapsed(), hours, None if bound is None else bound * arrays.slot_hours))

    if not isinstance(problem, Problem):
        problem = load_problem(problem)
    arrays = build_arrays(problem)
    candidates = find_candidates(arrays)
    check_cancel()
    bound = upper_bound_slots(arrays, candidates)
    report("bound", None, bound)

    favour = np.array([a.id in problem.favour for a in problem.apprentices], dtype=np.int64)
    scheduler = Scheduler(arrays, candidates)
    n_a, n_m = len(arrays.observing_slots), len(arrays.hosting_slots)
    # Weights: slots first; then one point for pairing someone, two for someone favoured.
    scale = 4
    weight = pair_capacity(arrays, candidates) * scale + 1 + favour[candidates.apprentice]
    # First give as many apprentices as possible one master each, then fill leftover hours.
    first = b_matching(
        n_a, n_m, candidates.apprentice, candidates.master, weight,
        np.minimum(arrays.max_masters, 1), arrays.max_apprentices,
    )
    schedule = scheduler.schedule(first)
    report("first schedule", schedule.slots, bound)
    check_cancel()
    out_of_time = lambda: time.monotonic() > deadline - 0.1 * time_limit or (cancel is not None and cancel.is_set())
    schedule = improve(scheduler, schedule, scale, favour, rounds=6, out_of_time=out_of_time)
    report("improved", schedule.slots, bound)
    schedule, plans = swaps.swap_search(
        scheduler, schedule, deadline - 0.25 * time_limit, int(PLANS_PER_SECOND * SWAP_SHARE * time_limit)
    )
    report("swaps", schedule.slots, bound)
    check_cancel()
    optimal = bound == schedule.slots
    method = "flow heuristic + swap search"
    refined = iterations = neighbourhoods = 0
    exact_size = count_session_variables(scheduler) if len(candidates.apprentice) < 5_000 else None
    if not optimal and exact_size is not None and exact_size <= EXACT_MODEL_LIMIT:
        # Small enough to solve whole: CP-SAT's own bound covers the entire round.
        remaining = deadline - time.monotonic() - 0.05 * time_limit
        exact = solve_exact(
            scheduler, schedule, max(0.1, remaining), seed, favour, cancel,
            on_solution=lambda slots, b: report("exact search", slots, min(b, bound)),
            work_limit=WORK_SHARE * time_limit,
        )
        check_cancel()
        if exact.bound_slots is not None and exact.bound_slots >= schedule.slots:
            bound = min(bound, exact.bound_slots)
        elif exact.bound_slots is not None:
            _low_bound("whole-round CP-SAT", exact.bound_slots, schedule.slots)
        if exact.schedule is not None and (
            exact.schedule.slots, exact.schedule.apprentices_paired(candidates)
        ) >= (schedule.slots, schedule.apprentices_paired(candidates)):
            schedule = exact.schedule
            method = "CP-SAT (whole round)"
        optimal = exact.optimal or bound == schedule.slots
    elif not optimal:
        # Two things at once, one per core (CP-SAT leaves Python's lock while it searches):
        # this thread improves the schedule a few masters at a time, the other tightens the
        # bound. Each is bounded by its own work budget, so neither depends on the other's pace.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="optimizer-bound") as pool:
            tightening = pool.submit(
                _tightened_bound, arrays, candidates, scheduler, schedule, plans, time_limit, deadline, cancel,
            )
            usable = _seconds_left(USABLE_SHARE, time_limit, len(candidates.apprentice), plans)
            schedule, neighbourhoods = neighbourhood_search(
                scheduler, schedule, favour, max(0.0, usable / LNS_SECONDS_PER_WORK),
                deadline - 0.1 * time_limit, seed, cancel,
                on_improvement=lambda slots: report("neighbourhood search", slots, bound),
            )
            tightened = tightening.result()
        if neighbourhoods:
            method += " + neighbourhood search"
        check_cancel()
        refined, iterations = tightened["refined"], tightened["iterations"]
        if tightened["bound"] < schedule.slots:
            _low_bound("refined and priced", tightened["bound"], schedule.slots)
        bound = min(bound, max(tightened["bound"], schedule.slots))
        optimal = bound == schedule.slots
        report("bound refined", schedule.slots, bound)
    if bound < schedule.slots:
        _low_bound("flow", bound, schedule.slots)
    bound = max(bound, schedule.slots)
    report("done", schedule.slots, bound)
    stats = {
        "solve_seconds": round(elapsed(), 3),
        "method": method,
        "proven_optimal": bool(optimal),
        "candidate_pairs": len(candidates.apprentice),
        "slots": int(arrays.n_slots),
        "seed": seed,
        "swap_plans": plans,
        "masters_bounded": refined,
        "bound_iterations": iterations,
        "neighbourhoods": neighbourhoods,
    }
    return solution_document(
        arrays, candidates, schedule, bound, unmatched_reasons(arrays, candidates, schedule), stats
    )


def _low_bound(which: str, bound: int, found: int) -> None:
    """A bound below a valid solution is a defect in the bound: say so, never hide it."""
    log.warning("the %s upper bound, %d slots, is below the %d slots of a valid solution; "
                "the solution's count stands as the bound", which, bound, found)


def _seconds_left(share: float, time_limit: float, n_pairs: int, plans: int) -> float:
    """`share` of the time limit less what the first schedule and the swaps are estimated to
    have taken (from counts, not the clock, so every run gets the same)."""
    return share * time_limit - SETUP_SECONDS_PER_PAIR * n_pairs - plans / SWAP_PLANS_PER_SECOND


def _tightened_bound(arrays, candidates, scheduler, schedule: Schedule, plans: int, time_limit: float,
                     deadline: float, cancel: threading.Event | None) -> dict[str, int]:
    """A tighter bound: each master's own exact capacity where the flow is loosest, then prices
    on apprentices' hours that make each master take whole apprentices."""
    n_m = len(arrays.hosting_slots)
    delivered = np.zeros(n_m, dtype=np.int64)
    for pair, sessions in schedule.sessions.items():
        delivered[candidates.master[pair]] += len(sessions)
    n_pairs = len(candidates.apprentice)
    # On rounds too large for enough subgradient steps, the refinement gets that time instead.
    iterations = min(
        LAGRANGE_ITERATIONS,
        int(LAGRANGE_SHARE * time_limit / (LAGRANGE_SECONDS_PER_PAIR * max(n_pairs, 1))),
    )
    if iterations < LAGRANGE_MIN_ITERATIONS:
        iterations = 0
    priced_share = LAGRANGE_SHARE if iterations else 0.0
    refined_bound, refined, master_cap = refined_upper_bound_slots(
        arrays, candidates, scheduler, delivered, deadline - (0.1 + priced_share) * time_limit,
        work_budget=max(0.0, _seconds_left(USABLE_SHARE - priced_share, time_limit, n_pairs, plans)),
        cancel=cancel,
    )
    priced_bound = refined_bound
    if iterations and not (cancel is not None and cancel.is_set()):
        priced_bound = lagrangian_upper_bound_slots(
            arrays, candidates, master_cap, schedule.slots, iterations, deadline - 0.1 * time_limit
        )
    return {"bound": min(refined_bound, priced_bound), "refined": refined, "iterations": iterations}


__all__ = ["Cancelled", "Progress", "Schedule", "solve"]
