"""A proven upper bound on observation hours, from a max-flow relaxation of the whole round.

Network: source -> apprentice -> master -> sink, one arc per candidate pair. Every
feasible solution routes each pair's slots along its arc, so the maximum flow bounds the
best solution. The capacities keep what a pair, an apprentice and a master can give:

* pair:       min(common slots, apprentice's slots, master's hosting slots)
* apprentice: min(their slots, the sum of their best `max_masters` pair capacities)
* master:     min(hosting slots x seats per slot, the sum of their best `max_apprentices`)

Dropped on purpose (so it stays a relaxation): the hour-by-hour timetable, "one place at a
time", and the minimum hours per pairing.

The flow lets a master collect a few hours from each of many apprentices, more than their
`max_apprentices`. `lagrangian_upper_bound_slots` closes most of that: it prices each
apprentice's hours and lets every master pick whole apprentices on their own.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.graph.python import max_flow
from ortools.linear_solver.python import model_builder_helper as mbh
from ortools.sat.python import cp_model

from .exact import configured_solver
from .model import Candidates, RoundArrays

# The pair LP's solvers. Glop (OR-Tools' simplex) up to SIMPLEX_MAX_PAIRS candidate pairs:
# 0.1 s at 1,000 x 200 (7k pairs). Beyond, PDLP (first-order): at 10,000 x 2,000 (690k pairs)
# Glop stopped after 40 s gave nothing better than the flow, PDLP gave 55,213 h against the
# flow's 55,947 (the LP optimum is about 55,206). The bound is rebuilt from the duals either
# way, so an approximate or stopped solve still gives a valid bound. HiGHS through
# model_builder (OR-Tools 9.15) returns row activities where the duals should be (checked on
# a two-row LP), so it cannot be used here.
SIMPLEX_MAX_PAIRS = 100_000


def top_k_sums(
    groups: np.ndarray, values: np.ndarray, limits: np.ndarray, n_groups: int
) -> np.ndarray:
    """For each group, the sum of its `limits[group]` largest values."""
    if len(groups) == 0:
        return np.zeros(n_groups, dtype=np.int64)
    order = np.lexsort((-values, groups))
    g, v = groups[order], values[order]
    starts = np.searchsorted(g, g, side="left")
    rank = np.arange(len(g)) - starts
    kept = rank < limits[g]
    return np.bincount(g[kept], weights=v[kept], minlength=n_groups).astype(np.int64)


def pair_capacity(arrays: RoundArrays, candidates: Candidates) -> np.ndarray:
    """Most slots each candidate pair could fill on its own."""
    return np.minimum.reduce(
        [
            candidates.common,
            arrays.observing_slots[candidates.apprentice],
            arrays.hosting_slots[candidates.master],
        ]
    )


def capacities(
    arrays: RoundArrays, candidates: Candidates
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The relaxation's arc capacities: (per pair, per apprentice, per master), in slots."""
    n_a, n_m = len(arrays.observing_slots), len(arrays.hosting_slots)
    pair_cap = pair_capacity(arrays, candidates)
    apprentice_cap = np.minimum(
        arrays.observing_slots,
        top_k_sums(candidates.apprentice, pair_cap, arrays.max_masters, n_a),
    )
    seats = arrays.virtual_capacity + arrays.in_person_capacity
    master_cap = np.minimum(
        arrays.hosting_slots * seats,
        top_k_sums(candidates.master, pair_cap, arrays.max_apprentices, n_m),
    )
    return pair_cap, apprentice_cap, master_cap


