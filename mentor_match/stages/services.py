"""Verifying stages: the admin's queue, a verified master's endorsement, an admin's ruling.

Each action checks its rules again whatever the page showed, changes the stage with where it
comes from, writes the change log, tells the person on the site and by mail, and commits
once; a refused action changes nothing. An admin who lowers or takes back a hosting stage
cancels the person's upcoming sessions in that skill in the same transaction, and everyone
in them is told (rather than refusing, which would leave the admin to cancel them by hand
while an unverified master kept hosting).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..booking.actions import cancel_seats_no_longer_hosted
from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..models import (
    Endorsement,
    MicroSkill,
    Pairing,
    Person,
    PersonSkill,
    SessionObserver,
    ShadowingSession,
    Stage,
    StageSource,
    pairing_skills,
    utcnow,
)
from ..organisation.services import only_verified_hosts
from ..rounds.notices import notify
from ..tracking.hours import record_change
from .hosting import hosted_skills, may_host, waiting_for_verification

MAX_REASON = 1000
CHANGE_SUBJECT = "person_skill"  # subject_id is the person; the skill is in the text


@dataclass(frozen=True)
class StageChange:
    """What an admin's ruling did: the stage now held, and the seats it cancelled."""

    held: PersonSkill
    seats_cancelled: int


def describe(held: PersonSkill) -> str:
    """How the change log writes a stage: ``negotiation/anchoring: master (endorsed)``."""
    return f"{held.micro_skill.key}: {held.stage.value} ({held.stage_source.label})"


# The queue ---------------------------------------------------------------------------------


def _waiting_query():
    return (
        select(PersonSkill)
        .join(Person, Person.id == PersonSkill.person_id)
        .where(
            Person.active.is_(True),
            Person.is_master.is_(True),
            PersonSkill.hosts.is_(True),
            PersonSkill.stage != Stage.APPRENTICE,
            PersonSkill.stage_source == StageSource.SELF_DECLARED,
            PersonSkill.declined_at.is_(None),
        )
    )


def stages_to_verify() -> list[PersonSkill]:
    """Self-declared hosting stages waiting for a ruling, the longest waiting first."""
    return list(
        db.session.scalars(
            _waiting_query()
            .options(
                selectinload(PersonSkill.person),
                selectinload(PersonSkill.micro_skill).selectinload(MicroSkill.area),
            )
            .order_by(PersonSkill.stage_set_at, PersonSkill.person_id, PersonSkill.micro_skill_id)
        )
    )


def masters_waiting() -> int:
    """How many people have at least one hosting stage waiting for verification."""
    people = _waiting_query().with_only_columns(PersonSkill.person_id).distinct().subquery()
    return db.session.scalar(select(func.count()).select_from(people)) or 0


def stages_to_endorse(master: Person) -> list[PersonSkill]:
    """Waiting stages in skills where this master is a verified master: theirs to confirm."""
    mine = [
        held.micro_skill_id
        for held in master.skills
        if held.stage is Stage.MASTER and held.stage_verified
    ]
    if not mine:
        return []
    return list(
        db.session.scalars(
            _waiting_query()
            .where(PersonSkill.micro_skill_id.in_(mine), PersonSkill.person_id != master.id)
            .options(
                selectinload(PersonSkill.person),
                selectinload(PersonSkill.micro_skill).selectinload(MicroSkill.area),
            )
            .order_by(PersonSkill.stage_set_at, PersonSkill.person_id)
        )
    )


# Shared checks -----------------------------------------------------------------------------


