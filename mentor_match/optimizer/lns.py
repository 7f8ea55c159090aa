"""Large-neighbourhood search: re-solve a few related masters exactly, keep what is better.

A neighbourhood is a seed master plus the masters competing for the same apprentices,
grown until the CP-SAT model reaches about NEIGHBOURHOOD_VARIABLES session booleans (small
models with a complete hint solve in seconds on two cores; large ones do not). Every
candidate pair of those masters is free; every other session stays as it is.
"""
from __future__ import annotations

import random
import time

import numpy as np

from .exact import neighbourhood, solve_scope
from .heuristic import Schedule, Scheduler

NEIGHBOURHOOD_VARIABLES = 6_000
MAX_MASTERS = 14


class Neighbourhoods:
    """Which masters compete for which apprentices, to grow neighbourhoods from a seed."""

    def __init__(self, scheduler: Scheduler, seed: int):
        cand = scheduler.candidates
        self.scheduler = scheduler
        self.rng = random.Random(seed)
        order = np.argsort(cand.master, kind="stable")
        bounds = np.searchsorted(cand.master[order], np.arange(len(scheduler.arrays.hosting_slots) + 1))
        self.pairs_of_master = [order[bounds[m]:bounds[m + 1]] for m in range(len(bounds) - 1)]
        order = np.argsort(cand.apprentice, kind="stable")
        bounds = np.searchsorted(cand.apprentice[order], np.arange(len(scheduler.arrays.observing_slots) + 1))
        self.pairs_of_apprentice = [order[bounds[a]:bounds[a + 1]] for a in range(len(bounds) - 1)]
        # Session booleans a master brings: both modes of every candidate pair, roughly.
        self.size = np.bincount(cand.master, weights=cand.common * 1.3, minlength=len(self.pairs_of_master))
        self.masters = [m for m in range(len(self.pairs_of_master)) if len(self.pairs_of_master[m])]

    def grow(self, seed_master: int) -> set[int]:
        cand = self.scheduler.candidates
        chosen = {seed_master}
        size = self.size[seed_master]
        shared: dict[int, int] = {}
        while len(chosen) < MAX_MASTERS:
            for m in list(chosen):
                for p in self.pairs_of_master[m].tolist():
                    for q in self.pairs_of_apprentice[int(cand.apprentice[p])].tolist():
                        other = int(cand.master[q])
                        if other not in chosen:
                            shared[other] = shared.get(other, 0) + 1
            if not shared:
                break
            best = max(shared, key=lambda m: (shared[m], -m))
            if size + self.size[best] > NEIGHBOURHOOD_VARIABLES:
                break
            chosen.add(best)
            size += self.size[best]
            shared.clear()
        return chosen

    def seeds(self):
        """Masters in a fresh random order, over and over."""
        while True:
            order = self.masters[:]
            self.rng.shuffle(order)
            yield from order


def search(
    scheduler: Scheduler,
    current: Schedule,
    deadline: float,
    seed: int,
    favour: np.ndarray,
    cancel,
    on_improvement,
) -> tuple[Schedule, int]:
    """Improve the schedule until the deadline; returns it with the number of neighbourhoods tried."""
    cand = scheduler.candidates
    hoods = Neighbourhoods(scheduler, seed)
    tried = 0
    for seed_master in hoods.seeds():
        remaining = deadline - time.monotonic()
        if remaining < 0.3 or (cancel is not None and cancel.is_set()):
            break
        masters = hoods.grow(seed_master)
        scope = neighbourhood(scheduler, current, masters)
        inside = Schedule({p: s for p, s in current.sessions.items() if int(cand.master[p]) in masters})
        result = solve_scope(scheduler, scope, inside, min(2.0, remaining), seed + tried, favour, cancel)
        tried += 1
        if result.schedule is None:
            continue
        before = (inside.slots, _newly_paired(inside, scope, cand))
        after = (result.schedule.slots, _newly_paired(result.schedule, scope, cand))
        if after > before:
            kept = {p: s for p, s in current.sessions.items() if int(cand.master[p]) not in masters}
            kept.update(result.schedule.sessions)
            current = Schedule(kept)
            on_improvement(current)
    return current, tried


def _newly_paired(schedule: Schedule, scope, cand) -> int:
    return len({int(cand.apprentice[p]) for p in schedule.sessions} - set(np.flatnonzero(scope.already_paired).tolist()))
