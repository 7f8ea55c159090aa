"""Check a round solution against its problem, in words an admin can act on.

An admin may upload a solution made offline (or edited by hand), so the site must never
publish one that breaks the contract in round-format.md. `check_solution` checks the
solution's own shape and every one of the format's ten rules, with the same semantics as
the independent checker (shared/verify_round.py): time is cut into slots counted from the
Unix epoch, a window covers a slot only when the whole slot lies inside it, and an hour
with several observers counts once towards a master's hosting hours. Each message names
the place at fault (``pairings[3].sessions[0]: ...``, ``master m-17 ...``) so the file can
be fixed, and garbage input of any shape gives messages, never an exception.

Here are the solution's shape, each pairing and its sessions, and the totals; the rules
that span pairings are in `check_limits`, and how values are worded in `wording`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .check_limits import LIMIT_TOLERANCE, Usage, check_limits
from .problem import (
    MODES,
    RANK,
    SOLUTION_FORMAT,
    Apprentice,
    Master,
    Problem,
    ProblemError,
    Window,
    format_time,
    load_problem,
)
from .wording import and_more, figure, in_hours, json_number, kind_of, listed, shown

# Enough to show an admin what is wrong without burying the page.
MAX_MESSAGES = 50
# The tolerance of shared/verify_round.py for totals, so the two checkers agree at the edges.
TOTAL_TOLERANCE = 1e-6


def check_solution(problem: Any, solution: Any) -> list[str]:
    """Everything wrong with `solution` for `problem`; an empty list means it is valid."""
    try:
        round_problem = load_problem(problem)
    except ProblemError as error:
        return [f"the round problem itself is malformed, so no solution can be checked: {error}"]
    messages = _Checker(round_problem).check(solution)
    if len(messages) > MAX_MESSAGES:
        return [*messages[:MAX_MESSAGES], f"and {len(messages) - MAX_MESSAGES} more"]
    return messages


@dataclass(frozen=True)
class _Session:
    start: int  # seconds since the epoch
    end: int
    mode: str
    label: str  # as the file gives it, for messages


class _Checker:
    """One check of one solution; collects messages in the order an admin would fix them."""

    def __init__(self, problem: Problem):
        self.problem = problem
        self.slot_seconds = problem.slot_seconds
        self.slot_hours = problem.slot_seconds / 3600
        self.masters = {master.id: master for master in problem.masters}
        self.apprentices = {apprentice.id: apprentice for apprentice in problem.apprentices}
        windows = [w for r in (*problem.masters, *problem.apprentices) for w in r.availability]
        # Sessions beyond every window are refused before being cut into slots, so a
        # session a thousand years long cannot exhaust memory.
        self.span = None
        if windows:
            self.span = (min(w.start for w in windows), max(w.end for w in windows))
        self.messages: list[str] = []
        self.usage = Usage()

    def say(self, message: str) -> None:
        self.messages.append(message)

    def check(self, solution: Any) -> list[str]:
        if not isinstance(solution, dict):
            kind = kind_of(solution)
            return [f"the solution must be a JSON object ({SOLUTION_FORMAT}), not {kind}"]
        if solution.get("format") != SOLUTION_FORMAT:
            found = shown(solution.get("format"))
            return [f"format: must be {SOLUTION_FORMAT}, not {found}; this is not a round solution"]
        if "round" not in solution:
            self.say(f"round: is missing; this round is {self.problem.round}")
        elif solution["round"] != self.problem.round:
            self.say(
                f"round: the solution is for round {shown(solution['round'])}, "
                f"but this round is {self.problem.round}"
            )
        claimed = self.figure(solution, "observation_hours")
        bound = self.figure(solution, "upper_bound")
        pairings = solution.get("pairings")
        if not isinstance(pairings, list):
            self.say("pairings: must be a list of pairings (an empty list if nobody is paired)")
            pairings = []
        seen: dict[tuple[str, str], int] = {}
        for index, pairing in enumerate(pairings):
            self.pairing(index, pairing, seen)
        self.unmatched(solution.get("unmatched"), seen)
        check_limits(self.usage, self.problem, self.say)
        self.totals(claimed, bound)
        return self.messages

    def figure(self, solution: dict, key: str) -> float | None:
        if key not in solution:
            self.say(f"{key}: is missing")
            return None
        number = json_number(solution[key])
        if number is None:
            self.say(f"{key}: must be a number of hours, not {shown(solution[key])}")
        return number

    # --- Rule 1, then the pairing's sessions (rules 2, 3 and 9) --------------------------------

    def pairing(self, index: int, pairing: Any, seen: dict[tuple[str, str], int]) -> None:
        where = f"pairings[{index}]"
        if not isinstance(pairing, dict):
            self.say(f"{where}: must be an object with apprentice, master, skills and sessions")
            return
        apprentice = self.member(where, "apprentice", pairing.get("apprentice"), self.apprentices)
        master = self.member(where, "master", pairing.get("master"), self.masters)
        if not isinstance(apprentice, Apprentice) or not isinstance(master, Master):
            return
        aid, mid = apprentice.id, master.id
        if (aid, mid) in seen:
            self.say(
                f"{where}: apprentice {aid} and master {mid} are already paired in "
                f"pairings[{seen[aid, mid]}]; list each pair once"
            )
        else:
            seen[aid, mid] = index
        if apprentice.person == master.person:
            self.say(
                f"{where}: apprentice {aid} and master {mid} are the same person "
                f"({apprentice.person}), who cannot shadow themself"
            )
        if (aid, mid) in self.problem.exclude:
            self.say(f"{where}: apprentice {aid} is excluded from master {mid}")
        self.skills(where, pairing.get("skills"), apprentice, master)
        self.usage.apprentices_of_master[mid].add(aid)
        self.usage.masters_of_apprentice[aid].add(mid)
        hours = self.sessions(where, index, pairing.get("sessions"), apprentice, master)
        if hours and hours + LIMIT_TOLERANCE < self.problem.min_pairing_hours:
            self.say(
                f"{where}: apprentice {aid} observes master {mid} for {in_hours(hours)}, "
                f"under min_pairing_hours {figure(self.problem.min_pairing_hours)}"
            )
        self.usage.apprentice_hours[aid] += hours
        self.usage.total_hours += hours

    def member(self, where: str, role: str, ident: Any, known: dict) -> Apprentice | Master | None:
        if not isinstance(ident, str):
            article = "an" if role == "apprentice" else "a"
            self.say(f"{where}.{role}: must be the id of {article} {role}, not {shown(ident)}")
            return None
        if ident not in known:
            self.say(f"{where}: there is no {role} {shown(ident)} in round {self.problem.round}")
            return None
        return known[ident]

    def skills(self, where: str, skills: Any, apprentice: Apprentice, master: Master) -> None:
        teachable = sorted(
            skill
            for skill, stage in apprentice.wants.items()
            if skill in master.skills and RANK[master.skills[skill]] > RANK[stage]
        )
        if not teachable:
            self.say(
                f"{where}: master {master.id} teaches none of the micro skills apprentice "
                f"{apprentice.id} wants above their stage"
            )
            return
        if not isinstance(skills, list) or not all(isinstance(skill, str) for skill in skills):
            self.say(f"{where}.skills: must be a list of micro skills, here {', '.join(teachable)}")
        elif sorted(skills) != teachable:
            self.say(
                f"{where}.skills: lists {listed(skills)}, but the micro skills "
                f"master {master.id} can teach apprentice {apprentice.id} are exactly "
                f"{', '.join(teachable)}"
            )

    def sessions(
        self, where: str, index: int, sessions: Any, apprentice: Apprentice, master: Master
    ) -> float:
        """Check a pairing's sessions and book their slots; returns the pairing's hours."""
        if not isinstance(sessions, list):
            self.say(f"{where}.sessions: must be a list of sessions")
            return 0.0
        if not sessions:
            self.say(f"{where}: has no sessions; a pairing needs at least one")
        pair_slots: dict[int, int] = {}
        hours_beyond = 0.0
        for position, raw in enumerate(sessions):
            place = f"{where}.sessions[{position}]"
            session = self.session(place, raw)
            if session is None:
                continue
            if session.mode == "in_person" and (
                apprentice.site is None or apprentice.site != master.site
            ):
                self.say(
                    f"{place}: in person, but apprentice {apprentice.id} "
                    f"({apprentice.site or 'no site'}) and master {master.id} "
                    f"({master.site or 'no site'}) do not share a site"
                )
            if self.span is None or session.start < self.span[0] or session.end > self.span[1]:
                self.say(
                    f"{place}: {session.label} falls outside every availability window in the round"
                )
                hours_beyond += (session.end - session.start) / 3600
                continue
            slots = range(session.start // self.slot_seconds, session.end // self.slot_seconds)
            for role, record in (("apprentice", apprentice), ("master", master)):
                self.available(place, role, record, slots, session.mode)
            overlap = [slot for slot in slots if slot in pair_slots]
            if overlap:
                self.say(
                    f"{place}: overlaps {where}.sessions[{pair_slots[overlap[0]]}] at "
                    f"{format_time(overlap[0] * self.slot_seconds)}"
                )
            for slot in slots:
                pair_slots.setdefault(slot, position)
                self.usage.book(index, slot, session.mode, apprentice, master)
        return len(pair_slots) * self.slot_hours + hours_beyond

    def session(self, place: str, raw: Any) -> _Session | None:
        if not isinstance(raw, dict):
            self.say(f"{place}: must be an object with start, end and mode")
            return None
        start = self.moment(f"{place}.start", raw.get("start"))
        end = self.moment(f"{place}.end", raw.get("end"))
        mode = raw.get("mode")
        if mode not in MODES:
            self.say(f"{place}.mode: must be in_person or virtual, not {shown(mode)}")
        if start is None or end is None or mode not in MODES:
            return None
        whole = True
        for moment, text in ((start, raw["start"]), (end, raw["end"])):
            if moment % self.slot_seconds:
                self.say(
                    f"{place}: {shown(text)} is not on a {self.problem.slot_minutes}-minute "
                    "slot boundary"
                )
                whole = False
        if end <= start:
            self.say(
                f"{place}: ends at {shown(raw['end'])}, not after its start {shown(raw['start'])}"
            )
            whole = False
        if not whole:
            return None
        return _Session(int(start), int(end), mode, f"{shown(raw['start'])} to {shown(raw['end'])}")

    def moment(self, place: str, value: Any) -> float | None:
        """Seconds since the epoch for an ISO 8601 UTC time ending in Z, or None and a message."""
        example = "an ISO 8601 UTC time like 2026-12-01T09:00:00Z"
        if not isinstance(value, str) or not value.endswith("Z"):
            self.say(f"{place}: must be {example}, not {shown(value)}")
            return None
        try:
            moment = datetime.fromisoformat(value[:-1])
        except ValueError:
            self.say(f"{place}: must be {example}, not {shown(value)}")
            return None
        if moment.tzinfo is not None:
            self.say(
                f"{place}: give the time in UTC with a Z and no other offset, not {shown(value)}"
            )
            return None
        return moment.replace(tzinfo=UTC).timestamp()

    def available(
        self, place: str, role: str, record: Apprentice | Master, slots: range, mode: str
    ) -> None:
        """Rule 2: every slot lies wholly inside one of the record's windows allowing the mode."""
        windows = [w for w in record.availability if _allows(w, mode)]
        seconds = self.slot_seconds
        missing = [
            slot
            for slot in slots
            if not any(w.start <= slot * seconds and (slot + 1) * seconds <= w.end for w in windows)
        ]
        if missing:
            self.say(
                f"{place}: {role} {record.id} is not available for {mode} sessions at "
                f"{format_time(missing[0] * seconds)}{and_more(len(missing) - 1, 'slot')}"
            )

    def unmatched(self, unmatched: Any, seen: dict[tuple[str, str], int]) -> None:
        """The optional reasons for unpaired apprentices must name real, unpaired apprentices."""
        if unmatched is None:
            return
        if not isinstance(unmatched, list):
            self.say("unmatched: must be a list of apprentices left unpaired, with reasons")
            return
        paired_at: dict[str, int] = {}
        for (aid, _), index in seen.items():
            paired_at.setdefault(aid, index)
        for index, entry in enumerate(unmatched):
            where = f"unmatched[{index}]"
            if not isinstance(entry, dict):
                self.say(f"{where}: must be an object with apprentice, reason and detail")
                continue
            for key in ("reason", "detail"):
                if not isinstance(entry.get(key), str):
                    self.say(f"{where}.{key}: must be text")
            ident = entry.get("apprentice")
            if not isinstance(ident, str) or ident not in self.apprentices:
                self.say(
                    f"{where}: there is no apprentice {shown(ident)} in round {self.problem.round}"
                )
            elif ident in paired_at:
                self.say(
                    f"{where}: apprentice {ident} is paired in pairings[{paired_at[ident]}], "
                    "so is not unmatched"
                )

    # --- Rule 10 --------------------------------------------------------------------------------

    def totals(self, claimed: float | None, bound: float | None) -> None:
        total = self.usage.total_hours
        if claimed is not None and abs(claimed - total) > TOTAL_TOLERANCE:
            self.say(
                f"observation_hours is {figure(claimed)}, but the sessions add up to "
                f"{in_hours(total)}"
            )
        if bound is not None and bound + TOTAL_TOLERANCE < total:
            self.say(
                f"upper_bound {figure(bound)} is below the {figure(total)} observation "
                "hours the sessions add up to, so it cannot bound the best solution"
            )


def _allows(window: Window, mode: str) -> bool:
    return window.in_person if mode == "in_person" else window.virtual
