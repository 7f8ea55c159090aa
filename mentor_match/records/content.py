"""What a mastery record states: only what the site verified, and the person's own word apart.

A stage is verified when it did not come from the person alone (models.StageSource): a
master endorsed it, an admin set or approved it, or an import the admin trusted brought it.
A record lists verified stages with where each comes from, the hours hosts confirmed, the
masters observed and the endorsements. Stages above apprentice that are the person's own
word are listed apart, as self-declared, and never under the word "verified"; a
self-declared apprentice stage claims nothing and is left out.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Endorsement,
    MicroSkill,
    Person,
    PersonSkill,
    Stage,
    StageSource,
)
from ..progress.services import hosting_contribution
from ..tracking.hours import average_ratings, hours_by_skill, skill_names, verified_seats

# Version 2 says where each stage comes from; version 3 adds what the person gave as a master
# (hours hosted, apprentices hosted). Records issued earlier keep verifying (what was signed
# is what is stored): version 1 stages carry no source, and neither 1 nor 2 states hosting.
RECORD_VERSION = "mentor-match/mastery-record@3"
# Versions whose stages carry their source, as the record page reads them.
SOURCED_STAGE_VERSIONS = ("mentor-match/mastery-record@2", RECORD_VERSION)
LEGACY_RECORD_VERSIONS = ("mentor-match/mastery-record@2", "mentor-match/mastery-record@1")
READABLE_VERSIONS = (RECORD_VERSION, *LEGACY_RECORD_VERSIONS)
ISSUER_NAME = "Mentor Match"


def instant(moment: datetime) -> str:
    """A moment as the records write it: UTC, to the second, e.g. 2026-03-20T12:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hours(value: float) -> float:
    return round(value, 2)


def stage_provenance(verified_stage: dict) -> str:
    """Where a verified stage comes from, in words: "endorsed by Amara Master on 2026-03-20"."""
    by, on = verified_stage.get("by"), str(verified_stage.get("at", ""))[:10]
    source = verified_stage.get("source")
    if source == StageSource.ENDORSED.value:
        return f"endorsed by {by or 'a former member'} on {on}"
    if source == StageSource.ADMIN.value:
        return f"set by an admin{f' ({by})' if by else ''} on {on}"
    if source == StageSource.IMPORTED.value:
        return f"imported by the organisation on {on}"
    return f"verified on {on}"


@dataclass(frozen=True)
class StageFact:
    """A person's stage in one micro skill and where it comes from."""

    micro_skill_id: int
    micro_skill: str
    stage: Stage
    source: StageSource
    by: str | None  # who endorsed or set it; None for the person's own word or an import
    at: datetime

    @property
    def verified(self) -> bool:
        return self.source.verified

    def as_verified_stage(self) -> dict:
        """The record's entry for a verified stage: the stage, its source, by whom and when."""
        return {
            "stage": self.stage.value,
            "source": self.source.value,
            "by": self.by,
            "at": instant(self.at),
        }


@dataclass(frozen=True)
class StagesOnRecord:
    """What a record published now would say of the person's stages."""

    verified: list[StageFact]
    self_declared: list[StageFact]  # above apprentice: listed apart, as their own word


def stage_facts(person: Person) -> list[StageFact]:
    """Every stage the person holds, by micro skill name, with its source."""
    held = db.session.scalars(
        select(PersonSkill)
        .where(PersonSkill.person_id == person.id)
        .options(
            selectinload(PersonSkill.micro_skill).selectinload(MicroSkill.area),
            selectinload(PersonSkill.stage_set_by),
        )
    ).all()
    facts = [
        StageFact(
            micro_skill_id=skill.micro_skill_id,
            micro_skill=skill.micro_skill.full_name,
            stage=skill.stage,
            source=skill.stage_source,
            by=skill.stage_set_by.name if skill.stage_set_by is not None else None,
            at=skill.stage_set_at,
        )
        for skill in held
    ]
    return sorted(facts, key=lambda fact: fact.micro_skill)


