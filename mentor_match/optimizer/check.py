"""Check a round solution against its problem, in words an admin can act on.

An admin may upload a solution made offline (or edited by hand), so the site must never
publish one that breaks the contract in round-format.md. `check_solution` checks the
solution's own shape and every one of the format's ten rules, with the same semantics as
the independent checker (shared/verify_round.py): time is cut into slots counted from the
Unix epoch, a window covers a slot only when the whole slot lies inside it, and an hour
with several observers counts once towards a master's hosting hours. Each message names
the place at fault (``pairings[3].sessions[0]: ...``, ``master m-17 ...``) so the file can
be fixed, and garbage input of any shape gives messages, never an exception.
"""

from __future__ import annotations

import math
import reprlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

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

# Enough to show an admin what is wrong without burying the page.
MAX_MESSAGES = 50
# The tolerances of shared/verify_round.py, so the two checkers agree at the edges.
LIMIT_TOLERANCE = 1e-9
TOTAL_TOLERANCE = 1e-6
CAPACITY_FIELDS = {"in_person": "in_person_capacity", "virtual": "virtual_capacity"}

_short = reprlib.Repr()
_short.maxstring = 60
_short.maxother = 60


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


def _show(value: Any) -> str:
    """A value as an admin would recognise it: ids as they are, anything else as JSON, short."""
    if isinstance(value, str) and value and len(value) <= 60 and value.isprintable():
        return value
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return _short.repr(value)


def _kind(value: Any) -> str:
    """What a JSON value is, in words, for a document that is not even an object."""
    if value is None or isinstance(value, bool):
        return _show(value)
    kinds = {list: "a list", str: "text", int: "a number", float: "a number"}
    return kinds.get(type(value), type(value).__name__)


def _figure(value: float) -> str:
    """A number without a trailing .0, yet exact enough that differing figures look different."""
    return repr(float(value)).removesuffix(".0")


def _hours(value: float) -> str:
    return f"{_figure(value)} hour{'' if value == 1 else 's'}"


