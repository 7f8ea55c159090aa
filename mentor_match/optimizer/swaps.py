"""Swap search: give each master apprentices who are free at the same times.

A master's hosting hours are few, so an hour that three apprentices can watch together is
worth three of an hour that suits only one. For each master in turn, try replacing one of
their apprentices with a candidate (or adding one while there is room), re-plan that
master's hosting hours and sessions greedily, and keep the move if the round gains hours.
Every other master's sessions stay as they are, so each move is checked exactly.
"""

from __future__ import annotations

import time

import numpy as np

from .heuristic import IN_PERSON, VIRTUAL, Schedule, Scheduler
from .starts import trimmed

CANDIDATES_PER_MASTER = 20


class MasterPlanner:
    """Plans one master's hosting hours and sessions for a given set of apprentices."""

    def __init__(self, scheduler: Scheduler):
        self.scheduler = scheduler
        self.arrays = scheduler.arrays
        self.candidates = scheduler.candidates
        # Each master's own slots, and each pair's (virtual, in-person) masks on them, computed
        # once: a pair can only meet where its master is free, so plans work on those few
        # columns instead of the round's (about 70 of 1,100 at 30-minute slots), and a sweep
        # asks for the same pairs again and again.
        self._columns: dict[int, np.ndarray] = {}
        self._slots: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def columns(self, m: int) -> np.ndarray:
        cols = self._columns.get(m)
        if cols is None:
            ar = self.arrays
            cols = self._columns[m] = np.flatnonzero(ar.master_virtual[m] | ar.master_in_person[m])
        return cols

    def pair_slots(self, pair: int) -> tuple[np.ndarray, np.ndarray]:
        """The pair's masks on its master's columns."""
        slots = self._slots.get(pair)
        if slots is None:
            cols = self.columns(int(self.candidates.master[pair]))
            virtual, in_person = self.scheduler.pair_slots(pair)
            slots = self._slots[pair] = (virtual[cols], in_person[cols])
        return slots

    def plan(
        self,
        m: int,
        pairs: list[int],
        budget: dict[int, int],
        blocked: dict[int, np.ndarray],
        host_blocked: np.ndarray,
    ) -> dict[int, list[tuple[int, int]]]:
        """Sessions per pair for master m, greedily filling their hosting hours."""
        minimum = self.arrays.min_pairing_slots
        while True:
            plan = self._greedy(m, pairs, budget, blocked, host_blocked)
            if self.arrays.start_step[m] > 1:  # sessions start on the master's :00 and :30
                plan = {p: trimmed(self.arrays, m, slots) for p, slots in plan.items()}
            short = [p for p in pairs if len(plan.get(p, ())) < minimum]
            if not short:
                return plan
            pairs = [p for p in pairs if p not in short]
            if not pairs:
                return {}

    def _greedy(self, m, pairs, budget, blocked, host_blocked):
        ar, cand = self.arrays, self.candidates
        if not pairs:
            return {}
        cols = self.columns(m)
        masks = [self.pair_slots(p) for p in pairs]
        virtual = np.array([v for v, _ in masks])
        in_person = np.array([ip for _, ip in masks])
        person = [int(ar.apprentice_person[cand.apprentice[p]]) for p in pairs]
        for i, p in enumerate(pairs):
            a = int(cand.apprentice[p])
            mask = blocked.get(a)
            if mask is not None:
                virtual[i] &= ~mask[cols]
                in_person[i] &= ~mask[cols]
        virtual &= ~host_blocked[cols]
        in_person &= ~host_blocked[cols]
        need = np.array([budget[int(cand.apprentice[p])] for p in pairs], dtype=np.int64)
        v_seats, ip_seats = int(ar.virtual_capacity[m]), int(ar.in_person_capacity[m])
        either = virtual | in_person
        sessions: dict[int, list[tuple[int, int]]] = {}
        # Kept up to date instead of recomputed per hour: how many still-needing apprentices
        # can watch each open slot, and in how many open slots each apprentice is free.
        active = need > 0
        counts = either[active].sum(axis=0).astype(np.int64)
        free = either.sum(axis=1).astype(np.int64)
        seats = v_seats + ip_seats
        for _ in range(int(ar.hosting_slots[m])):
            gain = np.minimum(counts, seats)
            t = int(np.argmax(gain)) if len(gain) else 0
            if not len(gain) or gain[t] <= 0:
                break
            column = either[:, t]
            free -= column
            # Scarce apprentices first: those free in the fewest of the remaining slots.
            order = sorted(
                np.flatnonzero(column & active).tolist(), key=lambda i: (int(free[i]), i)
            )
            counts[t] = 0
            v_left, ip_left = v_seats, ip_seats
            seated: set[int] = set()  # one person, one place: two records never share a slot
            for i in order:
                if person[i] in seated:
                    continue
                if (
                    in_person[i, t]
                    and ip_left > 0
                    and not (virtual[i, t] and v_left > 0 and ip_left <= 0)
                ):
                    mode = IN_PERSON
                    ip_left -= 1
                elif virtual[i, t] and v_left > 0:
                    mode = VIRTUAL
                    v_left -= 1
                else:
                    continue
                sessions.setdefault(pairs[i], []).append((int(cols[t]), mode))
                seated.add(person[i])
                need[i] -= 1
                if need[i] == 0:
                    active[i] = False
                    counts -= either[i]
        if ar.start_step[m] > 1:
            self._start_earlier(m, pairs, sessions, (virtual, in_person), need, person)
        return sessions

    def _start_earlier(self, m, pairs, sessions, masks, need, person) -> None:
        """Move the start of each session that begins off the master's step (a :15 or :45)
        one slot earlier where the pair, a seat and the master's hours allow it, so that
        trimming to the step (`starts.trimmed`) costs nothing there; an apprentice with no
        hours left gives up their last slot for it. What cannot move is trimmed by `plan`."""
        ar = self.arrays
        ids, step, cols = ar.slot_ids, int(ar.start_step[m]), self.columns(m)
        column = {int(t): j for j, t in enumerate(cols.tolist())}
        seats = (int(ar.virtual_capacity[m]), int(ar.in_person_capacity[m]))
        taken: dict[tuple[int, int], int] = {}
        seated: dict[int, set[int]] = {}
        for i, p in enumerate(pairs):
            for t, mode in sessions.get(p, ()):
                taken[(t, mode)] = taken.get((t, mode), 0) + 1
                seated.setdefault(t, set()).add(person[i])
        hours_left = int(ar.hosting_slots[m]) - len(seated)
        for i, p in enumerate(pairs):
            slots = sessions.get(p)
            if not slots:
                continue
            held = set(slots)
            for t, mode in sorted(slots):
                if (t, mode) not in held or int(ids[t]) % step == 0 or (t - 1, mode) in held:
                    continue
                j = column.get(t - 1)
                if (
                    j is None
                    or int(ids[t - 1]) != int(ids[t]) - 1
                    or not masks[mode][i, j]
                    or taken.get((t - 1, mode), 0) >= seats[mode]
                    or person[i] in seated.get(t - 1, ())
                    or (t - 1 not in seated and hours_left <= 0)
                ):
                    continue
                if t - 1 not in seated:
                    hours_left -= 1
                held.add((t - 1, mode))
                taken[(t - 1, mode)] = taken.get((t - 1, mode), 0) + 1
                seated.setdefault(t - 1, set()).add(person[i])
                if need[i] > 0:
                    need[i] -= 1
                    continue
                last = max(held)  # no hours left: the pair's last slot makes way
                held.discard(last)
                taken[last] -= 1
                seated[last[0]].discard(person[i])
                if not seated[last[0]]:
                    del seated[last[0]]
                    hours_left += 1
            sessions[p] = sorted(held)


