"""Sessions start at times a person would choose (issue 22).

On a 15-minute grid (someone in the round is at +05:45) a master in London could be given a
session at 09:15. A master's `start_minutes` (the encoder sets 30 where their zone allows)
asks that every session with them start on a multiple of it from the epoch: their :00 and
:30. A session is a run of back-to-back slots in one mode (`solution.sessions_document`), so
only the first slot of a run is held to the step; a session may still end at :15 or :45.

The swap search plans each master with `trimmed`, the CP-SAT models carry the rule as
constraints, and `aligned` holds a whole schedule to it (the first schedule does not know it).
"""

from __future__ import annotations

from .heuristic import Schedule, Scheduler
from .model import RoundArrays


def trimmed(
    arrays: RoundArrays, master: int, slots: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """A pair's (slot, mode) list without the slots that would start a session off the
    master's step: a session starting at :15 then starts at :30. Removing slots never breaks
    a capacity or a limit; the caller drops a pairing left below the minimum."""
    step = int(arrays.start_step[master])
    if step <= 1 or not slots:
        return slots
    ids = arrays.slot_ids
    kept: list[tuple[int, int]] = []
    run_end = run_mode = None
    for t, mode in sorted(slots, key=lambda item: (int(ids[item[0]]), item[1])):
        epoch = int(ids[t])
        if not (epoch == run_end and mode == run_mode) and epoch % step:
            continue  # would start a session off the step
        kept.append((t, mode))
        run_end, run_mode = epoch + 1, mode
    return kept


def aligned(scheduler: Scheduler, schedule: Schedule) -> Schedule:
    """The schedule with every session starting on its master's step (the same object when
    it already does), pairings trimmed below the minimum dropped."""
    arrays, candidates = scheduler.arrays, scheduler.candidates
    if not (arrays.start_step > 1).any():
        return schedule
    sessions: dict[int, list[tuple[int, int]]] = {}
    changed = False
    for pair, slots in schedule.sessions.items():
        kept = trimmed(arrays, int(candidates.master[pair]), slots)
        changed |= len(kept) != len(slots)
        if len(kept) >= arrays.min_pairing_slots:
            sessions[pair] = kept
    return Schedule(sessions) if changed else schedule
