"""The solution checker's rules that span pairings (4 to 8 of round-format.md): what all the
pairings book, slot by slot, against each person's seats, hours and whereabouts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from .problem import Apprentice, Master, Problem, format_time
from .wording import and_more, figure, in_hours

# The tolerance of shared/verify_round.py for a limit, so the two checkers agree at the edges.
LIMIT_TOLERANCE = 1e-9
CAPACITY_FIELDS = {"in_person": "in_person_capacity", "virtual": "virtual_capacity"}


@dataclass
class Usage:
    """What the pairings book, slot by slot, for the rules that span pairings (4 to 8).

    The checker books every slot of every session as it reads the pairings; `check_limits`
    then reads it all.
    """

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

    def book(
        self, index: int, slot: int, mode: str, apprentice: Apprentice, master: Master
    ) -> None:
        """Record one slot of a session of pairings[index]."""
        self.apprentice_slots[apprentice.id][slot].append(index)
        self.observers[master.id, mode][slot] += 1
        self.hosted_slots[master.id].add(slot)
        hosts = self.hosting[master.person][slot]
        if master.id not in hosts:
            hosts.append(master.id)
        observes = self.observing[apprentice.person][slot]
        if apprentice.id not in observes:
            observes.append(apprentice.id)


def check_limits(usage: Usage, problem: Problem, say: Callable[[str], None]) -> None:
    """Rules 4 to 8 over what the pairings booked, each message passed to `say` in turn."""
    limits = _Limits(usage, problem, say)
    limits.apprentice_clashes()
    limits.seat_capacity()
    limits.master_limits()
    limits.apprentice_limits()
    limits.host_and_observe()


class _Limits:
    """One pass of rules 4 to 8 over one solution's usage."""

    def __init__(self, usage: Usage, problem: Problem, say: Callable[[str], None]):
        self.usage = usage
        self.say = say
        self.slot_seconds = problem.slot_seconds
        self.slot_hours = problem.slot_seconds / 3600
        self.masters = {master.id: master for master in problem.masters}
        self.apprentices = {apprentice.id: apprentice for apprentice in problem.apprentices}

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
                    f"{and_more(len(clashes) - 1, 'slot')}"
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
                    f"{capacity}{and_more(len(over) - 1, 'slot')}"
                )

    def master_limits(self) -> None:
        """Rule 6."""
        for mid, slots in self.usage.hosted_slots.items():
            master, hours = self.masters[mid], len(slots) * self.slot_hours
            if hours > master.max_hosting_hours + LIMIT_TOLERANCE:
                self.say(
                    f"master {mid} hosts {in_hours(hours)}, over max_hosting_hours "
                    f"{figure(master.max_hosting_hours)}"
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
                    f"apprentice {aid} observes {in_hours(hours)}, over max_hours "
                    f"{figure(self.apprentices[aid].max_hours)}"
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
                f"{format_time(slot * self.slot_seconds)}{and_more(len(clashes) - 1, 'slot')}"
            )