def candidates_by_master(candidates, n_masters: int) -> list[np.ndarray]:
    """Each master's candidate pairs, those with the most common time first (ties by pair)."""
    order = np.lexsort((-candidates.common, candidates.master))
    bounds = np.searchsorted(candidates.master[order], np.arange(n_masters + 1))
    return [order[bounds[m] : bounds[m + 1]] for m in range(n_masters)]


class RoundState:
    """Hours, pairings and busy slots per person, kept up to date as sessions move."""

    def __init__(self, scheduler: Scheduler, sessions: dict[int, list[tuple[int, int]]]):
        ar = scheduler.arrays
        self.scheduler = scheduler
        self.used = np.zeros(len(ar.observing_slots), dtype=np.int64)
        self.degree = np.zeros(len(ar.observing_slots), dtype=np.int64)
        self.busy: dict[int, np.ndarray] = {}
        self.pairs_of_master: dict[int, set[int]] = {}
        self.sessions = {}
        for pair, slots in sessions.items():
            self.add(pair, slots)

    def _people(self, pair: int) -> tuple[int, int, int, int]:
        ar, cand = self.scheduler.arrays, self.scheduler.candidates
        a, m = int(cand.apprentice[pair]), int(cand.master[pair])
        return a, m, int(ar.apprentice_person[a]), int(ar.master_person[m])

    def _mark(self, person: int, slots: list[int], step: int) -> None:
        counts = self.busy.get(person)
        if counts is None:
            counts = self.busy[person] = np.zeros(self.scheduler.arrays.n_slots, dtype=np.int32)
        np.add.at(counts, slots, step)

    def add(self, pair: int, slots: list[tuple[int, int]]) -> None:
        a, m, apprentice_person, master_person = self._people(pair)
        self.sessions[pair] = slots
        self.used[a] += len(slots)
        self.degree[a] += 1
        self.pairs_of_master.setdefault(m, set()).add(pair)
        times = [t for t, _ in slots]
        self._mark(apprentice_person, times, 1)
        # A master's hour is one busy hour however many watch it.
        hosted = self.busy.setdefault(
            master_person, np.zeros(self.scheduler.arrays.n_slots, dtype=np.int32)
        )
        np.add.at(hosted, times, 1)

    def remove(self, pair: int) -> list[tuple[int, int]]:
        a, m, apprentice_person, master_person = self._people(pair)
        slots = self.sessions.pop(pair)
        self.used[a] -= len(slots)
        self.degree[a] -= 1
        self.pairs_of_master[m].discard(pair)
        times = [t for t, _ in slots]
        self._mark(apprentice_person, times, -1)
        self._mark(master_person, times, -1)
        return slots

    def busy_mask(self, person: int) -> np.ndarray:
        counts = self.busy.get(person)
        if counts is None:
            return np.zeros(self.scheduler.arrays.n_slots, dtype=bool)
        return counts > 0