def _text(value: str, what: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise Refusal(f"Give a reason: {what}")
    if len(value) > MAX_REASON:
        raise Refusal(
            f"Keep the {'reason' if required else 'note'} to {MAX_REASON} characters or fewer."
        )
    return value


def _held(person_id: int, micro_skill_id: int) -> PersonSkill:
    held = db.session.get(PersonSkill, (person_id, micro_skill_id))
    if held is None or not held.person.active:
        raise Refusal("That person no longer holds a stage in this micro skill.")
    return held


def _waiting(person_id: int, micro_skill_id: int, stage_seen: Stage | None) -> PersonSkill:
    """The waiting stage, refused if it was ruled on or changed since the page was shown."""
    held = _held(person_id, micro_skill_id)
    if not waiting_for_verification(held):
        raise Refusal(
            f"{held.person.name}'s stage in {held.micro_skill.full_name} is no "
            "longer waiting for verification; look again."
        )
    if stage_seen is not None and held.stage is not stage_seen:
        raise Refusal(
            f"{held.person.name} changed their stage in "
            f"{held.micro_skill.full_name} meanwhile; look again."
        )
    return held


def _require_admin(admin: Person, person_id: int) -> None:
    if not admin.is_admin:
        raise Refusal("Only admins verify stages.")
    if admin.id == person_id:
        raise Refusal(
            "You cannot verify or set your own stage: another admin, or a "
            "verified master in the skill, can."
        )


def _tell(person: Person, text: str, subject: str, detail: str = "") -> None:
    link = absolute_url("profiles.skills")
    body = f"Hello {person.name},\n\n{text}\n" + (f"\n{detail}\n" if detail else "")
    notify(
        person, text[:300], link, subject=subject[:200], body=f"{body}\nYour micro skills: {link}\n"
    )


# Rulings -----------------------------------------------------------------------------------


def approve(
    admin: Person, person_id: int, micro_skill_id: int, *, stage_seen: Stage | None, note: str = ""
) -> PersonSkill:
    """An admin verifies a waiting stage as claimed; one commit."""
    _require_admin(admin, person_id)
    note = _text(note, "", required=False)
    held = _waiting(person_id, micro_skill_id, stage_seen)
    before = describe(held)
    held.set_stage(held.stage, StageSource.ADMIN, by=admin, note=note)
    record_change(admin, CHANGE_SUBJECT, held.person_id, "verified", before, describe(held))
    _tell(
        held.person,
        f"{admin.name} verified your stage: {held.stage.value} in {held.micro_skill.full_name}. "
        "You can now be paired and booked in it.",
        f"Your stage in {held.micro_skill.full_name} is verified",
        note,
    )
    db.session.commit()
    return held


def decline(
    admin: Person, person_id: int, micro_skill_id: int, *, stage_seen: Stage | None, reason: str
) -> PersonSkill:
    """An admin declines a waiting stage with a reason; it leaves the queue; one commit."""
    _require_admin(admin, person_id)
    reason = _text(reason, "the person reads it and can act on it.", required=True)
    held = _waiting(person_id, micro_skill_id, stage_seen)
    held.declined_at, held.decline_reason = utcnow(), reason
    record_change(admin, CHANGE_SUBJECT, held.person_id, "declined", describe(held), reason)
    _tell(
        held.person,
        f"{admin.name} did not verify your stage {held.stage.value} in "
        f"{held.micro_skill.full_name}: {reason}",
        f"Your stage in {held.micro_skill.full_name} was not verified",
        "Until a stage is verified you are not paired or booked to host it. You can change "
        "the stage on your profile, which asks again, or ask a verified master to endorse it.",
    )
    db.session.commit()
    return held


def endorse_peer(
    master: Person, person_id: int, micro_skill_id: int, *, stage_seen: Stage | None, note: str = ""
) -> PersonSkill:
    """A verified master in the skill confirms another's self-declared stage; one commit."""
    note = _text(note, "", required=False)
    if person_id == master.id:
        raise Refusal("You cannot endorse yourself.")
    own = db.session.get(PersonSkill, (master.id, micro_skill_id))
    if not (
        master.active
        and master.is_master
        and own is not None
        and own.stage is Stage.MASTER
        and own.stage_verified
    ):
        raise Refusal(
            "Only a master whose own stage in this micro skill is verified can "
            "endorse others in it."
        )
    held = _waiting(person_id, micro_skill_id, stage_seen)
    if (
        db.session.scalar(
            select(Endorsement.id).where(
                Endorsement.person_id == person_id,
                Endorsement.micro_skill_id == micro_skill_id,
                Endorsement.to_stage == held.stage,
            )
        )
        is not None
    ):
        raise Refusal(
            f"{held.person.name} was endorsed as {held.stage.value} in "
            f"{held.micro_skill.full_name} before; an admin can verify it now."
        )
    before = describe(held)
    held.set_stage(held.stage, StageSource.ENDORSED, by=master, note=note)
    endorsement = Endorsement(
        person_id=person_id,
        micro_skill_id=micro_skill_id,
        from_stage=held.stage,
        to_stage=held.stage,
        endorsed_by_id=master.id,
        verified_hours=0.0,
        average_rating=None,
        note=note,
    )
    db.session.add(endorsement)
    db.session.flush()
    record_change(
        master,
        "endorsement",
        endorsement.id,
        "given",
        "",
        f"{held.micro_skill.key}: confirmed {held.stage.value}",
    )
    record_change(master, CHANGE_SUBJECT, held.person_id, "endorsed", before, describe(held))
    _tell(
        held.person,
        f"{master.name} endorsed you as a {held.stage.value} in {held.micro_skill.full_name}. "
        "You can now be paired and booked in it.",
        f"You are endorsed as a {held.stage.value} in {held.micro_skill.full_name}",
        f"{master.name} wrote: {note}" if note else "",
    )
    db.session.commit()
    return held


def set_stage(
    admin: Person, person_id: int, micro_skill_id: int, stage: Stage, *, reason: str
) -> StageChange:
    """An admin sets a person's stage (up or down) with a reason; one commit.

    If the person can no longer host the skill, their upcoming sessions in it are cancelled
    and everyone in them told.
    """
    _require_admin(admin, person_id)
    reason = _text(reason, "the person reads why their stage changed.", required=True)
    held = _held(person_id, micro_skill_id)
    if held.stage is stage and held.stage_source is StageSource.ADMIN:
        raise Refusal(
            f"{held.person.name} is already a {stage.value} in "
            f"{held.micro_skill.full_name}, set by an admin."
        )
    if stage is Stage.MASTER and held.develops:
        held.develops = False  # a master no longer develops the skill by observing
    before = describe(held)
    held.set_stage(stage, StageSource.ADMIN, by=admin, note=reason)
    return _ruled(
        admin,
        held,
        "set_by_admin",
        before,
        reason,
        f"{admin.name} set your stage in {held.micro_skill.full_name} to {stage.value}: {reason}",
        f"Your stage in {held.micro_skill.full_name} is now {stage.value}",
    )


def revoke(admin: Person, person_id: int, micro_skill_id: int, *, reason: str) -> StageChange:
    """An admin takes back a verification: the stage becomes self-declared and declined, so
    it does not wait in the queue again until the person changes it; one commit."""
    _require_admin(admin, person_id)
    reason = _text(reason, "the person reads why.", required=True)
    held = _held(person_id, micro_skill_id)
    if not held.stage_verified:
        raise Refusal(
            f"{held.person.name}'s stage in {held.micro_skill.full_name} is not "
            "verified, so there is nothing to take back."
        )
    before = describe(held)
    held.set_stage(held.stage, StageSource.SELF_DECLARED, by=admin, note=reason)
    held.declined_at, held.decline_reason = utcnow(), reason
    return _ruled(
        admin,
        held,
        "verification_revoked",
        before,
        reason,
        f"{admin.name} took back the verification of your stage {held.stage.value} in "
        f"{held.micro_skill.full_name}: {reason}",
        f"Your stage in {held.micro_skill.full_name} is no longer verified",
    )


def _ruled(
    admin: Person, held: PersonSkill, action: str, before: str, reason: str, text: str, subject: str
) -> StageChange:
    """After an admin's ruling: cancel what the person may no longer host, log, tell, commit."""
    cancelled = _cancel_what_they_no_longer_host(held, reason)
    record_change(
        admin, CHANGE_SUBJECT, held.person_id, action, before, f"{describe(held)}; {reason}"
    )
    _tell(
        held.person,
        text,
        subject,
        f"{cancelled} of the seats in your upcoming sessions were cancelled and their "
        "apprentices told."
        if cancelled
        else "",
    )
    db.session.commit()
    return StageChange(held, cancelled)


def _cancel_what_they_no_longer_host(held: PersonSkill, reason: str) -> int:
    verified_only = only_verified_hosts()
    if may_host(held, verified_only=verified_only) or not held.hosts:
        return 0
    still = {ps.micro_skill_id for ps in hosted_skills(held.person, verified_only=verified_only)}
    return cancel_seats_no_longer_hosted(
        held.person,
        still,
        f"{held.person.name} no longer hosts {held.micro_skill.full_name} ({reason})",
    )


def upcoming_hosted_seats(person: Person, micro_skill_id: int) -> int:
    """How many live upcoming seats the person hosts in this skill (for the profile's warning)."""
    now = utcnow()
    by_session = ShadowingSession.micro_skill_id == micro_skill_id
    by_pairing = SessionObserver.pairing_id.in_(
        select(Pairing.id)
        .join(pairing_skills, pairing_skills.c.pairing_id == Pairing.id)
        .where(pairing_skills.c.micro_skill_id == micro_skill_id)
    )
    return (
        db.session.scalar(
            select(func.count(SessionObserver.id))
            .join(ShadowingSession, ShadowingSession.id == SessionObserver.session_id)
            .where(
                ShadowingSession.master_id == person.id,
                ShadowingSession.cancelled_at.is_(None),
                SessionObserver.cancelled_at.is_(None),
                ShadowingSession.starts_at > now,
                by_session | (ShadowingSession.micro_skill_id.is_(None) & by_pairing),
            )
        )
        or 0
    )
