"""Neighbourhood search: free a few masters' pairings at once and re-solve them exactly.

The swap search moves one apprentice at a time and settles where no single move helps.
Here a handful of masters who could teach the same apprentices have all their pairings
freed together and re-planned by CP-SAT, with every other session in the round fixed:
moves of several apprentices between several masters at once, each checked exactly.
The work is counted in CP-SAT's deterministic time (and the variables built), never the
clock, so the same round and seed give the same answer; the deadline guards a slow machine.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from ortools.sat.python import cp_model

from .bound import capacities
from .exact import build_model, configured_solver, stop_when_set
from .heuristic import Schedule, Scheduler
from .swaps import RoundState, candidates_by_master

# Candidates per master in a neighbourhood, those with the most common time first. Small
# pieces that CP-SAT settles in a tenth of a second gain more, measured on 1,000 x 200, than
# large ones it cannot finish (12 candidates, 3 masters, 0.1 s: +28 h in 25 s; 30, 4, 0.5: +10 h).
CANDIDATES_PER_MASTER = 12
# Neighbourhood sizes (masters), adjusted as the search learns what solves in its budget.
FIRST_SIZE, MIN_SIZE, MAX_SIZE = 3, 2, 12
# CP-SAT work (deterministic seconds) allowed per neighbourhood.
WORK_PER_NEIGHBOURHOOD = 0.1
# Building a model is work too: about this many deterministic seconds per variable.
WORK_PER_VARIABLE = 2e-5


class NeighbourhoodSearch:
    def __init__(self, scheduler: Scheduler, favour: np.ndarray, seed: int):
        ar, cand = scheduler.arrays, scheduler.candidates
        self.scheduler = scheduler
        self.favour = favour
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        # Each master's candidate pairs, most common time first.
        self.pool = candidates_by_master(cand, len(ar.hosting_slots))
        by_apprentice = np.argsort(cand.apprentice, kind="stable")
        a_bounds = np.searchsorted(
            cand.apprentice[by_apprentice], np.arange(len(ar.observing_slots) + 1)
        )
        self.masters_of = [
            cand.master[by_apprentice[a_bounds[a] : a_bounds[a + 1]]]
            for a in range(len(ar.observing_slots))
        ]

    def neighbours(self, seed_master: int, size: int) -> list[int]:
        """The seed master and the masters sharing most of their candidate apprentices."""
        cand = self.scheduler.candidates
        apprentices = cand.apprentice[self.pool[seed_master][:CANDIDATES_PER_MASTER]]
        if len(apprentices) == 0:
            return [seed_master]
        others = np.concatenate([self.masters_of[int(a)] for a in apprentices])
        others = others[others != seed_master]
        if len(others) == 0:
            return [seed_master]
        masters, counts = np.unique(others, return_counts=True)
        # Most shared first; ties broken at random so repeated visits try new company.
        noise = self.rng.random(len(masters))
        chosen = masters[np.lexsort((noise, -counts))][: size - 1]
        return [seed_master, *chosen.tolist()]

    def by_slack(self, state: RoundState, capacity: np.ndarray) -> np.ndarray:
        """Masters to seed neighbourhoods from, most room to grow first (capacity less what
        they host now); ties at random, so repeated sweeps try new company."""
        cand = self.scheduler.candidates
        hosted = np.zeros(len(capacity), dtype=np.int64)
        for p, slots in state.sessions.items():
            hosted[cand.master[p]] += len(slots)
        return np.lexsort((self.rng.random(len(capacity)), -(capacity - hosted)))

    def resolve(
        self,
        state: RoundState,
        masters: list[int],
        work_limit: float,
        deadline: float,
        cancel: threading.Event | None,
    ) -> tuple[bool, bool, float]:
        """Re-plan these masters' pairings exactly; returns (improved, proven optimal, work)."""
        ar, cand = self.scheduler.arrays, self.scheduler.candidates
        freed = {
            p: state.sessions[p] for m in masters for p in sorted(state.pairs_of_master.get(m, ()))
        }
        for p in freed:
            state.remove(p)
        pairs = sorted(
            {
                *freed,
                *(int(p) for m in masters for p in self.pool[m][:CANDIDATES_PER_MASTER]),
            }
        )
        people = {int(ar.apprentice_person[cand.apprentice[p]]) for p in pairs}
        people |= {int(ar.master_person[m]) for m in masters}
        blocked = {person: state.busy_mask(person) for person in people}
        points = np.zeros(len(ar.observing_slots), dtype=np.int64)
        for p in pairs:
            a = int(cand.apprentice[p])
            if state.degree[a] == 0:
                points[a] = 1 + int(self.favour[a])
        built = build_model(
            self.scheduler,
            pairs,
            points,
            blocked,
            observing_left=ar.observing_slots - state.used,
            masters_left=ar.max_masters - state.degree,
        )
        before = Schedule(freed)
        built.add_hint(before, cand)
        solver = configured_solver(max(0.05, deadline - time.monotonic()), self.seed, 1, work_limit)
        with stop_when_set(solver, cancel):
            status = solver.solve(built.model)
        work = solver.deterministic_time + WORK_PER_VARIABLE * len(built.sessions)
        after = before
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            found = built.schedule(solver)
            if (found.slots, self._paired(found, state)) > (
                before.slots,
                self._paired(before, state),
            ):
                after = found
        for p, slots in after.sessions.items():
            state.add(p, slots)
        return after is not before, status == cp_model.OPTIMAL, work

    def _paired(self, schedule: Schedule, state: RoundState) -> int:
        cand = self.scheduler.candidates
        return sum(
            1 + int(self.favour[a])
            for a in {int(cand.apprentice[p]) for p in schedule.sessions}
            if state.degree[a] == 0
        )


def neighbourhood_search(
    scheduler: Scheduler,
    schedule: Schedule,
    favour: np.ndarray,
    work_budget: float,
    deadline: float,
    seed: int = 0,
    cancel: threading.Event | None = None,
    on_improvement=None,
) -> tuple[Schedule, int]:
    """Improve the schedule neighbourhood by neighbourhood within `work_budget`.

    Returns the schedule and the number of neighbourhoods solved.
    """
    n_m = len(scheduler.arrays.hosting_slots)
    if n_m == 0 or work_budget <= 0:
        return schedule, 0
    search = NeighbourhoodSearch(scheduler, favour, seed)
    state = RoundState(scheduler, schedule.sessions)
    size, spent, solved = FIRST_SIZE, 0.0, 0
    capacity = capacities(scheduler.arrays, scheduler.candidates)[2]
    order = search.by_slack(state, capacity)
    while spent < work_budget and time.monotonic() < deadline:
        if cancel is not None and cancel.is_set():
            break
        seed_master = int(order[solved % n_m])
        if solved % n_m == n_m - 1:
            order = search.by_slack(state, capacity)
        limit = min(WORK_PER_NEIGHBOURHOOD, work_budget - spent)
        improved, optimal, work = search.resolve(
            state, search.neighbours(seed_master, size), limit, deadline, cancel
        )
        spent += work
        solved += 1
        # Grow while neighbourhoods solve to optimality well within their share; shrink when not.
        if optimal and work < limit / 2:
            size = min(MAX_SIZE, size + 1)
        elif not optimal:
            size = max(MIN_SIZE, size - 1)
        if improved and on_improvement is not None:
            on_improvement(sum(len(s) for s in state.sessions.values()))
    return Schedule(dict(state.sessions)), solved