def slot_capacity(scheduler, master_cap: np.ndarray) -> np.ndarray:
    """Each master's capacity, capped by who could watch when (a valid bound per master).

    A master hosts in at most `hosting_slots` slots; in a slot at most min(video seats,
    candidates free for video then) + min(room seats, candidates free in person then)
    watch, and never more than `max_apprentices`. So the sum of the master's best
    `hosting_slots` such slots bounds what they host, whoever else is in the round. Tighter
    than hosting slots x seats where candidates are free at scattered times.
    """
    ar, cand = scheduler.arrays, scheduler.candidates
    capped = master_cap.copy()
    order = np.argsort(cand.master, kind="stable")
    starts = np.searchsorted(cand.master[order], np.arange(len(master_cap) + 1))
    for m in range(len(master_cap)):
        pairs = order[starts[m] : starts[m + 1]]
        if len(pairs) == 0:
            capped[m] = 0
            continue
        cols = np.flatnonzero(ar.master_virtual[m] | ar.master_in_person[m])
        # As scheduler.pair_slots, for all of the master's pairs at once on their columns.
        apprentices = cand.apprentice[pairs]
        virtual = (ar.apprentice_virtual[apprentices][:, cols] & ar.master_virtual[m, cols]).sum(
            axis=0
        )
        in_person = (
            ar.apprentice_in_person[apprentices][:, cols]
            & ar.master_in_person[m, cols]
            & cand.same_site[pairs][:, None]
        ).sum(axis=0)
        if ar.virtual_capacity[m] <= 0:
            virtual[:] = 0
        per_slot = np.minimum(
            np.minimum(virtual, int(ar.virtual_capacity[m]))
            + np.minimum(in_person, int(ar.in_person_capacity[m])),
            int(ar.max_apprentices[m]),
        )
        best = np.sort(per_slot)[::-1][: int(ar.hosting_slots[m])]
        capped[m] = min(int(capped[m]), int(best.sum()))
    return capped


def upper_bound_slots(arrays: RoundArrays, candidates: Candidates) -> int:
    """The max-flow bound, in slots."""
    if len(candidates.apprentice) == 0:
        return 0
    pair_cap, apprentice_cap, master_cap = capacities(arrays, candidates)
    return _flow(arrays, candidates, apprentice_cap, pair_cap, master_cap)


def master_capacity(
    scheduler, m: int, pair_cap: np.ndarray, pairs: np.ndarray, work_limit: float
) -> tuple[int | None, float]:
    """A proven bound on the slots master m alone could host, whoever else is in the round.

    Solves the master's own problem exactly (which apprentices, which hosting hours, which
    seats), with every other master and the apprentices' other commitments relaxed away.
    CP-SAT's best bound is used even when it stops early, so the result is always valid.
    Returns the bound and the deterministic time spent.
    """
    ar = scheduler.arrays
    model = cp_model.CpModel()
    by_slot: dict[tuple[int, int], list] = {}
    chosen = []
    total = []
    per_apprentice_slot: dict[tuple[int, int], list] = {}
    for p in pairs.tolist():
        virtual, in_person = scheduler.pair_slots(p)
        y = model.new_bool_var("")
        xs = []
        for mode, mask in ((0, virtual), (1, in_person)):
            for t in np.flatnonzero(mask).tolist():
                x = model.new_bool_var("")
                xs.append(x)
                by_slot.setdefault((t, mode), []).append(x)
                per_apprentice_slot.setdefault((p, t), []).append(x)
        if len(xs) < ar.min_pairing_slots:
            continue
        model.add(sum(xs) <= int(pair_cap[p]) * y)
        model.add(sum(xs) >= ar.min_pairing_slots * y)
        chosen.append(y)
        total.extend(xs)
    for xs in per_apprentice_slot.values():
        if len(xs) > 1:
            model.add(sum(xs) <= 1)
    hosts = {}
    for (t, mode), xs in by_slot.items():
        h = hosts.setdefault(t, model.new_bool_var(""))
        seats = int(ar.virtual_capacity[m] if mode == 0 else ar.in_person_capacity[m])
        model.add(sum(xs) <= seats * h)
    if not total:
        return 0, 0.0
    model.add(sum(hosts.values()) <= int(ar.hosting_slots[m]))
    model.add(sum(chosen) <= int(ar.max_apprentices[m]))
    model.maximize(sum(total))
    solver = configured_solver(max(1.0, 20 * work_limit), 0, 1, work_limit)
    status = solver.solve(model)
    if status == cp_model.MODEL_INVALID:
        raise RuntimeError("per-master bound model is invalid")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, solver.deterministic_time  # no statement about this master
    return int(np.floor(solver.best_objective_bound + 1e-6)), solver.deterministic_time


