"""Endorsing: which of a master's apprentices are ready for a step the master may endorse,
and the endorsement itself, with every rule checked again when it is given."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..models import (
    Endorsement,
    Feedback,
    FeedbackKind,
    MicroSkill,
    Person,
    PersonSkill,
    Stage,
    StageSource,
    utcnow,
)
from ..rounds.notices import notify
from ..tracking.hours import (
    VerifiedSeat,
    average_ratings,
    hours_by_skill,
    record_change,
    verified_seats,
)
from .thresholds import SkillProgress, may_endorse, next_stage, skill_progress, stage_thresholds

MAX_NOTE = 1000


def apprentices_of(master: Person, seats: list[VerifiedSeat]) -> set[int]:
    """People who watched the master (verified) or whose practice the master rated."""
    rated = db.session.scalars(
        select(Feedback.receiver_id).where(
            Feedback.giver_id == master.id, Feedback.kind == FeedbackKind.PRACTICE
        )
    )
    return ({seat.apprentice_id for seat in seats} | set(rated)) - {master.id}


def ready_for_endorsement(master: Person, apprentice_ids: set[int]) -> list[SkillProgress]:
    """The master's apprentices eligible for a next stage that the master may endorse."""
    held_by_master = {
        held.micro_skill_id: held.stage for held in master.skills if held.stage_verified
    }
    if not apprentice_ids or not held_by_master:
        return []
    candidates = [
        held
        for held in db.session.scalars(
            select(PersonSkill)
            .join(Person, Person.id == PersonSkill.person_id)
            .where(
                PersonSkill.person_id.in_(apprentice_ids),
                Person.active,
                PersonSkill.micro_skill_id.in_(held_by_master),
                PersonSkill.stage != Stage.MASTER,
            )
            .options(
                selectinload(PersonSkill.person),
                selectinload(PersonSkill.micro_skill).selectinload(MicroSkill.area),
            )
        )
        if may_endorse(held_by_master[held.micro_skill_id], held.stage, next_stage(held.stage))
    ]
    if not candidates:
        return []
    seats_by_person: dict[int, list[VerifiedSeat]] = defaultdict(list)
    for seat in verified_seats(apprentice_ids=list({held.person_id for held in candidates})):
        seats_by_person[seat.apprentice_id].append(seat)
    thresholds = stage_thresholds()
    ready = []
    ratings_by_person: dict[int, dict[int, tuple[float, int]]] = {}
    for held in candidates:
        if held.person_id not in ratings_by_person:
            ratings_by_person[held.person_id] = average_ratings(held.person_id)
        progress = skill_progress(
            held,
            hours_by_skill(seats_by_person[held.person_id]),
            ratings_by_person[held.person_id],
            thresholds,
        )
        if progress.eligible:
            ready.append(progress)
    return sorted(ready, key=lambda row: (row.person.name, row.micro_skill.full_name))


