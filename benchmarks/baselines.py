"""Baselines to measure the optimizer against.

`greedy_solution` does what score-based mentoring tools do (MentorcliQ, Together,
Mentorloop, PushFar rank pairs by a compatibility score and assign greedily): score every
candidate pair by skill match, take pairs best first while both partners have room, and
book each pair's earliest common slots. It keeps every rule of the round format, so its
output passes verify_round.py; it just does not look ahead.
"""

from __future__ import annotations

import time

import numpy as np

from mentor_match.optimizer.bound import upper_bound_slots
from mentor_match.optimizer.heuristic import IN_PERSON, VIRTUAL, Schedule
from mentor_match.optimizer.model import (
    Candidates,
    RoundArrays,
    build_arrays,
    find_candidates,
    teachable_skills,
)
from mentor_match.optimizer.problem import Problem, load_problem
from mentor_match.optimizer.solution import solution_document, unmatched_reasons

METHOD = "greedy: skill score, then earliest common slots"


def skill_scores(arrays: RoundArrays, candidates: Candidates) -> np.ndarray:
    """Number of skills each candidate pair shares that the master can teach the apprentice."""
    problem = arrays.problem
    return np.array(
        [
            len(teachable_skills(problem, a, m))
            for a, m in zip(candidates.apprentice.tolist(), candidates.master.tolist(), strict=True)
        ],
        dtype=np.int64,
    )


def greedy_schedule(
    arrays: RoundArrays, candidates: Candidates, deadline: float
) -> tuple[Schedule, bool]:
    """Pairs best-scored first, each booked into its earliest common free slots.

    Returns the schedule and whether it stopped at the deadline before trying every pair.
    """
    n_a, n_m, n_t = len(arrays.observing_slots), len(arrays.hosting_slots), arrays.n_slots
    n_persons = (
        int(max(arrays.apprentice_person.max(initial=-1), arrays.master_person.max(initial=-1))) + 1
    )
    # Best first: most shared teachable skills, then most common available hours; ties by
    # apprentice and master order so the result is the same every run.
    order = np.lexsort(
        (
            candidates.master,
            candidates.apprentice,
            -candidates.common,
            -skill_scores(arrays, candidates),
        )
    )
    observing = np.zeros((n_persons, n_t), dtype=bool)  # person -> slots they observe in
    hosting = np.zeros((n_persons, n_t), dtype=bool)  # person -> slots they host in
    master_hosts = np.zeros((n_m, n_t), dtype=bool)
    hosted_slots = np.zeros(n_m, dtype=np.int64)
    virtual_seats = np.zeros((n_m, n_t), dtype=np.int64)  # observers per slot, by mode
    in_person_seats = np.zeros((n_m, n_t), dtype=np.int64)
    observed_slots = np.zeros(n_a, dtype=np.int64)
    masters_of = np.zeros(n_a, dtype=np.int64)
    apprentices_of = np.zeros(n_m, dtype=np.int64)
    minimum = arrays.min_pairing_slots
    schedule = Schedule()
    stopped = False
    for step, pair in enumerate(order.tolist()):
        if step % 256 == 0 and time.monotonic() > deadline:
            stopped = True
            break
        a, m = int(candidates.apprentice[pair]), int(candidates.master[pair])
        if masters_of[a] >= arrays.max_masters[a] or apprentices_of[m] >= arrays.max_apprentices[m]:
            continue
        wanted = int(arrays.observing_slots[a] - observed_slots[a])
        if wanted < minimum:
            continue
        apprentice_person, master_person = arrays.apprentice_person[a], arrays.master_person[m]
        # One place at a time: the apprentice neither observes elsewhere nor hosts then,
        # and the master is not off observing someone else, nor hosting as their other record.
        free = (
            ~observing[apprentice_person]
            & ~hosting[apprentice_person]
            & ~observing[master_person]
            & (master_hosts[m] | ~hosting[master_person])
        )
        virtual = (
            free
            & arrays.apprentice_virtual[a]
            & arrays.master_virtual[m]
            & (virtual_seats[m] < arrays.virtual_capacity[m])
        )
        in_person = np.zeros_like(virtual)
        if candidates.same_site[pair]:
            in_person = (
                free
                & arrays.apprentice_in_person[a]
                & arrays.master_in_person[m]
                & (in_person_seats[m] < arrays.in_person_capacity[m])
            )
        slots = np.flatnonzero(virtual | in_person)
        if len(slots) < minimum:
            continue
        # Slots the master already hosts in cost no hosting hours; new ones do, up to the cap.
        new_hour = ~master_hosts[m, slots]
        slots = slots[
            ~new_hour | (np.cumsum(new_hour) <= arrays.hosting_slots[m] - hosted_slots[m])
        ]
        slots = slots[:wanted]
        if len(slots) < minimum:
            continue  # cannot reach min_pairing_hours: drop the pair
        # In person when both are on site with a free seat; otherwise on video.
        face_to_face = in_person[slots]
        in_person_seats[m, slots[face_to_face]] += 1
        virtual_seats[m, slots[~face_to_face]] += 1
        observing[apprentice_person, slots] = True
        hosting[master_person, slots] = True
        master_hosts[m, slots] = True
        hosted_slots[m] = int(master_hosts[m].sum())
        observed_slots[a] += len(slots)
        masters_of[a] += 1
        apprentices_of[m] += 1
        modes = np.where(face_to_face, IN_PERSON, VIRTUAL)
        schedule.sessions[pair] = list(zip(slots.tolist(), modes.tolist(), strict=True))
    return schedule, stopped


def greedy_solution(problem: dict | Problem, time_limit: float = 60.0) -> dict:
    """Solve a round the way a score-ranked greedy matcher would; a solution document."""
    started = time.monotonic()
    if not isinstance(problem, Problem):
        problem = load_problem(problem)
    arrays = build_arrays(problem)
    candidates = find_candidates(arrays)
    schedule, stopped = greedy_schedule(arrays, candidates, started + time_limit)
    bound = upper_bound_slots(arrays, candidates)
    stats = {
        "solve_seconds": round(time.monotonic() - started, 3),
        "method": METHOD,
        "stopped_at_time_limit": stopped,
        "candidate_pairs": len(candidates.apprentice),
    }
    return solution_document(
        arrays, candidates, schedule, bound, unmatched_reasons(arrays, candidates, schedule), stats
    )