def refined_upper_bound_slots(
    arrays,
    candidates,
    scheduler,
    delivered: np.ndarray,
    deadline: float,
    work_budget: float,
    cancel=None,
    work_per_master: float = 0.3,
    master_cap: np.ndarray | None = None,
) -> tuple[int, int, np.ndarray]:
    """The flow bound with masters' capacities replaced by their own exact bounds where time allows.

    Masters are taken in order of slack (capacity minus what the current schedule gives
    them), so the time goes where the bound is loosest. Returns (bound, masters refined,
    every master's capacity as refined).
    """
    n_m = len(arrays.hosting_slots)
    pair_cap, apprentice_cap, flow_master_cap = capacities(arrays, candidates)
    master_cap = flow_master_cap if master_cap is None else np.minimum(master_cap, flow_master_cap)
    order = np.argsort(candidates.master, kind="stable")
    starts = np.searchsorted(candidates.master[order], np.arange(n_m + 1))
    refined = 0
    work = 0.0
    for m in np.argsort(-(master_cap - delivered), kind="stable").tolist():
        if work >= work_budget or time.monotonic() > deadline or master_cap[m] <= delivered[m]:
            break
        if cancel is not None and cancel.is_set():
            break
        pairs = order[starts[m] : starts[m + 1]]
        capacity, spent = master_capacity(scheduler, m, pair_cap, pairs, work_per_master)
        if capacity is not None:
            master_cap[m] = min(master_cap[m], capacity)
        work += max(spent, 0.01)  # building the model costs too, even when CP-SAT is quick
        refined += 1
    return _flow(arrays, candidates, apprentice_cap, pair_cap, master_cap), refined, master_cap


def lagrangian_upper_bound_slots(
    arrays: RoundArrays,
    candidates: Candidates,
    master_cap: np.ndarray,
    target: float,
    iterations: int,
    deadline: float | None = None,
) -> int:
    """A bound that makes each master choose at most `max_apprentices` whole apprentices.

    Relax "an apprentice observes at most their capacity" with a price lam[a] in [0, 1] per
    slot. For any prices, the best round is worth at most

        L(lam) = sum_a lam[a] * apprentice_cap[a] + sum_m F_m(lam),

    where F_m bounds what master m alone can earn at value (1 - lam[a]) per slot of
    apprentice a: the lesser of (a) their `max_apprentices` most valuable apprentices, each
    at full pair capacity, and (b) their capacity `master_cap[m]` filled with the most
    valuable slots first. Both keep every rule of master m's own plan, so L(lam) is a valid
    bound for every lam; a subgradient search (Polyak steps towards `target`, a known
    solution's value) looks for low ones and the lowest seen is returned, floored to whole
    slots. A fixed number of iterations keeps it deterministic; `deadline` is a safety net.
    """
    n_a, n_m = len(arrays.observing_slots), len(arrays.hosting_slots)
    apprentice, master = candidates.apprentice, candidates.master
    if len(apprentice) == 0:
        return 0
    pair_cap, apprentice_cap, _ = capacities(arrays, candidates)
    pair_cap = pair_cap.astype(float)
    k = arrays.max_apprentices
    # Pairs grouped by master; within a master, (a) ranks by value and (b) by price.
    first = np.searchsorted(master[np.argsort(master, kind="stable")], master, side="left")

    def evaluate(lam: np.ndarray) -> tuple[float, np.ndarray]:
        worth = (1.0 - lam)[apprentice]
        value = worth * pair_cap
        order = np.lexsort((-value, master))
        rank = np.arange(len(order)) - first[order]
        chosen = np.zeros(len(order), dtype=bool)
        chosen[order[rank < k[master[order]]]] = True
        chosen &= value > 0
        by_apprentices = np.bincount(master[chosen], weights=value[chosen], minlength=n_m)
        order = np.lexsort((-worth, master))
        room = np.where(worth[order] > 0, pair_cap[order], 0.0)
        filled = np.cumsum(room)
        before = filled - room - (filled[first[order]] - room[first[order]])
        taken = np.empty(len(order))
        taken[order] = np.clip(master_cap[master[order]] - before, 0.0, room)
        by_capacity = np.bincount(master, weights=worth * taken, minlength=n_m)
        use_apprentices = (by_apprentices <= by_capacity)[master]
        slots = np.where(use_apprentices, chosen * pair_cap, taken)
        value = lam @ apprentice_cap + np.minimum(by_apprentices, by_capacity).sum()
        return value, apprentice_cap - np.bincount(apprentice, weights=slots, minlength=n_a)

    lam = np.zeros(n_a)
    best = np.inf
    step, stalled = 1.0, 0
    for _ in range(iterations):
        if deadline is not None and time.monotonic() > deadline:
            break
        value, slope = evaluate(lam)
        if value < best - 1e-9:
            best, stalled = value, 0
        else:
            stalled += 1
            if stalled > 30:
                step, stalled = step * 0.7, 0
        norm = float(slope @ slope)
        if norm == 0.0 or value <= target:
            break
        lam = np.clip(lam - step * (value - target) / norm * slope, 0.0, 1.0)
    if not np.isfinite(best):
        return upper_bound_slots(arrays, candidates)
    # Sums of floats: keep a hair's margin so rounding can never cut below a valid bound.
    return int(np.floor(best + 1e-6))


