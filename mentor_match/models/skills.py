"""Areas of mastery, the micro skills they are made of, and the stages people reach."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow, value_enum

if TYPE_CHECKING:
    from .people import Person


class Stage(enum.StrEnum):
    """Stages of mastery, in order."""

    APPRENTICE = "apprentice"
    JOURNEYMAN = "journeyman"
    MASTER = "master"

    @property
    def rank(self) -> int:
        return list(Stage).index(self)

    @property
    def label(self) -> str:
        return self.value.capitalize()


class StageSource(enum.StrEnum):
    """Where a person's stage in a micro skill comes from: only the first is their own word."""

    SELF_DECLARED = "self_declared"
    ENDORSED = "endorsed"  # by a verified master at least at that stage in the skill
    ADMIN = "admin"  # set, or a claim approved, by an admin
    IMPORTED = "imported"  # from an import whose admin ticked "trust these stages"

    @property
    def verified(self) -> bool:
        return self is not StageSource.SELF_DECLARED

    @property
    def label(self) -> str:
        return {
            StageSource.SELF_DECLARED: "self-declared",
            StageSource.ENDORSED: "endorsed",
            StageSource.ADMIN: "set by an admin",
            StageSource.IMPORTED: "imported",
        }[self]

    def given_by(self, name: str | None) -> str:
        """The source with who gave it, as profiles say it: "endorsed by Amara Okafor"."""
        if self is StageSource.ENDORSED:
            return f"{self.label} by {name or 'a master'}"
        if self is StageSource.ADMIN and name:
            return f"set by {name} (admin)"
        return f"{self.label} by {name}" if name else self.label


def slugify(text: str) -> str:
    """Lower-case words joined by hyphens: the stable key used in round files."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Area(db.Model):
    """An area of mastery, such as negotiation, made of micro skills."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")

    micro_skills: Mapped[list[MicroSkill]] = relationship(
        back_populates="area", cascade="all, delete-orphan", order_by="MicroSkill.name"
    )

    def __repr__(self) -> str:
        return f"<Area {self.name}>"


class MicroSkill(db.Model):
    """One observable skill within an area, such as anchoring within negotiation."""

    __tablename__ = "micro_skills"
    __table_args__ = (UniqueConstraint("area_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")

    area: Mapped[Area] = relationship(back_populates="micro_skills")
    holders: Mapped[list[PersonSkill]] = relationship(
        back_populates="micro_skill", cascade="all, delete-orphan"
    )

    @property
    def key(self) -> str:
        """The key a round file uses for this skill, e.g. ``negotiation/anchoring``."""
        return f"{slugify(self.area.name)}/{slugify(self.name)}"

    @property
    def full_name(self) -> str:
        return f"{self.area.name}: {self.name}"

    def __repr__(self) -> str:
        return f"<MicroSkill {self.full_name}>"


class PersonSkill(db.Model):
    """A person's stage in one micro skill, and whether they host or want to develop it."""

    __tablename__ = "person_skills"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    micro_skill_id: Mapped[int] = mapped_column(
        ForeignKey("micro_skills.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    stage: Mapped[Stage] = mapped_column(value_enum(Stage))
    # A master (or journeyman) can be observed doing this skill.
    hosts: Mapped[bool] = mapped_column(default=False)
    # An apprentice wants to develop this skill by observing others.
    develops: Mapped[bool] = mapped_column(default=False)
    # Where the stage comes from. Only a verified stage lets a person host the skill (when
    # the organisation asks for verified hosts) and appears on a record as verified.
    stage_source: Mapped[StageSource] = mapped_column(
        value_enum(StageSource),
        default=StageSource.SELF_DECLARED,
        server_default=StageSource.SELF_DECLARED.value,
    )
    # Who endorsed or set the stage (None for the person's own word, an import, or an
    # account since deleted), when, and in their words why.
    stage_set_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    stage_set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stage_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    # An admin declined this self-declared stage: it leaves the queue until the person
    # declares a stage again. Cleared whenever the stage changes.
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decline_reason: Mapped[str] = mapped_column(Text, default="", server_default="")

    person: Mapped[Person] = relationship(back_populates="skills", foreign_keys=[person_id])
    micro_skill: Mapped[MicroSkill] = relationship(back_populates="holders")
    stage_set_by: Mapped[Person | None] = relationship(foreign_keys=[stage_set_by_id])

    @property
    def stage_verified(self) -> bool:
        return self.stage_source.verified

    def set_stage(
        self, stage: Stage, source: StageSource, *, by: Person | None = None, note: str = ""
    ) -> None:
        """Give the stage with where it comes from; any earlier decline no longer applies."""
        self.stage, self.stage_source = stage, source
        self.stage_set_by_id = by.id if by is not None else None
        self.stage_set_at = utcnow()
        self.stage_note = note
        self.declined_at, self.decline_reason = None, ""


class AreaIntent(enum.StrEnum):
    """Why an area is on a person's profile."""

    MASTERS_NOW = "masters_now"
    WANTS_NEXT = "wants_next"


class PersonArea(db.Model):
    """An area a person masters now, or wants to master next."""

    __tablename__ = "person_areas"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )
    area_id: Mapped[int] = mapped_column(
        ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True
    )
    intent: Mapped[AreaIntent] = mapped_column(
        value_enum(AreaIntent),
        primary_key=True,
    )

    person: Mapped[Person] = relationship(back_populates="areas")
    area: Mapped[Area] = relationship()
