"""A proven upper bound on observation hours, from a max-flow relaxation of the whole round.

Network: source -> apprentice -> master -> sink, one arc per candidate pair. Every
feasible solution routes each pair's slots along its arc, so the maximum flow bounds the
best solution. The capacities keep what a pair, an apprentice and a master can give:

* pair:       min(common slots, apprentice's slots, master's hosting slots)
* apprentice: min(their slots, the sum of their best `max_masters` pair capacities)
* master:     min(hosting slots x seats per slot, the sum of their best `max_apprentices`)

Dropped on purpose (so it stays a relaxation): the hour-by-hour timetable, "one place at a
time", and the minimum hours per pairing.
"""
from __future__ import annotations

import numpy as np
from ortools.graph.python import max_flow

from .model import Candidates, RoundArrays


def top_k_sums(groups: np.ndarray, values: np.ndarray, limits: np.ndarray, n_groups: int) -> np.ndarray:
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
    return np.minimum.reduce([
        candidates.common,
        arrays.observing_slots[candidates.apprentice],
        arrays.hosting_slots[candidates.master],
    ])


def upper_bound_slots(arrays: RoundArrays, candidates: Candidates) -> int:
    """The max-flow bound, in slots."""
    n_a, n_m = len(arrays.observing_slots), len(arrays.hosting_slots)
    if len(candidates.apprentice) == 0:
        return 0
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
    source, sink = n_a + n_m, n_a + n_m + 1
    tails = np.concatenate([
        np.full(n_a, source), candidates.apprentice, n_a + np.arange(n_m),
    ])
    heads = np.concatenate([
        np.arange(n_a), n_a + candidates.master, np.full(n_m, sink),
    ])
    caps = np.concatenate([apprentice_cap, pair_cap, master_cap])
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64))
    status = flow.solve(source, sink)
    if status != flow.OPTIMAL:
        raise RuntimeError(f"max-flow bound failed with status {status}")
    return int(flow.optimal_flow())
