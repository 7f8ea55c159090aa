"""Who may host a micro skill: one rule, in Python and in SQL, used by rounds and booking.

A person hosts a skill they mark as hosted at journeyman or master. When the organisation
asks for verified hosts (the default), the stage must also be verified: endorsed by a
verified master, set by an admin, or from a trusted import. A self-declared stage waits.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_

from ..models import Person, PersonSkill, Stage, StageSource
from ..organisation.services import only_verified_hosts


def may_host(held: PersonSkill, *, verified_only: bool) -> bool:
    """Whether this stage lets its holder host the skill."""
    return (
        held.hosts
        and held.stage is not Stage.APPRENTICE
        and (held.stage_verified or not verified_only)
    )


def hosting_condition(*, verified_only: bool) -> ColumnElement[bool]:
    """The same rule as `may_host`, as a WHERE clause on person_skills."""
    condition = and_(PersonSkill.hosts.is_(True), PersonSkill.stage != Stage.APPRENTICE)
    if verified_only:
        condition = and_(condition, PersonSkill.stage_source != StageSource.SELF_DECLARED)
    return condition


def hosted_skills(person: Person, *, verified_only: bool | None = None) -> list[PersonSkill]:
    """The stages with which the person hosts now; the organisation's rule unless given."""
    if verified_only is None:
        verified_only = only_verified_hosts()
    return [held for held in person.skills if may_host(held, verified_only=verified_only)]


def waiting_for_verification(held: PersonSkill) -> bool:
    """A master's hosted stage they declared themself, not yet verified nor declined (the
    Python twin of the queue's query in stages.services)."""
    return (
        held.person.is_master
        and held.hosts
        and held.stage is not Stage.APPRENTICE
        and not held.stage_verified
        and held.declined_at is None
    )