def _number(value: Any) -> float | None:
    """A finite JSON number as a float; None for anything else (true/false are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _listing(items: list[str]) -> str:
    """Up to six items of a list, for a message that must stay short whatever was uploaded."""
    if not items:
        return "nothing"
    shown = ", ".join(_show(item) for item in items[:6])
    return shown + (f" and {len(items) - 6} more" if len(items) > 6 else "")


def _more(count: int, unit: str) -> str:
    return f" (and {count} more {unit}{'s' if count > 1 else ''})" if count else ""


@dataclass(frozen=True)
class _Session:
    start: int  # seconds since the epoch
    end: int
    mode: str
    label: str  # as the file gives it, for messages


@dataclass
class _Usage:
    """What the pairings book, slot by slot, for the rules that span pairings (4 to 8)."""

    apprentice_slots: defaultdict[str, defaultdict[int, list[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    observers: defaultdict[tuple[str, str], defaultdict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    hosted_slots: defaultdict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    # person -> slot -> the ids they host (or observe) under in that slot, in order seen
    hosting: defaultdict[str, defaultdict[int, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    observing: defaultdict[str, defaultdict[int, list[str]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )
    apprentice_hours: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    apprentices_of_master: defaultdict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    masters_of_apprentice: defaultdict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )
    total_hours: float = 0.0


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
        self.usage = _Usage()

    def say(self, message: str) -> None:
        self.messages.append(message)

    def check(self, solution: Any) -> list[str]:
        if not isinstance(solution, dict):
            kind = _kind(solution)
            return [f"the solution must be a JSON object ({SOLUTION_FORMAT}), not {kind}"]
        if solution.get("format") != SOLUTION_FORMAT:
            found = _show(solution.get("format"))
            return [f"format: must be {SOLUTION_FORMAT}, not {found}; this is not a round solution"]
        if "round" not in solution:
            self.say(f"round: is missing; this round is {self.problem.round}")
        elif solution["round"] != self.problem.round:
            self.say(
                f"round: the solution is for round {_show(solution['round'])}, "
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
        self.apprentice_clashes()
        self.seat_capacity()
        self.master_limits()
        self.apprentice_limits()
        self.host_and_observe()
        self.totals(claimed, bound)
        return self.messages

    def figure(self, solution: dict, key: str) -> float | None:
        if key not in solution:
            self.say(f"{key}: is missing")
            return None
        number = _number(solution[key])
        if number is None:
            self.say(f"{key}: must be a number of hours, not {_show(solution[key])}")
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
                f"{where}: apprentice {aid} observes master {mid} for {_hours(hours)}, "
                f"under min_pairing_hours {_figure(self.problem.min_pairing_hours)}"
            )
        self.usage.apprentice_hours[aid] += hours
        self.usage.total_hours += hours

    def member(self, where: str, role: str, ident: Any, known: dict) -> Apprentice | Master | None:
        if not isinstance(ident, str):
            article = "an" if role == "apprentice" else "a"
            self.say(f"{where}.{role}: must be the id of {article} {role}, not {_show(ident)}")
            return None
        if ident not in known:
            self.say(f"{where}: there is no {role} {_show(ident)} in round {self.problem.round}")
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
                f"{where}.skills: lists {_listing(skills)}, but the micro skills "
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
                self.book(index, slot, session.mode, apprentice, master)
        return len(pair_slots) * self.slot_hours + hours_beyond

    def session(self, place: str, raw: Any) -> _Session | None:
        if not isinstance(raw, dict):
            self.say(f"{place}: must be an object with start, end and mode")
            return None
        start = self.moment(f"{place}.start", raw.get("start"))
        end = self.moment(f"{place}.end", raw.get("end"))
        mode = raw.get("mode")
        if mode not in MODES:
            self.say(f"{place}.mode: must be in_person or virtual, not {_show(mode)}")
        if start is None or end is None or mode not in MODES:
            return None
        whole = True
        for moment, text in ((start, raw["start"]), (end, raw["end"])):
            if moment % self.slot_seconds:
                self.say(
                    f"{place}: {_show(text)} is not on a {self.problem.slot_minutes}-minute "
                    "slot boundary"
                )
                whole = False
        if end <= start:
            self.say(
                f"{place}: ends at {_show(raw['end'])}, not after its start {_show(raw['start'])}"
            )
            whole = False
        if not whole:
            return None
        return _Session(int(start), int(end), mode, f"{_show(raw['start'])} to {_show(raw['end'])}")

    def moment(self, place: str, value: Any) -> float | None:
        """Seconds since the epoch for an ISO 8601 UTC time ending in Z, or None and a message."""
        example = "an ISO 8601 UTC time like 2026-12-01T09:00:00Z"
        if not isinstance(value, str) or not value.endswith("Z"):
            self.say(f"{place}: must be {example}, not {_show(value)}")
            return None
        try:
            moment = datetime.fromisoformat(value[:-1])
        except ValueError:
            self.say(f"{place}: must be {example}, not {_show(value)}")
            return None
        if moment.tzinfo is not None:
            self.say(
                f"{place}: give the time in UTC with a Z and no other offset, not {_show(value)}"
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
                f"{format_time(missing[0] * seconds)}{_more(len(missing) - 1, 'slot')}"
            )

    def book(
        self, index: int, slot: int, mode: str, apprentice: Apprentice, master: Master
    ) -> None:
        usage = self.usage
        usage.apprentice_slots[apprentice.id][slot].append(index)
        usage.observers[master.id, mode][slot] += 1
        usage.hosted_slots[master.id].add(slot)
        hosts = usage.hosting[master.person][slot]
        if master.id not in hosts:
            hosts.append(master.id)
        observes = usage.observing[apprentice.person][slot]
        if apprentice.id not in observes:
            observes.append(apprentice.id)

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
                    f"{where}: there is no apprentice {_show(ident)} in round {self.problem.round}"
                )
            elif ident in paired_at:
                self.say(
                    f"{where}: apprentice {ident} is paired in pairings[{paired_at[ident]}], "
                    "so is not unmatched"
                )

    # --- Rules 4 to 8, over all pairings -------------------------------------------------------

    def apprentice_clashes(self) -> None:
        """Rule 4; two sessions of one pairing at once are reported as an overlap (rule 9)."""
        for aid, slots in self.usage.apprentice_slots.items():
            clashes = sorted(slot for slot, pairings in slots.items() if len(set(pairings)) > 1)
            if clashes:
                first = sorted(set(slots[clashes[0]]))
                pairings = " and ".join(f"pairings[{i}]" for i in first)
                self.say(
                    f"apprentice {aid} attends {len(first)} sessions at once, {pairings}, at "
                    f"{format_time(clashes[0] * self.slot_seconds)}"
                    f"{_more(len(clashes) - 1, 'slot')}"
                )

    def seat_capacity(self) -> None:
        """Rule 5."""
        for (mid, mode), slots in self.usage.observers.items():
            capacity_field = CAPACITY_FIELDS[mode]
            capacity = getattr(self.masters[mid], capacity_field)
            over = sorted(slot for slot, count in slots.items() if count > capacity)
            if over:
                count = slots[over[0]]
                self.say(
                    f"master {mid} has {count} {mode} observer{'s' if count > 1 else ''} at "
                    f"{format_time(over[0] * self.slot_seconds)}, over {capacity_field} "
                    f"{capacity}{_more(len(over) - 1, 'slot')}"
                )

    def master_limits(self) -> None:
        """Rule 6."""
        for mid, slots in self.usage.hosted_slots.items():
            master, hours = self.masters[mid], len(slots) * self.slot_hours
            if hours > master.max_hosting_hours + LIMIT_TOLERANCE:
                self.say(
                    f"master {mid} hosts {_hours(hours)}, over max_hosting_hours "
                    f"{_figure(master.max_hosting_hours)}"
                )
        for mid, apprentices in self.usage.apprentices_of_master.items():
            if len(apprentices) > self.masters[mid].max_apprentices:
                self.say(
                    f"master {mid} has {len(apprentices)} apprentices, over max_apprentices "
                    f"{self.masters[mid].max_apprentices}"
                )

    def apprentice_limits(self) -> None:
        """Rule 7."""
        for aid, hours in self.usage.apprentice_hours.items():
            if hours > self.apprentices[aid].max_hours + LIMIT_TOLERANCE:
                self.say(
                    f"apprentice {aid} observes {_hours(hours)}, over max_hours "
                    f"{_figure(self.apprentices[aid].max_hours)}"
                )
        for aid, masters in self.usage.masters_of_apprentice.items():
            if len(masters) > self.apprentices[aid].max_masters:
                self.say(
                    f"apprentice {aid} has {len(masters)} masters, over max_masters "
                    f"{self.apprentices[aid].max_masters}"
                )

    def host_and_observe(self) -> None:
        """Rule 8: a person is in one place at a time, across all of their ids.

        One apprentice id in two sessions at once is rule 4's message; here are the clashes
        between a person's ids: observing as two apprentices, hosting as two masters, or
        hosting and observing, in one slot.
        """
        usage = self.usage
        for person, observed in usage.observing.items():
            self.clash(
                person,
                observed,
                lambda ids: len(ids) > 1,
                lambda ids: f"observe as apprentices {' and '.join(ids[:2])}",
            )
        for person, hosted in usage.hosting.items():
            self.clash(
                person,
                hosted,
                lambda ids: len(ids) > 1,
                lambda ids: f"host as masters {' and '.join(ids[:2])}",
            )
        for person, observed in usage.observing.items():
            hosted = usage.hosting.get(person, {})
            both = {
                slot: [hosted[slot][0], ids[0]] for slot, ids in observed.items() if slot in hosted
            }
            self.clash(
                person,
                both,
                lambda ids: True,
                lambda ids: f"host as master {ids[0]} and observe as apprentice {ids[1]}",
            )

    def clash(self, person: str, ids_by_slot: dict[int, list[str]], clashing, what) -> None:
        """One message per person and kind of clash, at the first slot it happens."""
        clashes = sorted(slot for slot, ids in ids_by_slot.items() if clashing(ids))
        if clashes:
            slot = clashes[0]
            self.say(
                f"person {person} would {what(ids_by_slot[slot])} at the same time, "
                f"{format_time(slot * self.slot_seconds)}{_more(len(clashes) - 1, 'slot')}"
            )

    # --- Rule 10 --------------------------------------------------------------------------------

    def totals(self, claimed: float | None, bound: float | None) -> None:
        total = self.usage.total_hours
        if claimed is not None and abs(claimed - total) > TOTAL_TOLERANCE:
            self.say(
                f"observation_hours is {_figure(claimed)}, but the sessions add up to "
                f"{_hours(total)}"
            )
        if bound is not None and bound + TOTAL_TOLERANCE < total:
            self.say(
                f"upper_bound {_figure(bound)} is below the {_figure(total)} observation "
                "hours the sessions add up to, so it cannot bound the best solution"
            )


def _allows(window: Window, mode: str) -> bool:
    return window.in_person if mode == "in_person" else window.virtual
