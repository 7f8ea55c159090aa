"""Applying an import: the whole file's plan in one transaction, and invitations for new people.

The file's format is in ``imports.people_file``; what the file would do, in ``imports.plan``.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.services import INVITATION_LINK
from ..allowances.managers import set_manager
from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..models import MonthPlan, Person, PersonSkill
from ..rounds.notices import notify_many
from ..tracking.hours import record_change
from .plan import ImportPlan, build_plan
from .rows import Row
from .stages import ImportOrigin, place_stage

INVITATION_SUBJECT = "You are invited to Mentor Match"


def _apply_skills(
    person: Person, row: Row, origin: ImportOrigin, skill_keys: dict[int, str]
) -> list[tuple[str, str]]:
    """Give the row's skills; (before, after) of each stage that changed, for the change log."""
    held = {skill.micro_skill_id: skill for skill in person.skills}
    moved = []
    for skill_id, (stage, hosts, develops) in row.skills.items():
        skill = held.get(skill_id)
        if skill is None:
            skill = PersonSkill(micro_skill_id=skill_id)
            person.skills.append(skill)
        if (skill.hosts, skill.develops) != (hosts, develops):
            skill.hosts, skill.develops = hosts, develops
        change = place_stage(
            skill, stage, origin, key=skill_keys[skill_id], new=skill_id not in held
        )
        if change is not None:
            moved.append(change)
    return moved


def _apply_row(person: Person, row: Row, month: str, plan: MonthPlan | None) -> None:
    person.name, person.site, person.timezone = row.name, row.site, row.timezone
    person.is_master, person.is_apprentice = row.is_master, row.is_apprentice
    if row.observation_hours is None and row.hosting_hours is None:
        return
    if plan is None:
        plan = MonthPlan(month=month)
        person.month_plans.append(plan)
    if row.observation_hours is not None:
        plan.observation_hours = row.observation_hours
    if row.hosting_hours is not None:
        plan.max_hosting_hours = row.hosting_hours


def _apply_managers(actor: Person, entries: list) -> None:
    """Each row's manager, through set_manager: first every changing person's manager is
    cleared, so no step meets a cycle the whole file does not have (the plan checked that)."""
    changing = [
        (person, entry.row.manager_email)
        for person, entry in entries
        if entry.row.manager_email is not None
        and any(change[0] == "manager" for change in entry.changes)
    ]
    if not changing:
        return
    emails = {email for _, email in changing if email}
    managers = {
        person.email.lower(): person
        for person in db.session.scalars(
            select(Person).where(func.lower(Person.email).in_(sorted(emails)))
        )
    }
    for person, _ in changing:
        set_manager(actor, person, None, commit=False)
    for person, email in changing:
        if email:
            set_manager(actor, person, managers[email], commit=False)


def _changes_text(changes: list[tuple[str, str, str]], side: int) -> str:
    """The old (side 1) or new (side 2) values of the changed fields, for the change log."""
    return "; ".join(f"{change[0]}: {change[side]}" for change in changes)


def invitation_lifetime_days() -> int:
    """How many days an invitation's set-password link works, from when its mail is sent."""
    return current_app.config["INVITATION_MAX_AGE"].days


def _invitations(people: list[Person]) -> list[dict]:
    """The invitation notices (for notify_many): a welcome, and a mail with a set-password link."""
    days = invitation_lifetime_days()
    profile = absolute_url("profiles.edit")
    forgot = absolute_url("accounts.forgot_password")
    return [
        {
            "person_id": person.id,
            "text": "Welcome to Mentor Match. Check your profile, skills and availability.",
            "link": profile,
            "mail_subject": INVITATION_SUBJECT,
            "mail_body": (
                f"Hello {person.name},\n\nAn admin has added you to Mentor Match, where "
                "people learn a craft by watching a master do it.\n\n"
                f"Choose your password within {days} days with this link:\n\n"
                f"{INVITATION_LINK}\n\n"
                f"If the link has expired, ask for a new one at {forgot} with this address "
                f"({person.email}).\n"
            ),
        }
        for person in people
    ]


def apply_import(
    text: str, actor: Person, *, trust_stages: bool = False, filename: str = ""
) -> ImportPlan:
    """Apply the whole file in one transaction, or nothing if any row is bad.

    With `trust_stages` (an admin's choice on the preview) the file's stages are verified,
    marked imported by `actor`; without it they arrive self-declared. `filename` names the
    import in each stage's note. Returns the plan that was applied. New people get an
    invitation notification whose mail the caller sends (jobs.dispatch_mail) once this
    has committed.
    """
    if trust_stages and not actor.is_admin:
        raise Refusal("Only an admin can mark imported stages as verified.")
    plan = build_plan(text)
    if plan.problems:
        raise Refusal(
            f"The file has {len(plan.problems)} bad row(s); fix them and upload it again."
        )
    origin = ImportOrigin(filename, datetime.now(UTC).date(), actor if trust_stages else None)
    try:
        created, moved = [], []
        for entry in plan.creations:
            # Not a usable hash (check_password_hash refuses it), random so reset tokens differ.
            person = Person(
                email=entry.row.email, password_hash=f"!invited:{secrets.token_hex(16)}"
            )
            _apply_row(person, entry.row, plan.month, None)
            db.session.add(person)
            created.append((person, entry))
        for entry in plan.changes:
            _apply_row(entry.person, entry.row, plan.month, entry.month_plan)
        for person, entry in [*created, *((e.person, e) for e in plan.changes + plan.repeated)]:
            moved += [
                (person, change)
                for change in _apply_skills(person, entry.row, origin, plan.skill_keys)
            ]
        db.session.flush()
        _apply_managers(actor, [*created, *((e.person, e) for e in plan.changes)])
        # A person's stage has no id of its own: the subject is the person, the skill in the text.
        for person, (before, after) in moved:
            record_change(actor, "person_skill", person.id, "stage_changed", before, after)
        for person, entry in created:
            record_change(
                actor, "person", person.id, "imported", "", _changes_text(entry.changes, 2)
            )
        notify_many(_invitations([person for person, _ in created]))
        for entry in plan.changes:
            record_change(
                actor,
                "person",
                entry.person.id,
                "changed by import",
                _changes_text(entry.changes, 1),
                _changes_text(entry.changes, 2),
            )
        db.session.commit()
    except IntegrityError:
        # Someone added or changed one of these people (an email now taken) since the plan.
        db.session.rollback()
        raise Refusal(
            "Someone changed these people while the import ran; nothing was saved. "
            "Upload the file again."
        ) from None
    except Exception:
        db.session.rollback()
        raise
    return plan