def stages_on_record(person: Person) -> StagesOnRecord:
    """The person's stages as a record would list them: verified, and self-declared apart."""
    facts = stage_facts(person)
    return StagesOnRecord(
        verified=[fact for fact in facts if fact.verified],
        self_declared=[
            fact for fact in facts if not fact.verified and fact.stage is not Stage.APPRENTICE
        ],
    )


def record_content(person: Person, code: str, issued_at: datetime) -> dict:
    """What a record states: verified stages with their source, host-verified hours, masters
    observed, endorsements and a feedback summary; self-declared stages listed apart.

    Hours count only seats whose attendance the host confirmed. Feedback appears only as a
    count and an average per micro skill; written notes, and the reasons admins give when
    they set a stage, stay private.
    """
    seats = verified_seats(apprentice_ids=[person.id])
    hours = hours_by_skill(seats)
    ratings = average_ratings(person.id)
    stages = stages_on_record(person)
    verified_stages = {fact.micro_skill_id: fact for fact in stages.verified}
    hour_skill_ids = {skill_id for skill_id in hours if skill_id is not None}
    skill_ids = set(verified_stages) | set(ratings) | hour_skill_ids
    names = skill_names(skill_ids)

    micro_skills = []
    for skill_id in skill_ids:
        average, count = ratings.get(skill_id, (None, 0))
        fact = verified_stages.get(skill_id)
        micro_skills.append(
            {
                "micro_skill": names[skill_id],
                "verified_stage": fact.as_verified_stage() if fact else None,
                "verified_hours": _hours(hours.get(skill_id, 0.0)),
                "practice_feedback": {
                    "count": count,
                    "average_rating": None if average is None else round(average, 2),
                },
            }
        )
    micro_skills.sort(key=lambda entry: entry["micro_skill"])

    return {
        "version": RECORD_VERSION,
        "code": code,
        "issued_at": instant(issued_at),
        "issued_by": ISSUER_NAME,
        "person": {"name": person.name},
        "micro_skills": micro_skills,
        "self_declared_stages": [
            {"micro_skill": fact.micro_skill, "stage": fact.stage.value}
            for fact in stages.self_declared
        ],
        "hours_without_micro_skill": _hours(hours.get(None, 0.0)),
        "total_verified_hours": _hours(sum(seat.hours for seat in seats)),
        "masters_observed": _masters_observed(seats),
        "endorsements": _endorsements(person),
        "hosting": _hosting(person),
    }


def _hosting(person: Person) -> dict:
    """What the person gave as a master: host-verified hours hosted (an hour with several
    observers counts once, as on the hosting page) and the distinct apprentices who watched."""
    contribution = hosting_contribution(person)
    return {
        "verified_hours": _hours(contribution.hours),
        "apprentices": contribution.apprentices,
    }


def _masters_observed(seats) -> list[dict]:
    by_master: dict[int, float] = defaultdict(float)
    for seat in seats:
        by_master[seat.master_id] += seat.hours
    if not by_master:
        return []
    query = select(Person.id, Person.name).where(Person.id.in_(list(by_master)))
    names = dict(db.session.execute(query).all())
    masters = [
        {"name": names[master_id], "verified_hours": _hours(total)}
        for master_id, total in by_master.items()
    ]
    return sorted(masters, key=lambda master: (-master["verified_hours"], master["name"]))


def _endorsements(person: Person) -> list[dict]:
    endorsements = db.session.scalars(
        select(Endorsement)
        .where(Endorsement.person_id == person.id)
        .order_by(Endorsement.created_at, Endorsement.id)
        .options(
            selectinload(Endorsement.micro_skill).selectinload(MicroSkill.area),
            selectinload(Endorsement.endorsed_by),
        )
    )
    return [
        {
            "micro_skill": endorsement.micro_skill.full_name,
            "from_stage": endorsement.from_stage.value,
            "to_stage": endorsement.to_stage.value,
            "endorsed_by": endorsement.endorsed_by.name if endorsement.endorsed_by else None,
            "endorsed_at": instant(endorsement.created_at),
        }
        for endorsement in endorsements
    ]