def swap_search(
    scheduler: Scheduler,
    schedule: Schedule,
    deadline: float,
    max_plans: int,
    sweeps: int = 20,
    target: int | None = None,
) -> tuple[Schedule, int]:
    """Improve the schedule master by master until no swap helps, the work budget is spent or
    the schedule reaches `target` slots (the bound: nothing can beat it).

    The budget counts master plans evaluated, so the same round gives the same answer
    whatever the machine's load; the wall-clock deadline only guards a much slower machine.
    Returns the schedule and the number of plans evaluated.
    """
    plans = 0
    ar, cand = scheduler.arrays, scheduler.candidates
    planner = MasterPlanner(scheduler)
    n_m = len(ar.hosting_slots)
    state = RoundState(scheduler, schedule.sessions)
    # Each master's candidates, most common time first: a short list keeps sweeps fast.
    pool = [pairs.tolist() for pairs in candidates_by_master(cand, n_m)]
    minimum = ar.min_pairing_slots
    scheduled = schedule.slots
    for _ in range(sweeps):
        improved = False
        for m in range(n_m):
            if (
                plans >= max_plans
                or time.monotonic() > deadline
                or (target is not None and scheduled >= target)
            ):
                return Schedule(state.sessions), plans
            current = sorted(state.pairs_of_master.get(m, ()))
            own = {p: state.remove(p) for p in current}
            base_total = sum(len(s) for s in own.values())
            host_blocked = state.busy_mask(int(ar.master_person[m]))

            free = []
            for p in pool[m]:
                if p in own:
                    continue
                a = int(cand.apprentice[p])
                if (
                    state.degree[a] < ar.max_masters[a]
                    and ar.observing_slots[a] - state.used[a] >= minimum
                ):
                    free.append(p)
                    if len(free) == CANDIDATES_PER_MASTER:
                        break
            options = [current]
            if len(current) < ar.max_apprentices[m]:
                options += [current + [q] for q in free]
            for p in current:
                options += [[x for x in current if x != p] + [q] for q in free]
            best_total, best_plan = base_total, own
            plans += len(options)
            busy: dict[
                int, np.ndarray
            ] = {}  # per person; the state is fixed while options are tried
            for pairs in options:
                budget, blocked = {}, {}
                for p in pairs:
                    a = int(cand.apprentice[p])
                    budget[a] = int(ar.observing_slots[a] - state.used[a])
                    person = int(ar.apprentice_person[a])
                    if person not in busy:
                        busy[person] = state.busy_mask(person)
                    blocked[a] = busy[person]
                plan = planner.plan(m, pairs, budget, blocked, host_blocked)
                total = sum(len(s) for s in plan.values())
                if total > best_total:
                    best_total, best_plan = total, plan
            for p, slots in best_plan.items():
                state.add(p, slots)
            scheduled += best_total - base_total
            improved |= best_plan is not own
        if not improved:
            break
    return Schedule(state.sessions), plans
