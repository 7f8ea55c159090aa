"""A member's own standing allowance: raised or lowered by their manager or an admin."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..errors import Refusal
from ..extensions import db
from ..models import AllowanceKind, LearningAllowance, Person, utcnow
from ..models.allowances import MOST_HOURS_IN_A_MONTH, hours_outside_a_month
from ..tracking.hours import commit_field_changes
from .figures import organisation_allowance

CHANGE_SUBJECT = "learning_allowance"
SAVED_AT_ONCE = "Someone else set this allowance at the same moment. Check it and save again."
HOURS_PROBLEM = f"Enter whole hours from 0 to {MOST_HOURS_IN_A_MONTH}, or leave it empty."


def may_set_allowance(actor: Person, person: Person) -> bool:
    """Whether the actor may set this person's allowance: their manager, or an admin."""
    return actor.active and (actor.is_admin or person.manager_id == actor.id)


def refusal_to_set(person: Person) -> Refusal:
    return Refusal(f"Only {person.name}'s manager or an admin can set their allowance.")


def own_allowance(person: Person) -> LearningAllowance | None:
    return db.session.scalar(
        select(LearningAllowance).where(LearningAllowance.person_id == person.id)
    )


@dataclass(frozen=True)
class AllowanceFigures:
    """A member's own figures beside the organisation's, for the allowance page."""

    observing_hours: int | None
    hosting_hours: int | None
    organisation_observing: int | None
    organisation_hosting: int | None
    set_by: Person | None


def allowance_figures(person: Person) -> AllowanceFigures:
    own = own_allowance(person)
    return AllowanceFigures(
        own.observing_hours if own else None,
        own.hosting_hours if own else None,
        organisation_allowance(AllowanceKind.OBSERVING),
        organisation_allowance(AllowanceKind.HOSTING),
        own.set_by if own else None,
    )


def _hours_said(hours: int | None) -> str:
    return "the organisation's" if hours is None else f"{hours} h"


def set_member_allowance(
    actor: Person, person: Person, *, observing_hours: int | None, hosting_hours: int | None
) -> int:
    """Set a member's own monthly hours (None: follow the organisation's); logs each changed
    figure; commits. Refuses anyone but the person's manager or an admin, and hours outside
    0 to MOST_HOURS_IN_A_MONTH. Returns how many figures changed."""
    if not may_set_allowance(actor, person):
        raise refusal_to_set(person)
    problems = hours_outside_a_month(
        HOURS_PROBLEM, observing_hours=observing_hours, hosting_hours=hosting_hours
    )
    if problems:
        raise Refusal(problems=problems)
    own = own_allowance(person)
    before = (own.observing_hours, own.hosting_hours) if own else (None, None)
    changed = [
        (name, _hours_said(old), _hours_said(new))
        for name, old, new in (
            ("observing_hours", before[0], observing_hours),
            ("hosting_hours", before[1], hosting_hours),
        )
        if old != new
    ]
    if not changed:
        return 0
    if own is None:
        own = LearningAllowance(person=person)
        db.session.add(own)
    own.observing_hours = observing_hours
    own.hosting_hours = hosting_hours
    own.set_by = actor
    own.set_at = utcnow()
    return commit_field_changes(
        actor, CHANGE_SUBJECT, person.id, changed, saved_at_once=SAVED_AT_ONCE
    )
