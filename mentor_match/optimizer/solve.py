"""solve(problem, time_limit, on_progress, cancel): the optimizer's one entry point.

The pipeline: candidate pairs and a max-flow bound; a b-matching and a slot-level flow
for a first schedule; a swap search that gives masters apprentices free at the same
times; then, side by side on two threads until the time is nearly up, a neighbourhood
search that re-solves a few masters at a time exactly with CP-SAT, and a tighter bound
(the pair LP on capacities capped slot by slot, per-master exact capacities, the
pair LP again with them); or, for rounds
small enough, the whole round in CP-SAT from that schedule instead. The phases before the
two threads are bounded by work, so they give the same schedule for the same problem and seed.
What follows uses the time left and stops early only when the hours are proven optimal: a
run proven optimal gives the same answer every time (CP-SAT's interleaved search stops at
the same proof), one that is not depends on the pace.
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
    capacities,
    pair_capacity,
    pair_lp_upper_bound_slots,
    refined_upper_bound_slots,
    slot_capacity,
    upper_bound_slots,
)
from .exact import count_session_variables, solve_exact
from .heuristic import Schedule, Scheduler, b_matching, improve
from .lns import neighbourhood_search
from .model import build_arrays, find_candidates
from .problem import Problem, load_problem
from .solution import gap, solution_document, unmatched_reasons
from .starts import aligned

log = logging.getLogger(__name__)

# Rounds whose whole CP-SAT model stays this small are solved exactly (proven optimal
# when time allows); larger ones use the flow heuristic and its bound.
EXACT_MODEL_LIMIT = 25_000
# The whole-round CP-SAT search has no work limit of its own: a run stops early only when
# proven optimal (issue 22). It was given 0.6 deterministic seconds per second of the limit,
# which left a round of 60 x 20 at 15-minute slots unproven at 5.9 s of its 10.
WHOLE_ROUND_WORK = float("inf")
# Master plans the swap search may evaluate per second of the time limit (measured on this
# 2-core machine: about 5,500 a second on rounds of 1,000 x 200 and 10,000 x 2,000).
PLANS_PER_SECOND = 4_000
SWAP_SHARE = 0.7
# The neighbourhood search and the bound run until this share of the time limit is left:
# room to collect both threads and write the solution.
FINISH_SHARE = 0.04
# The bound thread stops refining masters' capacities this many times the first pair LP's
# time before the finish, so that the LP can be solved again with the refined capacities.
# (plus a few seconds, as one master's refinement may run past its deadline).
LP_AGAIN_MARGIN = 2.0
LP_AGAIN_SECONDS = 2.0
# Progress is reported at least this often while a run works, whatever the phase.
TICK_SECONDS = 0.5


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
        return gap(self.observation_hours, self.upper_bound)


def solve(
    problem: dict | Problem,
    time_limit: float = 60.0,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    seed: int = 0,
    deadline: float | None = None,
) -> dict:
    """Pair apprentices with masters and schedule sessions; returns a solution document.

    `time_limit` sets the first phases' work budget; the search then uses the time until
    `deadline` (a time.monotonic() instant, by default `time_limit` from now, when the answer
    is due) and stops early only once the hours are proven optimal.
    Raises ProblemError for a malformed problem and Cancelled if `cancel` is set.
    """
    started = time.monotonic()
    if deadline is None:
        deadline = started + time_limit
    ticker = _Ticker(on_progress, started)
    ticker.start()
    try:
        return _solve(problem, time_limit, ticker, cancel, seed, deadline, started)
    finally:
        ticker.stop()


def _solve(
    problem: dict | Problem,
    time_limit: float,
    ticker: _Ticker,
    cancel: threading.Event | None,
    seed: int,
    deadline: float,
    started: float,
) -> dict:
    """The search behind `solve`, reporting through `ticker`."""

    def elapsed() -> float:
        return time.monotonic() - started

    def check_cancel() -> None:
        if cancel is not None and cancel.is_set():
            raise Cancelled()

    # Set once a schedule reaches the bound (nothing can beat it, so every phase stops at
    # once) or when the search is over (the bound thread stops at its next check).
    enough = threading.Event()

    def report(phase: str, slots: int | None, bound: int | None) -> None:
        if slots is not None and bound is not None and slots >= bound:
            enough.set()
        hours = None if slots is None else slots * arrays.slot_hours
        ticker.report(phase, hours, None if bound is None else bound * arrays.slot_hours)

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
        n_a,
        n_m,
        candidates.apprentice,
        candidates.master,
        weight,
        np.minimum(arrays.max_masters, 1),
        arrays.max_apprentices,
    )
    schedule = scheduler.schedule(first)
    report("first schedule", schedule.slots, bound)
    check_cancel()

    def out_of_time() -> bool:
        return time.monotonic() > deadline - 0.1 * time_limit or (
            cancel is not None and cancel.is_set()
        )

    schedule = improve(scheduler, schedule, scale, favour, rounds=6, out_of_time=out_of_time)
    # The first schedule may start sessions off a master's :00 and :30; the searches below
    # keep the rule (a master's re-planned sessions are trimmed to it, CP-SAT carries it),
    # so they start from a schedule that does too and weigh every plan the same way.
    schedule = aligned(scheduler, schedule)
    report("improved", schedule.slots, bound)
    exact_size = count_session_variables(scheduler) if len(candidates.apprentice) < 5_000 else None
    small = exact_size is not None and exact_size <= EXACT_MODEL_LIMIT
    finish = deadline - FINISH_SHARE * time_limit
    # On rounds too large to solve whole, the bound is tightened on the other core from now
    # until the finish (CP-SAT and the LP solvers leave Python's lock while they work), while
    # this thread improves the schedule: swaps until they settle, then neighbourhoods.
    settled = _either(cancel, enough)
    pool = tightening = None
    if not small and bound != schedule.slots:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="optimizer-bound")
        tightening = pool.submit(
            _tightened_bound,
            arrays,
            candidates,
            scheduler,
            schedule,
            finish,
            settled,
        )
    try:
        if small:
            schedule, plans = swaps.swap_search(
                scheduler,
                schedule,
                deadline - 0.25 * time_limit,
                int(PLANS_PER_SECOND * SWAP_SHARE * time_limit),
                target=bound,
            )
        else:  # the only phase still gaining when it stops on large rounds: give it the time
            schedule, plans = swaps.swap_search(
                scheduler, schedule, finish, 10**12, sweeps=1_000, target=bound
            )
        report("swaps", schedule.slots, bound)
        check_cancel()
        optimal = bound == schedule.slots
        method = "flow heuristic + swap search"
        refined = iterations = neighbourhoods = 0
        if not optimal and small:
            # Small enough to solve whole: CP-SAT's own bound covers the entire round.
            remaining = deadline - time.monotonic() - 0.05 * time_limit
            exact = solve_exact(
                scheduler,
                schedule,
                max(0.1, remaining),
                seed,
                favour,
                cancel,  # CP-SAT stops itself once proven optimal, at the same point every time
                on_solution=lambda slots, b: report("exact search", slots, min(b, bound)),
                work_limit=WHOLE_ROUND_WORK,  # interleaved, so a proof lands the same each time
                target=bound,
            )
            check_cancel()
            if exact.bound_slots is not None and exact.bound_slots >= schedule.slots:
                bound = min(bound, exact.bound_slots)
            elif exact.bound_slots is not None:
                _low_bound("whole-round CP-SAT", exact.bound_slots, schedule.slots)
            if exact.schedule is not None and (
                exact.schedule.slots,
                exact.schedule.apprentices_paired(candidates),
            ) >= (schedule.slots, schedule.apprentices_paired(candidates)):
                schedule = exact.schedule
                method = "CP-SAT (whole round)"
            optimal = exact.optimal or bound == schedule.slots
        elif not optimal:
            schedule, neighbourhoods = neighbourhood_search(
                scheduler,
                schedule,
                favour,
                float("inf"),
                finish,
                seed,
                settled,
                on_improvement=lambda slots: report("neighbourhood search", slots, bound),
            )
            check_cancel()
            # Proven optimal: an LP under way in the bound thread is not waited for.
            tightened = Tightened(bound, 0, 0) if enough.is_set() else tightening.result()
            if neighbourhoods:
                method += " + neighbourhood search"
            check_cancel()
            refined, iterations = tightened.refined, tightened.lp_solves
            if tightened.bound < schedule.slots:
                _low_bound("refined and priced", tightened.bound, schedule.slots)
            bound = min(bound, max(tightened.bound, schedule.slots))
            optimal = bound == schedule.slots
            report("bound refined", schedule.slots, bound)
    finally:
        # Proven optimal, finished or cancelled: the bound thread stops at its next check; an
        # LP solve under way finishes on its own.
        enough.set()
        if pool is not None:
            pool.shutdown(wait=False)
    final = aligned(scheduler, schedule)
    if final is not schedule:  # the searches keep the rule; this is a safety net
        log.warning(
            "a session started off its master's step; %d slots trimmed",
            schedule.slots - final.slots,
        )
        schedule, optimal = final, bound == final.slots
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
        "bound_lp_solves": iterations,
        "neighbourhoods": neighbourhoods,
    }
    return solution_document(
        arrays, candidates, schedule, bound, unmatched_reasons(arrays, candidates, schedule), stats
    )


def _low_bound(which: str, bound: int, found: int) -> None:
    """A bound below a valid solution is a defect in the bound: say so, never hide it."""
    log.warning(
        "the %s upper bound, %d slots, is below the %d slots of a valid solution; "
        "the solution's count stands as the bound",
        which,
        bound,
        found,
    )


class _Ticker(threading.Thread):
    """Passes each report on, and repeats the latest with a fresh elapsed time at least every
    TICK_SECONDS, so progress moves while a phase works without reporting (swaps, an LP)."""

    def __init__(self, on_progress: Callable[[Progress], None] | None, started: float) -> None:
        super().__init__(name="optimizer-progress", daemon=True)
        self.on_progress = on_progress
        self.started = started
        self.latest: tuple[str, float | None, float | None] = ("preparing", None, None)
        self.halt = threading.Event()

    def report(self, phase: str, hours: float | None, bound: float | None) -> None:
        self.latest = (phase, hours, bound)
        self._send()

    def _send(self) -> None:
        if self.on_progress is not None:
            phase, hours, bound = self.latest
            self.on_progress(Progress(phase, time.monotonic() - self.started, hours, bound))

    def start(self) -> None:
        if self.on_progress is not None:
            super().start()

    def run(self) -> None:
        while not self.halt.wait(TICK_SECONDS):
            self._send()

    def stop(self) -> None:
        self.halt.set()
        if self.is_alive():
            self.join()


class _either:
    """Set when either of two events is (the bound thread's stop signal)."""

    def __init__(self, first: threading.Event | None, second: threading.Event) -> None:
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.second.is_set() or (self.first is not None and self.first.is_set())


@dataclass(frozen=True)
class Tightened:
    bound: int  # slots
    refined: int  # masters whose own exact capacity replaced the flow's
    lp_solves: int  # pair LPs solved


def _tightened_bound(
    arrays, candidates, scheduler, schedule: Schedule, finish: float, cancel: threading.Event | None
) -> Tightened:
    """A tighter bound by `finish`: the pair LP; then each master's own exact capacity where
    the bound is loosest; then the pair LP again with those capacities, if it fits in time."""
    n_m = len(arrays.hosting_slots)
    delivered = np.zeros(n_m, dtype=np.int64)
    for pair, sessions in schedule.sessions.items():
        delivered[candidates.master[pair]] += len(sessions)
    bound = upper_bound_slots(arrays, candidates)
    started = time.monotonic()
    master_cap = slot_capacity(scheduler, capacities(arrays, candidates)[2])
    first = pair_lp_upper_bound_slots(
        arrays, candidates, master_cap, time_limit=float("inf"), deadline=finish
    )
    lp_seconds = time.monotonic() - started
    solves = int(first is not None)
    if first is not None:
        bound = min(bound, first)
    if cancel is not None and cancel.is_set():
        return Tightened(bound, 0, solves)
    # Leave room for the second LP (it takes about as long as the first).
    refine_until = finish - LP_AGAIN_MARGIN * lp_seconds - LP_AGAIN_SECONDS
    refined_bound, refined, master_cap = refined_upper_bound_slots(
        arrays,
        candidates,
        scheduler,
        delivered,
        refine_until,
        work_budget=float("inf"),
        cancel=cancel,
        master_cap=master_cap,
    )
    bound = min(bound, refined_bound)
    if refined and time.monotonic() < finish and not (cancel is not None and cancel.is_set()):
        second = pair_lp_upper_bound_slots(
            arrays, candidates, master_cap, time_limit=float("inf"), deadline=finish
        )
        if second is not None:
            bound, solves = min(bound, second), solves + 1
    return Tightened(bound, refined, solves)


__all__ = ["Cancelled", "Progress", "Schedule", "solve"]