def _flow(arrays, candidates, apprentice_cap, pair_cap, master_cap) -> int:
    n_a, n_m = len(arrays.observing_slots), len(arrays.hosting_slots)
    source, sink = n_a + n_m, n_a + n_m + 1
    tails = np.concatenate([np.full(n_a, source), candidates.apprentice, n_a + np.arange(n_m)])
    heads = np.concatenate([np.arange(n_a), n_a + candidates.master, np.full(n_m, sink)])
    caps = np.concatenate([apprentice_cap, pair_cap, master_cap])
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64)
    )
    status = flow.solve(source, sink)
    if status != flow.OPTIMAL:
        raise RuntimeError(f"max-flow bound failed with status {status}")
    return int(flow.optimal_flow())


def pair_lp_upper_bound_slots(
    arrays: RoundArrays,
    candidates: Candidates,
    master_cap: np.ndarray | None = None,
    time_limit: float = 30.0,
    deadline: float | None = None,
    parameters: str = "",
) -> int | None:
    """A bound from the pair-level LP; None if the LP solver gave no duals or no time.

    The solver stops `time_limit` seconds after the model is built, or at `deadline` (a
    time.monotonic() instant; building the model of a large round takes seconds too).

    For each candidate pair, x[p] in [0, pair_cap[p]] slots and a pairing indicator z[p] in
    [0, 1] with min_pairing_slots * z[p] <= x[p] <= pair_cap[p] * z[p]. Each apprentice
    takes at most `max_masters` pairings (sum z) and their capacity in slots; each master at
    most `max_apprentices` pairings and `master_cap` slots (default: the flow's capacities;
    pass the refined ones where known). At an optimum z[p] = x[p] / pair_cap[p], so the LP
    is solved in y[p] = z[p] alone: x = pair_cap * y, 4 rows per pair, 2 per person. It is
    tighter than the flow (pairings are counted) and than the Lagrangian bound with the same
    capacities (whose master step takes the lesser of two separately priced limits).

    The value never rests on the solver's accuracy: its duals w (clipped to >= 0) give the
    weak-duality bound  w . rhs + sum_p max(0, pair_cap[p] - (A'w)[p]),  valid for any
    w >= 0 and computed here in numpy, so a solver stopped by its time limit still gives
    a valid (if looser) bound.
    """
    n_a, n_m = len(arrays.observing_slots), len(arrays.hosting_slots)
    n_p = len(candidates.apprentice)
    if n_p == 0:
        return 0
    pair_cap, apprentice_cap, flow_master_cap = capacities(arrays, candidates)
    if master_cap is None:
        master_cap = flow_master_cap
    flow = _flow(arrays, candidates, apprentice_cap, pair_cap, master_cap)
    a, m = candidates.apprentice, candidates.master
    # Rows: apprentice slots (a), apprentice pairings (k), master slots (m), master pairings (q).
    model = mbh.ModelBuilderHelper()
    if not model.import_from_mps_string(
        _lp_mps(
            a, m, pair_cap, apprentice_cap, arrays.max_masters, master_cap, arrays.max_apprentices
        )
    ):
        return None
    if deadline is not None:
        time_limit = min(time_limit, deadline - time.monotonic())
    if time_limit <= 0:
        return None
    solver = mbh.ModelSolverHelper("glop" if n_p <= SIMPLEX_MAX_PAIRS else "pdlp")
    solver.set_time_limit_in_seconds(time_limit)
    if parameters:
        solver.set_solver_specific_parameters(parameters)
    solver.solve(model)
    try:
        duals = np.asarray(solver.dual_values(), dtype=float)
    except RuntimeError:  # "Accessing a solution value when none has been found"
        return None
    if len(duals) != 2 * (n_a + n_m) or not np.all(np.isfinite(duals)):
        return None
    w = np.abs(duals)  # rows are "<=" in a minimisation: their duals are <= 0
    w_slots_a, w_pairs_a = w[0 : 2 * n_a : 2], w[1 : 2 * n_a : 2]
    w_slots_m, w_pairs_m = w[2 * n_a :: 2], w[2 * n_a + 1 :: 2]
    cap = pair_cap.astype(float)
    price = cap * (w_slots_a[a] + w_slots_m[m]) + w_pairs_a[a] + w_pairs_m[m]
    value = (
        w_slots_a @ apprentice_cap
        + w_pairs_a @ arrays.max_masters
        + w_slots_m @ master_cap
        + w_pairs_m @ arrays.max_apprentices
        + np.maximum(cap - price, 0.0).sum()
    )
    # Float sums: a hair's margin so rounding never cuts below a valid bound.
    return min(flow, int(np.floor(float(value) + 1e-6)))


