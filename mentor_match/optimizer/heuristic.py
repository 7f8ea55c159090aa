"""Pair, then schedule: the fast primal heuristic.

1. Choose pairs by a maximum-weight b-matching (min-cost flow): each apprentice takes at
   most `max_masters` masters, each master at most `max_apprentices` apprentices.
2. Choose each master's hosting slots greedily, where most of their apprentices are free.
3. Schedule sessions by a max flow over (apprentice, slot) -> (master, slot, mode), which
   keeps one session per apprentice per slot, seats per mode, and apprentices' hours.
4. Drop pairings under the minimum hours and flow again; then add pairs for the hours and
   seats left over, and keep the result whenever it is better.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import max_flow, min_cost_flow

from .model import Candidates, RoundArrays

VIRTUAL, IN_PERSON = 0, 1


@dataclass
class Schedule:
    """Sessions by candidate-pair index: pair -> list of (slot, mode)."""

    sessions: dict[int, list[tuple[int, int]]] = field(default_factory=dict)

    @property
    def slots(self) -> int:
        return sum(len(s) for s in self.sessions.values())

    def apprentices_paired(self, candidates: Candidates) -> int:
        return len({int(candidates.apprentice[p]) for p, s in self.sessions.items() if s})


def b_matching(
    n_apprentices: int,
    n_masters: int,
    apprentice: np.ndarray,
    master: np.ndarray,
    weight: np.ndarray,
    apprentice_degree: np.ndarray,
    master_degree: np.ndarray,
) -> np.ndarray:
    """Indices of the pairs in a maximum-weight b-matching (weights > 0 are worth taking)."""
    useful = (weight > 0) & (apprentice_degree[apprentice] > 0) & (master_degree[master] > 0)
    idx = np.flatnonzero(useful)
    if len(idx) == 0:
        return idx
    source, sink = n_apprentices + n_masters, n_apprentices + n_masters + 1
    total = int(min(apprentice_degree.sum(), master_degree.sum()))
    tails = np.concatenate(
        [
            np.full(n_apprentices, source),
            apprentice[idx],
            n_apprentices + np.arange(n_masters),
            [source],
        ]
    )
    heads = np.concatenate(
        [
            np.arange(n_apprentices),
            n_apprentices + master[idx],
            np.full(n_masters, sink),
            [sink],
        ]
    )
    caps = np.concatenate(
        [apprentice_degree, np.ones(len(idx), dtype=np.int64), master_degree, [total]]
    )
    costs = np.concatenate(
        [
            np.zeros(n_apprentices, dtype=np.int64),
            -weight[idx].astype(np.int64),
            np.zeros(n_masters, dtype=np.int64),
            [0],
        ]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        heads.astype(np.int32),
        caps.astype(np.int64),
        costs.astype(np.int64),
    )
    supplies = np.zeros(n_apprentices + n_masters + 2, dtype=np.int64)
    supplies[source], supplies[sink] = total, -total
    flow.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"pair matching failed with status {status}")
    first_pair_arc = n_apprentices
    chosen = flow.flows(np.arange(first_pair_arc, first_pair_arc + len(idx), dtype=np.int32)) > 0
    return idx[chosen]


class Scheduler:
    """Turns a set of pairs into sessions for one round."""

    def __init__(self, arrays: RoundArrays, candidates: Candidates):
        self.arrays = arrays
        self.candidates = candidates
        # Slots a person hosts in cannot be slots they observe in; both roles by person.
        self.master_rows_of_person: dict[int, list[int]] = {}
        for row, person in enumerate(arrays.master_person):
            self.master_rows_of_person.setdefault(int(person), []).append(row)

    def pair_slots(self, pair: int) -> tuple[np.ndarray, np.ndarray]:
        """Slot masks where the pair can meet on video, and in person."""
        a, m = self.candidates.apprentice[pair], self.candidates.master[pair]
        ar = self.arrays
        virtual = ar.apprentice_virtual[a] & ar.master_virtual[m]
        if ar.virtual_capacity[m] <= 0:
            virtual = np.zeros_like(virtual)
        if self.candidates.same_site[pair]:
            in_person = ar.apprentice_in_person[a] & ar.master_in_person[m]
        else:
            in_person = np.zeros_like(virtual)
        return virtual, in_person

    def choose_hosting(self, pairs: np.ndarray) -> dict[int, np.ndarray]:
        """For each master, the slots they host in: where most of their apprentices are free."""
        ar, cand = self.arrays, self.candidates
        by_master: dict[int, list[int]] = {}
        for p in pairs:
            by_master.setdefault(int(cand.master[p]), []).append(int(p))
        partners_of_apprentice = np.bincount(
            cand.apprentice[pairs], minlength=len(ar.observing_slots)
        )
        hosting: dict[int, np.ndarray] = {}
        # A person with two master records hosts as one of them at a time.
        hosted_by_person: dict[int, np.ndarray] = {}
        for m, plist in by_master.items():
            masks = np.array([np.logical_or(*self.pair_slots(p)) for p in plist])
            # Each apprentice's hours are split between their masters for this estimate.
            need = np.array(
                [
                    max(
                        ar.min_pairing_slots,
                        -(
                            -int(ar.observing_slots[cand.apprentice[p]])
                            // max(1, partners_of_apprentice[cand.apprentice[p]])
                        ),
                    )
                    for p in plist
                ]
            )
            seats = ar.virtual_capacity[m] + ar.in_person_capacity[m]
            chosen = np.zeros(ar.n_slots, dtype=bool)
            covered = np.zeros(len(plist), dtype=np.int64)
            free = masks.any(axis=0)
            person = int(ar.master_person[m])
            if person in hosted_by_person:
                free &= ~hosted_by_person[person]
            for _ in range(int(ar.hosting_slots[m])):
                wanting = (covered < need)[:, None] & masks & ~chosen
                if not wanting.any():
                    break
                # Seats bound how many can watch at once; virtual seats take anyone with video.
                gain = np.minimum(wanting.sum(axis=0), seats)
                gain = np.where(free & ~chosen, gain, -1)
                best = int(np.argmax(gain))
                if gain[best] <= 0:
                    break
                chosen[best] = True
                covered += masks[:, best]
            hosting[m] = chosen
            if person in hosted_by_person:
                hosted_by_person[person] |= chosen
            else:
                hosted_by_person[person] = chosen.copy()
        return hosting

    def flow(self, pairs: np.ndarray, hosting: dict[int, np.ndarray]) -> Schedule:
        """Max flow of sessions for the chosen pairs within the masters' hosting slots."""
        ar, cand = self.arrays, self.candidates
        hosted_by_person: dict[int, np.ndarray] = {}
        for m, mask in hosting.items():
            person = int(ar.master_person[m])
            prev = hosted_by_person.get(person)
            hosted_by_person[person] = mask if prev is None else (prev | mask)
        a_nodes: dict[tuple[int, int], int] = {}
        m_nodes: dict[tuple[int, int, int], int] = {}
        n_a = len(ar.observing_slots)
        next_node = n_a + 2  # 0..n_a-1 apprentices, then source, sink
        source, sink = n_a, n_a + 1
        tails, heads, caps, arc_pair, arc_slot, arc_mode = [], [], [], [], [], []
        for p in pairs:
            p = int(p)
            a, m = int(cand.apprentice[p]), int(cand.master[p])
            virtual, in_person = self.pair_slots(p)
            allowed = hosting.get(m)
            if allowed is None:
                continue
            blocked = hosted_by_person.get(int(ar.apprentice_person[a]))
            for mode, mask in ((VIRTUAL, virtual), (IN_PERSON, in_person)):
                usable = mask & allowed
                if blocked is not None:
                    usable &= ~blocked
                for t in np.flatnonzero(usable):
                    t = int(t)
                    an = a_nodes.get((a, t))
                    if an is None:
                        an = a_nodes[(a, t)] = next_node
                        next_node += 1
                    mn = m_nodes.get((m, t, mode))
                    if mn is None:
                        mn = m_nodes[(m, t, mode)] = next_node
                        next_node += 1
                    tails.append(an)
                    heads.append(mn)
                    caps.append(1)
                    arc_pair.append(p)
                    arc_slot.append(t)
                    arc_mode.append(mode)
        if not tails:
            return Schedule()
        n_pair_arcs = len(tails)
        for (a, _t), node in a_nodes.items():
            tails.append(a)
            heads.append(node)
            caps.append(1)
        for (m, _t, mode), node in m_nodes.items():
            tails.append(node)
            heads.append(sink)
            caps.append(
                int(ar.virtual_capacity[m] if mode == VIRTUAL else ar.in_person_capacity[m])
            )
        used_apprentices = np.unique(cand.apprentice[pairs])
        for a in used_apprentices:
            tails.append(source)
            heads.append(int(a))
            caps.append(int(ar.observing_slots[a]))
        graph = max_flow.SimpleMaxFlow()
        graph.add_arcs_with_capacity(
            np.array(tails, dtype=np.int32),
            np.array(heads, dtype=np.int32),
            np.array(caps, dtype=np.int64),
        )
        status = graph.solve(source, sink)
        if status != graph.OPTIMAL:
            raise RuntimeError(f"session flow failed with status {status}")
        flows = graph.flows(np.arange(n_pair_arcs, dtype=np.int32))
        schedule = Schedule()
        # The flow keeps one session per apprentice record and slot; a person with two
        # apprentice records keeps only the first of their sessions in a slot (rule 8).
        observing: set[tuple[int, int]] = set()
        for i in np.flatnonzero(flows > 0):
            person = int(ar.apprentice_person[cand.apprentice[arc_pair[i]]])
            if (person, arc_slot[i]) in observing:
                continue
            observing.add((person, arc_slot[i]))
            schedule.sessions.setdefault(arc_pair[i], []).append((arc_slot[i], arc_mode[i]))
        return schedule

    def schedule(self, pairs: np.ndarray) -> Schedule:
        """Sessions for these pairs, every pairing at or above the minimum hours."""
        pairs = np.asarray(pairs, dtype=np.int64)
        for _ in range(8):
            hosting = self.choose_hosting(pairs)
            result = self.flow(pairs, hosting)
            minimum = self.arrays.min_pairing_slots
            keep = np.array(
                [p for p in pairs.tolist() if len(result.sessions.get(p, ())) >= minimum],
                dtype=np.int64,
            )
            if len(keep) == len(pairs):
                return result
            pairs = keep
        result.sessions = {
            p: s for p, s in result.sessions.items() if len(s) >= self.arrays.min_pairing_slots
        }
        return result


