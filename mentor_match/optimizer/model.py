"""The round as arrays: slots people are free in, and the pairs that could work together."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import chain

import numpy as np

from .problem import RANK, Problem, Window


@dataclass
class RoundArrays:
    """A problem cut into slots, with who is free in which slot and in which mode.

    Slots are numbered 0..n_slots-1 over the slots that appear in anyone's availability;
    ``slot_ids`` maps them back to epoch slot numbers.
    """

    problem: Problem
    slot_ids: np.ndarray  # (n_slots,) epoch slot numbers, sorted
    master_virtual: np.ndarray  # (n_masters, n_slots) bool
    master_in_person: np.ndarray
    apprentice_virtual: np.ndarray  # (n_apprentices, n_slots) bool
    apprentice_in_person: np.ndarray
    master_person: np.ndarray  # person number of each master
    apprentice_person: np.ndarray
    master_site: np.ndarray  # site number, -1 for remote
    apprentice_site: np.ndarray
    hosting_slots: np.ndarray  # max hosting slots of each master
    max_apprentices: np.ndarray
    in_person_capacity: np.ndarray
    virtual_capacity: np.ndarray
    observing_slots: np.ndarray  # max observed slots of each apprentice
    max_masters: np.ndarray
    min_pairing_slots: int
    # Each master's session starts come every this many slots from the epoch (1: any slot).
    start_step: np.ndarray

    @property
    def n_slots(self) -> int:
        return len(self.slot_ids)

    @property
    def slot_hours(self) -> float:
        return self.problem.slot_minutes / 60


def _hours_to_slots(hours: float, slot_minutes: int) -> int:
    # A little tolerance so 1.9999999 hours of 30-minute slots still counts as 4 slots.
    return int(np.floor(hours * 60 / slot_minutes + 1e-9))


# The checkers' tolerance (shared/verify_round.py): a pairing is long enough when its hours
# plus this are at least min_pairing_hours.
MIN_HOURS_TOLERANCE = 1e-9


def _min_pairing_slots(min_hours: float, slot_minutes: int) -> int:
    """The fewest slots whose hours the checkers accept as min_pairing_hours (at least one).

    Rounding the hours first would ask 1.505 h of 30-minute slots for three (1.5 h), which
    the checkers refuse; the count is the checkers' own comparison, solved for slots.
    """
    slot_hours = slot_minutes / 60
    slots = max(1, math.ceil((min_hours - MIN_HOURS_TOLERANCE) / slot_hours))
    # Float division can land a hair either side of a whole number: settle it by the test itself.
    while slots * slot_hours + MIN_HOURS_TOLERANCE < min_hours:
        slots += 1
    while slots > 1 and (slots - 1) * slot_hours + MIN_HOURS_TOLERANCE >= min_hours:
        slots -= 1
    return slots


def _window_slots(windows: list[Window], slot_seconds: int):
    """Per window: first covered slot, slot count, modes. A window covers a slot only whole."""
    for window in windows:
        first = -(-window.start // slot_seconds)
        last = window.end // slot_seconds
        if last > first:
            yield first, last - first, window.in_person, window.virtual


def _availability(records, slot_seconds: int, slot_lookup: dict[int, int], n_slots: int):
    virtual = np.zeros((len(records), n_slots), dtype=bool)
    in_person = np.zeros((len(records), n_slots), dtype=bool)
    for row, record in enumerate(records):
        for first, count, ip, v in _window_slots(record.availability, slot_seconds):
            columns = [slot_lookup[s] for s in range(first, first + count)]
            if v:
                virtual[row, columns] = True
            if ip:
                in_person[row, columns] = True
    return virtual, in_person


def build_arrays(problem: Problem) -> RoundArrays:
    """Cut the problem's availability into slots and number its people and sites."""
    slot_seconds = problem.slot_seconds
    slots: set[int] = set()
    for record in (*problem.masters, *problem.apprentices):
        for first, count, _, _ in _window_slots(record.availability, slot_seconds):
            slots.update(range(first, first + count))
    slot_ids = np.array(sorted(slots), dtype=np.int64)
    lookup = {int(s): i for i, s in enumerate(slot_ids)}
    mv, mp = _availability(problem.masters, slot_seconds, lookup, len(slot_ids))
    av, ap = _availability(problem.apprentices, slot_seconds, lookup, len(slot_ids))
    persons: dict[str, int] = {}
    sites: dict[str, int] = {}

    def number(table: dict[str, int], key: str | None) -> int:
        if key is None:
            return -1
        return table.setdefault(key, len(table))

    # People with no site cannot meet in person, whatever their windows say.
    for row, master in enumerate(problem.masters):
        if master.site is None:
            mp[row] = False
    for row, apprentice in enumerate(problem.apprentices):
        if apprentice.site is None:
            ap[row] = False

    def to_slots(hours: float) -> int:
        return _hours_to_slots(hours, problem.slot_minutes)

    return RoundArrays(
        problem=problem,
        slot_ids=slot_ids,
        master_virtual=mv,
        master_in_person=mp,
        apprentice_virtual=av,
        apprentice_in_person=ap,
        master_person=np.array(
            [number(persons, m.person) for m in problem.masters], dtype=np.int64
        ),
        apprentice_person=np.array(
            [number(persons, a.person) for a in problem.apprentices], dtype=np.int64
        ),
        master_site=np.array([number(sites, m.site) for m in problem.masters], dtype=np.int64),
        apprentice_site=np.array(
            [number(sites, a.site) for a in problem.apprentices], dtype=np.int64
        ),
        hosting_slots=np.array(
            [to_slots(m.max_hosting_hours) for m in problem.masters], dtype=np.int64
        ),
        max_apprentices=np.array([m.max_apprentices for m in problem.masters], dtype=np.int64),
        in_person_capacity=np.array(
            [m.in_person_capacity for m in problem.masters], dtype=np.int64
        ),
        virtual_capacity=np.array([m.virtual_capacity for m in problem.masters], dtype=np.int64),
        observing_slots=np.array(
            [to_slots(a.max_hours) for a in problem.apprentices], dtype=np.int64
        ),
        max_masters=np.array([a.max_masters for a in problem.apprentices], dtype=np.int64),
        min_pairing_slots=_min_pairing_slots(problem.min_pairing_hours, problem.slot_minutes),
        start_step=np.array(
            [max(1, m.start_minutes // problem.slot_minutes) for m in problem.masters],
            dtype=np.int64,
        ),
    )


def teachable_skills(problem: Problem, apprentice: int, master: int) -> list[str]:
    """Skills the master can teach the apprentice: the master's stage ranks above theirs."""
    wants = problem.apprentices[apprentice].wants
    skills = problem.masters[master].skills
    return sorted(
        skill
        for skill, stage in wants.items()
        if skill in skills and RANK[skills[skill]] > RANK[stage]
    )


@dataclass
class Candidates:
    """Pairs that could be paired: a teachable skill, allowed, and enough common time."""

    apprentice: np.ndarray  # (n_pairs,) apprentice row
    master: np.ndarray  # (n_pairs,) master row
    common: np.ndarray  # (n_pairs,) slots both are free in some shared mode
    same_site: np.ndarray  # (n_pairs,) bool: in-person is possible


def _teaching_pairs(problem: Problem) -> tuple[np.ndarray, np.ndarray]:
    """Every (apprentice, master) with a skill the master teaches above the apprentice's stage."""
    teachers: dict[str, list[list[int]]] = {}
    for row, master in enumerate(problem.masters):
        for skill, stage in master.skills.items():
            ranks = teachers.setdefault(skill, [[], [], []])
            ranks[RANK[stage]].append(row)
    # For each skill and apprentice stage, the masters ranked strictly higher.
    above: dict[tuple[str, int], np.ndarray] = {}
    apprentices, masters = [], []
    for row, apprentice in enumerate(problem.apprentices):
        for skill, stage in apprentice.wants.items():
            if skill not in teachers:
                continue
            key = (skill, RANK[stage])
            if key not in above:
                by_rank = teachers[skill]
                above[key] = np.array(
                    list(chain.from_iterable(by_rank[RANK[stage] + 1 :])), dtype=np.int64
                )
            found = above[key]
            if len(found):
                masters.append(found)
                apprentices.append(np.full(len(found), row, dtype=np.int64))
    if not masters:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    a = np.concatenate(apprentices)
    m = np.concatenate(masters)
    n_masters = max(len(problem.masters), 1)
    keys = np.unique(a * n_masters + m)  # a pair sharing several skills appears once
    return keys // n_masters, keys % n_masters


def find_candidates(arrays: RoundArrays, chunk: int = 400_000) -> Candidates:
    """All pairs worth considering, with how many slots they share."""
    problem = arrays.problem
    a, m = _teaching_pairs(problem)
    if problem.exclude and len(a):
        apprentice_ids = np.array([x.id for x in problem.apprentices])
        master_ids = np.array([x.id for x in problem.masters])
        excluded = np.array(
            [
                (aid, mid) in problem.exclude
                for aid, mid in zip(apprentice_ids[a], master_ids[m], strict=True)
            ],
            dtype=bool,
        )
        a, m = a[~excluded], m[~excluded]
    keep = arrays.apprentice_person[a] != arrays.master_person[m]
    keep &= (arrays.max_masters[a] > 0) & (arrays.max_apprentices[m] > 0)
    keep &= arrays.observing_slots[a] >= arrays.min_pairing_slots
    keep &= arrays.hosting_slots[m] >= arrays.min_pairing_slots
    a, m = a[keep], m[keep]
    same_site = (arrays.apprentice_site[a] == arrays.master_site[m]) & (arrays.master_site[m] >= 0)
    same_site &= arrays.in_person_capacity[m] > 0
    has_virtual = arrays.virtual_capacity[m] > 0
    av = np.packbits(arrays.apprentice_virtual, axis=1)
    ap = np.packbits(arrays.apprentice_in_person, axis=1)
    mv = np.packbits(arrays.master_virtual, axis=1)
    mp = np.packbits(arrays.master_in_person, axis=1)
    common = np.zeros(len(a), dtype=np.int64)
    for start in range(0, len(a), chunk):
        sl = slice(start, start + chunk)
        shared = (av[a[sl]] & mv[m[sl]]) * has_virtual[sl, None].astype(np.uint8)
        shared |= (ap[a[sl]] & mp[m[sl]]) * same_site[sl, None].astype(np.uint8)
        common[sl] = np.bitwise_count(shared).sum(axis=1)
    enough = common >= arrays.min_pairing_slots
    return Candidates(a[enough], m[enough], common[enough], same_site[enough])