def _lp_mps(a, m, pair_cap, apprentice_cap, max_masters, master_cap, max_apprentices) -> str:
    """Free-format MPS of the pair LP in y (minimise -sum cap * y), built from arrays.

    Rows are numbered a-slots, a-pairings per apprentice, then m-slots, m-pairings per
    master, in that interleaved order, so the duals come back in the same order.
    """
    n_a, n_m = len(apprentice_cap), len(master_cap)
    rows = [" N obj"]
    rows += [f" L a{i}\n L k{i}" for i in range(n_a)]
    rows += [f" L m{i}\n L q{i}" for i in range(n_m)]
    template = " y%d obj %d a%d %d\n y%d k%d 1 m%d %d\n y%d q%d 1\n"
    p = np.arange(len(a))
    columns = np.stack([p, -pair_cap, a, pair_cap, p, a, m, pair_cap, p, m], axis=1).tolist()
    rhs = [
        f" rhs a{i} {int(c)}\n rhs k{i} {int(k)}"
        for i, (c, k) in enumerate(zip(apprentice_cap.tolist(), max_masters.tolist(), strict=True))
    ]
    rhs += [
        f" rhs m{i} {int(c)}\n rhs q{i} {int(k)}"
        for i, (c, k) in enumerate(zip(master_cap.tolist(), max_apprentices.tolist(), strict=True))
    ]
    return "".join(
        [
            "NAME pairlp\nROWS\n",
            "\n".join(rows),
            "\nCOLUMNS\n",
            "".join([template % tuple(column) for column in columns]),
            "RHS\n",
            "\n".join(rhs),
            "\nBOUNDS\n",
            "".join([f" UP bnd y{i} 1\n" for i in range(len(a))]),
            "ENDATA\n",
        ]
    )