def improve(
    scheduler: Scheduler,
    schedule: Schedule,
    weight_scale: int,
    favour: np.ndarray,
    rounds: int,
    out_of_time,
) -> Schedule:
    """Add pairs for leftover hours and seats, keeping any schedule that is better."""
    ar, cand = scheduler.arrays, scheduler.candidates
    n_a, n_m = len(ar.observing_slots), len(ar.hosting_slots)
    best = schedule
    for _ in range(rounds):
        if out_of_time():
            break
        pairs = np.array(sorted(best.sessions), dtype=np.int64)
        used = np.zeros(n_a, dtype=np.int64)
        degree_a = np.zeros(n_a, dtype=np.int64)
        degree_m = np.zeros(n_m, dtype=np.int64)
        for p, sessions in best.sessions.items():
            used[cand.apprentice[p]] += len(sessions)
            degree_a[cand.apprentice[p]] += 1
            degree_m[cand.master[p]] += 1
        residual = ar.observing_slots - used
        in_use = np.zeros(len(cand.apprentice), dtype=bool)
        in_use[pairs] = True
        weight = np.minimum(cand.common, residual[cand.apprentice])
        weight = np.where(in_use | (weight < ar.min_pairing_slots), 0, weight)
        extra = b_matching(
            n_a,
            n_m,
            cand.apprentice,
            cand.master,
            weight * weight_scale + favour[cand.apprentice] * (degree_a[cand.apprentice] == 0),
            ar.max_masters - degree_a,
            ar.max_apprentices - degree_m,
        )
        if len(extra) == 0:
            break
        trial = scheduler.schedule(np.concatenate([pairs, extra]))
        if (trial.slots, trial.apprentices_paired(cand)) > (
            best.slots,
            best.apprentices_paired(cand),
        ):
            best = trial
        else:
            break
    return best
