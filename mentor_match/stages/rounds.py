"""Stages in a round's review: where each paired master's stage comes from, and who lost it.

A run is a snapshot: between the run and its publication an admin may take back a master's
verification. The review shows it beside the pairing, and publication refuses until such
pairings are removed, so no one is sent to watch a master the organisation no longer vouches
for.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import MicroSkill, PersonSkill
from ..organisation.services import only_verified_hosts
from .hosting import may_host


@dataclass(frozen=True)
class HostStage:
    """A paired master's stage in one of the pairing's skills, as it is now."""

    held: PersonSkill | None  # None: the skill is no longer on their profile
    may_host: bool


def host_stages(pairings: list[dict], person_id_of) -> dict[tuple[str, str], HostStage]:
    """For each (master ref, skill key) in the pairings, the master's stage now."""
    wanted = {(p["master"], key) for p in pairings for key in p["skills"]}
    ids = {person_id_of(ref) for ref, _ in wanted}
    if not ids:
        return {}
    held_by = {
        (held.person_id, held.micro_skill.key): held
        for held in db.session.scalars(
            select(PersonSkill)
            .where(PersonSkill.person_id.in_(ids))
            .options(
                selectinload(PersonSkill.micro_skill).selectinload(MicroSkill.area),
                selectinload(PersonSkill.stage_set_by),
            )
        )
    }
    verified_only = only_verified_hosts()
    result = {}
    for ref, key in wanted:
        held = held_by.get((person_id_of(ref), key))
        result[(ref, key)] = HostStage(
            held, held is not None and may_host(held, verified_only=verified_only)
        )
    return result


def pairings_without_host(pairings: list[dict], person_id_of) -> list[dict]:
    """Pairings none of whose skills the master may host any more."""
    stages = host_stages(pairings, person_id_of)
    return [
        p
        for p in pairings
        if p["skills"] and not any(stages[(p["master"], key)].may_host for key in p["skills"])
    ]