def _clip(text: str, limit: int) -> str:
    """Text cut to fit a column of `limit` characters (long names make long notices)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def endorse(master: Person, person_id: int, micro_skill_id: int, note: str = "") -> Endorsement:
    """Endorse an eligible apprentice's next stage: move it, log it and tell them; one commit.

    Every rule is checked again here, whatever the page showed: not oneself, one of the
    master's own apprentices, the master's own stage, and the thresholds.
    """
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise Refusal(f"Keep the note to {MAX_NOTE} characters or fewer.")
    if not master.is_master:
        raise Refusal("Only masters endorse a step to the next stage.")
    if person_id == master.id:
        raise Refusal("You cannot endorse yourself.")
    person = db.session.get(Person, person_id)
    micro_skill = db.session.get(MicroSkill, micro_skill_id)
    seats = verified_seats(apprentice_ids=[person_id])
    if (
        person is None
        or micro_skill is None
        or not person.active
        or person_id not in apprentices_of(master, [s for s in seats if s.master_id == master.id])
    ):
        # Said the same way whoever it is, so the refusal tells nothing about strangers.
        raise Refusal(
            "You can endorse only apprentices who have observed you or whose practice you rated."
        )
    held = db.session.get(PersonSkill, (person_id, micro_skill_id))
    if held is None:
        raise Refusal(f"{person.name} has no stage in {micro_skill.full_name} to move on from.")
    to_stage = next_stage(held.stage)
    if to_stage is None:
        raise Refusal(f"{person.name} is already a master in {micro_skill.full_name}.")
    own = db.session.get(PersonSkill, (master.id, micro_skill_id))
    if not may_endorse(own.stage if own else None, held.stage, to_stage):
        raise Refusal(
            f"To endorse a step to {to_stage.value} in {micro_skill.full_name} you must be at "
            f"least a {to_stage.value} in it yourself."
        )
    if not own.stage_verified:
        # Else a self-declared master could hand out verified stages to anyone.
        raise Refusal(
            f"Your own stage in {micro_skill.full_name} is self-declared: once an admin or a "
            "verified master verifies it, you can endorse others in it."
        )
    progress = skill_progress(
        held, hours_by_skill(seats), average_ratings(person_id), stage_thresholds()
    )
    if not progress.eligible:
        threshold = progress.threshold
        rating = (
            f"{progress.average_rating:.2f}" if progress.average_rating is not None else "none yet"
        )
        raise Refusal(
            f"{person.name} is not yet eligible for {to_stage.value} in "
            f"{micro_skill.full_name}: it takes {threshold.verified_hours:g} verified hours "
            f"(they have {progress.verified_hours:.1f}) and an average practice rating of "
            f"{threshold.average_rating:g} (theirs: {rating})."
        )
    if (
        db.session.scalar(
            select(Endorsement.id).where(
                Endorsement.person_id == person_id,
                Endorsement.micro_skill_id == micro_skill_id,
                Endorsement.to_stage == to_stage,
            )
        )
        is not None
    ):
        raise Refusal(
            f"{person.name} has already been endorsed for {to_stage.value} in "
            f"{micro_skill.full_name}."
        )

    from_stage, from_source = held.stage, held.stage_source
    # Conditional on the stage we read, so two masters endorsing at once move it only once.
    moved = db.session.execute(
        update(PersonSkill)
        .where(
            PersonSkill.person_id == person_id,
            PersonSkill.micro_skill_id == micro_skill_id,
            PersonSkill.stage == from_stage,
        )
        .values(
            stage=to_stage,
            stage_source=StageSource.ENDORSED,
            stage_set_by_id=master.id,
            stage_set_at=utcnow(),
            stage_note=note,
            declined_at=None,
            decline_reason="",
        )
        .execution_options(synchronize_session="fetch")
    ).rowcount
    if not moved:
        raise Refusal(
            f"{person.name}'s stage in {micro_skill.full_name} changed meanwhile; look again."
        )
    endorsement = Endorsement(
        person_id=person_id,
        micro_skill_id=micro_skill_id,
        from_stage=from_stage,
        to_stage=to_stage,
        endorsed_by_id=master.id,
        verified_hours=round(progress.verified_hours, 2),
        average_rating=progress.average_rating,
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
        f"{micro_skill.key}: {from_stage.value} -> {to_stage.value}; "
        f"{progress.verified_hours:.1f} h; average {progress.average_rating:.2f}",
    )
    # A person's stage has no id of its own: the subject is the person, the skill in the text.
    record_change(
        master,
        "person_skill",
        person_id,
        "stage_changed",
        f"{micro_skill.key}: {from_stage.value} ({from_source.label})",
        f"{micro_skill.key}: {to_stage.value} ({StageSource.ENDORSED.label})",
    )
    text = f"{master.name} endorsed you: you are now a {to_stage.value} in {micro_skill.full_name}."
    link = absolute_url("progress.mine")
    body = f"{text}\n\n{master.name} wrote: {note}" if note else text
    notify(
        person,
        _clip(text, 300),
        link=link,
        subject=_clip(f"You are now a {to_stage.value} in {micro_skill.full_name}", 200),
        body=f"{body}\n\nYour progress: {link}",
    )
    db.session.commit()
    return endorsement
