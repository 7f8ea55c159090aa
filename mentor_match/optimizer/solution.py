"""Write a schedule as a solution document, and say why each unpaired apprentice is unpaired."""

from __future__ import annotations

import numpy as np

from .heuristic import IN_PERSON, Schedule
from .model import Candidates, RoundArrays, teachable_skills
from .problem import RANK, SOLUTION_FORMAT, format_time

MODE_NAMES = {IN_PERSON: "in_person", 0: "virtual"}


def gap(observation_hours: float | None, upper_bound: float | None) -> float | None:
    """How far the hours fall short of the bound, as a share of it; None without both."""
    if observation_hours is None or not upper_bound:
        return None
    return (upper_bound - observation_hours) / upper_bound


def sessions_document(arrays: RoundArrays, slots: list[tuple[int, int]]) -> list[dict]:
    """Merge a pair's slots into sessions: back-to-back slots in one mode become one session."""
    seconds = arrays.problem.slot_seconds
    epoch_slots = sorted((int(arrays.slot_ids[t]), mode) for t, mode in slots)
    sessions: list[dict] = []
    run_start = run_end = run_mode = None
    for slot, mode in epoch_slots:
        if run_start is not None and slot == run_end and mode == run_mode:
            run_end = slot + 1
            continue
        if run_start is not None:
            sessions.append(_session(run_start, run_end, run_mode, seconds))
        run_start, run_end, run_mode = slot, slot + 1, mode
    if run_start is not None:
        sessions.append(_session(run_start, run_end, run_mode, seconds))
    return sessions


def _session(first: int, end: int, mode: int, seconds: int) -> dict:
    return {
        "start": format_time(first * seconds),
        "end": format_time(end * seconds),
        "mode": MODE_NAMES[mode],
    }


def solution_document(
    arrays: RoundArrays,
    candidates: Candidates,
    schedule: Schedule,
    upper_bound_slots: int,
    unmatched: list[dict],
    stats: dict,
) -> dict:
    """The solution in mentor-match/solution@1 form."""
    problem = arrays.problem
    pairings = []
    for pair in sorted(
        schedule.sessions, key=lambda p: (int(candidates.apprentice[p]), int(candidates.master[p]))
    ):
        a, m = int(candidates.apprentice[pair]), int(candidates.master[pair])
        pairings.append(
            {
                "apprentice": problem.apprentices[a].id,
                "master": problem.masters[m].id,
                "skills": teachable_skills(problem, a, m),
                "sessions": sessions_document(arrays, schedule.sessions[pair]),
            }
        )
    hours = schedule.slots * arrays.slot_hours
    bound = max(upper_bound_slots, schedule.slots) * arrays.slot_hours
    return {
        "format": SOLUTION_FORMAT,
        "round": problem.round,
        "observation_hours": hours,
        "upper_bound": bound,
        "gap": round(gap(hours, bound) or 0.0, 6),
        "pairings": pairings,
        "unmatched": unmatched,
        "stats": stats,
    }


def _skill_list(skills) -> str:
    skills = sorted(skills)
    return ", ".join(skills[:3]) + (f" and {len(skills) - 3} more" if len(skills) > 3 else "")


def unmatched_reasons(
    arrays: RoundArrays, candidates: Candidates, schedule: Schedule
) -> list[dict]:
    """For each apprentice with no pairing, the reason in words they can act on."""
    problem = arrays.problem
    paired = {int(candidates.apprentice[p]) for p in schedule.sessions}
    with_candidates = set(np.unique(candidates.apprentice).tolist())
    hours = problem.min_pairing_hours
    teachers: dict[str, list[int]] = {}
    for row, master in enumerate(problem.masters):
        for skill in master.skills:
            teachers.setdefault(skill, []).append(row)
    out = []
    for row, apprentice in enumerate(problem.apprentices):
        if row in paired:
            continue
        if not apprentice.wants:
            reason, detail = "no_skills", "You have not chosen any micro skill you want to develop."
        elif arrays.observing_slots[row] < arrays.min_pairing_slots or apprentice.max_masters == 0:
            reason, detail = (
                "no_hours",
                (f"You asked for fewer observation hours than the minimum pairing of {hours:g} h."),
            )
        else:
            able = {
                m
                for skill, stage in apprentice.wants.items()
                for m in teachers.get(skill, ())
                if RANK[problem.masters[m].skills[skill]] > RANK[stage]
                and problem.masters[m].person != apprentice.person
            }
            allowed = {
                m for m in able if (apprentice.id, problem.masters[m].id) not in problem.exclude
            }
            if not able:
                reason = "no_master"
                detail = (
                    f"Nobody in this round teaches {_skill_list(apprentice.wants)} above your "
                    "stage."
                )
            elif not allowed:
                reason = "excluded"
                detail = (
                    f"The {len(able)} master(s) who teach {_skill_list(apprentice.wants)} above "
                    "your stage are excluded from pairing with you."
                )
            elif row not in with_candidates:
                reason = "no_common_time"
                detail = (
                    f"{len(allowed)} master(s) teach {_skill_list(apprentice.wants)} above your "
                    f"stage; none is free when you are for at least {hours:g} h in a mode you "
                    "both allow."
                )
            else:
                reason = "masters_full"
                detail = (
                    "Masters who teach what you want and share your time are full this month; "
                    "more availability, or video sessions, would help."
                )
        out.append({"apprentice": apprentice.id, "reason": reason, "detail": detail})
    return out
