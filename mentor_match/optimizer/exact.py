"""The whole round as one CP-SAT model.

For a small round the optimizer solves it from the heuristic's schedule (proven optimal
when time allows); the benchmark's direct-CP-SAT baseline solves it with no help.

One boolean per free pair, per (pair, slot, mode) session and per (master, slot) hosting
hour, with every rule of the round format as a constraint. The objective counts slots
first and then newly paired apprentices (favoured ones double), so hours always win.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from .heuristic import IN_PERSON, VIRTUAL, Schedule, Scheduler


@dataclass
class ExactResult:
    schedule: Schedule | None
    bound_slots: int | None  # proven bound on the round's slots
    optimal: bool
    variables: int
    work: float = 0.0  # CP-SAT deterministic time spent


def configured_solver(
    time_limit: float, seed: int, workers: int, work_limit: float | None
) -> cp_model.CpSolver:
    """A CP-SAT solver set up the way every model here is solved."""
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed % 2**31
    # Rounds are solved in worker threads: CP-SAT must not take over Ctrl-C there.
    solver.parameters.catch_sigint_signal = False
    if work_limit is not None:
        solver.parameters.max_deterministic_time = max(0.01, work_limit)
        # Interleaved workers take turns on one thread: a portfolio's strength (it proves
        # small rounds optimal in seconds) with the same answer on every run.
        solver.parameters.interleave_search = True
        if workers > 1:
            _stop_when_done(solver)
    return solver


# How long after its '#Done' an interleaved search is left to finish on its own before it is
# stopped. Stopped at the line itself, the workers' last solutions were sometimes not yet
# handed in: a proven round gave one of two equally good answers from run to run.
DONE_GRACE_SECONDS = 1.0


def _stop_when_done(solver: cp_model.CpSolver) -> None:
    """Stop an interleaved search as soon as it is proven done.

    OR-Tools 9.15's interleaved workers log "#Done" when the search is proven optimal, then
    run on until the time limit (measured: a round of 60 x 20 proven at 1.7 s of a 4 s limit
    returned at 4.3 s), so a run proven optimal did not end until its time was up. The log
    line is the one signal CP-SAT gives at that moment; it is read, not shown.
    """
    solver.parameters.log_search_progress = True
    solver.parameters.log_to_stdout = False

    def read(line: str) -> None:
        if line.startswith("#Done"):
            stop = threading.Timer(DONE_GRACE_SECONDS, solver.stop_search)
            stop.daemon = True
            stop.start()

    solver.log_callback = read


@contextmanager
def stop_when_set(solver: cp_model.CpSolver, cancel: threading.Event | None):
    """Stop the solver promptly when `cancel` is set, not only at its next solution."""
    if cancel is None:
        yield
        return
    finished = threading.Event()

    def watch() -> None:
        while not finished.wait(0.05):
            if cancel.is_set():
                solver.stop_search()
                return

    watcher = threading.Thread(target=watch, name="cp-sat-cancel", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        finished.set()
        watcher.join()


class _Reporter(cp_model.CpSolverSolutionCallback):
    """Reports each solution in slots with CP-SAT's bound; stops on `cancel`, or once a
    solution meets `target`, a bound on the slots known elsewhere (CP-SAT's own bound stops
    it through its gap limit, or at its proof: `_stop_when_done`)."""

    def __init__(
        self, weight: int, on_solution, cancel: threading.Event | None, target: int | None
    ):
        super().__init__()
        self.weight = weight
        self.on_solution = on_solution
        self.cancel = cancel
        self.target = target

    def on_solution_callback(self) -> None:
        slots = int(self.objective_value) // self.weight
        if self.on_solution:
            self.on_solution(slots, int(self.best_objective_bound) // self.weight)
        met = self.target is not None and slots >= self.target
        if met or (self.cancel is not None and self.cancel.is_set()):
            self.stop_search()


@dataclass
class RoundModel:
    """A CP-SAT model of some pairs of a round, with its variables by key."""

    model: cp_model.CpModel
    weight: int  # objective points per slot
    sessions: dict[tuple[int, int, int], cp_model.IntVar]  # (pair, slot, mode)
    pair_var: dict[int, cp_model.IntVar]
    hosting: dict[tuple[int, int], cp_model.IntVar]  # (master, slot)

    def add_hint(self, hint: Schedule, candidates) -> None:
        chosen = {(p, t, mode) for p, slots in hint.sessions.items() for t, mode in slots}
        for key, x in self.sessions.items():
            self.model.add_hint(x, key in chosen)
        for p, z in self.pair_var.items():
            self.model.add_hint(z, p in hint.sessions)
        hosted = {
            (int(candidates.master[p]), t) for p, slots in hint.sessions.items() for t, _ in slots
        }
        for key, h in self.hosting.items():
            self.model.add_hint(h, key in hosted)

    def schedule(self, solver: cp_model.CpSolver) -> Schedule:
        result = Schedule()
        for (p, t, mode), x in self.sessions.items():
            if solver.boolean_value(x):
                result.sessions.setdefault(p, []).append((t, mode))
        return result


def build_model(
    scheduler: Scheduler,
    pairs,
    pairing_points: np.ndarray,
    blocked: dict[int, np.ndarray] | None = None,
    observing_left: np.ndarray | None = None,
    masters_left: np.ndarray | None = None,
    tie_break_share: int = 1,
) -> RoundModel:
    """Every rule of the round format over `pairs`, as CP-SAT constraints.

    The whole round by default. For a piece of it (the neighbourhoods of lns.py), people's
    slots taken elsewhere are `blocked` (person -> bool per slot), and apprentices have
    `observing_left` slots and `masters_left` pairings left. The objective counts slots,
    then `pairing_points[a]` for each apprentice a newly paired (worth less than a slot:
    all of them together are worth at most 1 / `tie_break_share` of one).
    """
    ar, cand = scheduler.arrays, scheduler.candidates
    blocked = blocked or {}
    observing = ar.observing_slots if observing_left is None else observing_left
    max_masters = ar.max_masters if masters_left is None else masters_left
    weight = tie_break_share * int(pairing_points.sum()) + 1
    minimum = ar.min_pairing_slots
    model = cp_model.CpModel()
    sessions: dict[tuple[int, int, int], cp_model.IntVar] = {}
    pair_var: dict[int, cp_model.IntVar] = {}
    by_person_slot: dict[tuple[int, int], list] = {}
    by_master_slot_mode: dict[tuple[int, int, int], list] = {}
    pairs_of_apprentice: dict[int, list] = {}
    pairs_of_master: dict[int, list] = {}
    slots_of_apprentice: dict[int, list] = {}
    for p in pairs:
        a, m = int(cand.apprentice[p]), int(cand.master[p])
        if observing[a] < minimum or max_masters[a] <= 0:
            continue
        person, host = int(ar.apprentice_person[a]), int(ar.master_person[m])
        virtual, in_person = scheduler.pair_slots(p)
        taken = blocked.get(person)
        if host in blocked:
            taken = blocked[host] if taken is None else taken | blocked[host]
        if taken is not None:
            virtual, in_person = virtual & ~taken, in_person & ~taken
        keys = [
            (t, mode)
            for mode, mask in ((VIRTUAL, virtual), (IN_PERSON, in_person))
            for t in np.flatnonzero(mask).tolist()
        ]
        if len(keys) < minimum:
            continue
        xs = []
        for t, mode in keys:
            x = model.new_bool_var(f"x{p}_{t}_{mode}")
            sessions[(p, t, mode)] = x
            xs.append(x)
            by_person_slot.setdefault((person, t), []).append(x)
            by_master_slot_mode.setdefault((m, t, mode), []).append(x)
        z = pair_var[p] = model.new_bool_var(f"z{p}")
        # Link each session to its pair, not just the sum: the LP relaxation is much
        # tighter, which is what lets CP-SAT prove small rounds optimal.
        for x in xs:
            model.add_implication(x, z)
        cap = min(len(xs), int(observing[a]), int(ar.hosting_slots[m]))
        model.add(sum(xs) <= cap * z)
        model.add(sum(xs) >= minimum * z)
        pairs_of_apprentice.setdefault(a, []).append(z)
        pairs_of_master.setdefault(m, []).append(z)
        slots_of_apprentice.setdefault(a, []).extend(xs)
    _start_on_step(model, ar, cand, sessions)
    hosting: dict[tuple[int, int], cp_model.IntVar] = {}
    for (m, t, mode), xs in by_master_slot_mode.items():
        if (m, t) not in hosting:
            hosting[(m, t)] = model.new_bool_var(f"h{m}_{t}")
        capacity = int(ar.virtual_capacity[m] if mode == VIRTUAL else ar.in_person_capacity[m])
        model.add(sum(xs) <= capacity * hosting[(m, t)])
        for x in xs:
            model.add_implication(x, hosting[(m, t)])
    # One place at a time: a person observes at most once per slot, and never while hosting.
    for (m, t), h in hosting.items():
        by_person_slot.setdefault((int(ar.master_person[m]), t), []).append(h)
    for terms in by_person_slot.values():
        if len(terms) > 1:
            model.add(sum(terms) <= 1)
    hosted: dict[int, list] = {}
    for (m, _t), h in hosting.items():
        hosted.setdefault(m, []).append(h)
    for m, hs in hosted.items():
        if len(hs) > ar.hosting_slots[m]:
            model.add(sum(hs) <= int(ar.hosting_slots[m]))
    for a, xs in slots_of_apprentice.items():
        if len(xs) > observing[a]:
            model.add(sum(xs) <= int(observing[a]))
    for a, zs in pairs_of_apprentice.items():
        if len(zs) > max_masters[a]:
            model.add(sum(zs) <= int(max_masters[a]))
    for m, zs in pairs_of_master.items():
        if len(zs) > ar.max_apprentices[m]:
            model.add(sum(zs) <= int(ar.max_apprentices[m]))
    paired_terms = []
    for a, zs in pairs_of_apprentice.items():
        if pairing_points[a]:
            paired = model.new_bool_var(f"paired{a}")
            model.add(paired <= sum(zs))
            paired_terms.append(int(pairing_points[a]) * paired)
    model.maximize(weight * sum(sessions.values()) + sum(paired_terms))
    return RoundModel(model, weight, sessions, pair_var, hosting)


def _start_on_step(model: cp_model.CpModel, ar, cand, sessions: dict) -> None:
    """A session starts on its master's step (starts.py): a slot off the step is used only
    when the slot just before it is, in the same mode, for the same pair."""
    steps = ar.start_step
    if not (steps > 1).any():
        return
    ids = ar.slot_ids
    for (p, t, mode), x in sessions.items():
        step = int(steps[cand.master[p]])
        epoch = int(ids[t])
        if step <= 1 or epoch % step == 0:
            continue
        before = sessions.get((p, t - 1, mode)) if t > 0 and int(ids[t - 1]) == epoch - 1 else None
        if before is None:
            model.add(x == 0)
        else:
            model.add_implication(x, before)


def solve_exact(
    scheduler: Scheduler,
    hint: Schedule | None,
    time_limit: float,
    seed: int,
    favour: np.ndarray,
    cancel: threading.Event | None = None,
    on_solution=None,
    workers: int = 4,
    work_limit: float | None = None,
    target: int | None = None,
) -> ExactResult:
    """Solve the whole round with CP-SAT within the time limit, from an optional hint, and
    stop once the slots are proven optimal: by CP-SAT's own bound, or by `target`, a bound
    on the slots known elsewhere.

    With `work_limit` the search is deterministic (CP-SAT's interleaved workers and its
    deterministic time), so the same model and seed give the same answer whatever the
    machine's load; `time_limit` is a safety net. Without it, `workers` run in parallel.
    The time limit counts from the call, so building the model is inside it.
    """
    called = time.monotonic()
    cand = scheduler.candidates
    # A newly paired apprentice is worth one point, a favoured one two.
    # Pairing points add up to at most half a slot, and CP-SAT stops within half a slot of
    # its bound (its own deterministic stop, so the same seed gives the same answer): the
    # slots are then proven optimal, which pairing more apprentices never outweighs.
    points = 1 + favour
    built = build_model(scheduler, range(len(cand.apprentice)), points, tie_break_share=2)
    if hint is not None:
        built.add_hint(hint, cand)

    left = time_limit - (time.monotonic() - called)
    solver = configured_solver(left, seed, workers, work_limit)
    solver.parameters.absolute_gap_limit = (built.weight - 1) // 2
    with stop_when_set(solver, cancel):
        status = solver.solve(built.model, _Reporter(built.weight, on_solution, cancel, target))
    work_done = solver.deterministic_time
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # With no solution CP-SAT's "bound" is not a statement about the round: drop it.
        return ExactResult(None, None, optimal=False, variables=len(built.sessions), work=work_done)
    bound = int(solver.best_objective_bound) // built.weight
    return ExactResult(
        built.schedule(solver), bound, status == cp_model.OPTIMAL, len(built.sessions), work_done
    )


def count_session_variables(scheduler: Scheduler, pairs: np.ndarray | None = None) -> int:
    """How many session booleans a model over these pairs (default: all) would need."""
    candidates = scheduler.candidates
    pairs = np.arange(len(candidates.apprentice)) if pairs is None else pairs
    total = 0
    for pair in pairs.tolist():
        virtual, in_person = scheduler.pair_slots(pair)
        total += int(virtual.sum()) + int(in_person.sum())
    return total
