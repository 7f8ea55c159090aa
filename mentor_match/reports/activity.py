"""What happened in a report's period: its verified seats and who counts, loaded once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo
from functools import cached_property

from sqlalchemy import select

from ..extensions import db
from ..models import Person
from ..tracking.hours import VerifiedSeat, verified_seats
from .period import Period


@dataclass(frozen=True)
class RosterEntry:
    """What the reports need to know about one person."""

    person_id: int
    is_master: bool
    is_apprentice: bool
    is_remote: bool
    active: bool


@dataclass
class PeriodActivity:
    """One period's verified seats and who took part, loaded once and shared by the tables."""

    period: Period
    zone: tzinfo
    seats: list[VerifiedSeat] = field(init=False)

    def __post_init__(self) -> None:
        starts, ends = self.period.bounds(self.zone)
        self.seats = verified_seats(starts=starts, ends=ends)

    def session_id(self, seat: VerifiedSeat) -> int:
        return seat.session_id

    @cached_property
    def observer_ids(self) -> set[int]:
        return {seat.apprentice_id for seat in self.seats}

    @cached_property
    def host_ids(self) -> set[int]:
        return {seat.master_id for seat in self.seats}

    @cached_property
    def roster(self) -> list[RosterEntry]:
        """Everyone who counts in the period: active masters and apprentices, and anyone
        (even deactivated since) who observed or hosted a verified hour in it.

        A person is a master in the period if they are one now or hosted in it, and an
        apprentice likewise if they are one now or observed in it.
        """
        rows = db.session.execute(
            select(Person.id, Person.is_master, Person.is_apprentice, Person.site_id, Person.active)
        )
        roster = []
        for person_id, is_master, is_apprentice, site_id, active in rows:
            is_master = (is_master and active) or person_id in self.host_ids
            is_apprentice = (is_apprentice and active) or person_id in self.observer_ids
            if is_master or is_apprentice:
                roster.append(
                    RosterEntry(person_id, is_master, is_apprentice, site_id is None, active)
                )
        return roster
