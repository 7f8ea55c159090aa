"""What happened after a session: attendance, observations, practice, feedback, progress.

Hours count only once the master has confirmed them (host-verified). Every change to
hours, ratings and endorsements is kept in the change log with who made it and when.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .skills import Stage
from .types import UTCDateTime, utcnow, value_enum

if TYPE_CHECKING:
    from .people import Person
    from .sessions import SessionObserver
    from .skills import MicroSkill


class Attendance(db.Model):
    """The master's word on one seat: attended for how long, or absent.

    The apprentice may dispute it.
    """

    __tablename__ = "attendances"
    __table_args__ = (CheckConstraint("minutes >= 0 AND minutes <= 1440", name="minutes_in_a_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    seat_id: Mapped[int] = mapped_column(
        ForeignKey("session_observers.id", ondelete="CASCADE"), unique=True
    )
    minutes: Mapped[int]  # 0: did not attend
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    disputed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispute_reason: Mapped[str] = mapped_column(Text, default="")
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))

    seat: Mapped[SessionObserver] = relationship(back_populates="attendance")
    confirmed_by: Mapped[Person | None] = relationship(foreign_keys=[confirmed_by_id])

    @property
    def hours(self) -> float:
        return self.minutes / 60

    @property
    def is_disputed(self) -> bool:
        return self.disputed_at is not None and self.resolved_at is None


observation_skills = Table(
    "observation_skills",
    db.metadata,
    Column("observation_id", ForeignKey("observations.id", ondelete="CASCADE"), primary_key=True),
    Column("micro_skill_id", ForeignKey("micro_skills.id", ondelete="CASCADE"), primary_key=True),
)


class Observation(db.Model):
    """What the apprentice saw in a session, and which micro skills they saw used."""

    __tablename__ = "observations"

    id: Mapped[int] = mapped_column(primary_key=True)
    seat_id: Mapped[int] = mapped_column(
        ForeignKey("session_observers.id", ondelete="CASCADE"), unique=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    seat: Mapped[SessionObserver] = relationship(back_populates="observation")
    micro_skills: Mapped[list[MicroSkill]] = relationship(secondary=observation_skills)


class PracticeAttempt(db.Model):
    """An apprentice trying a micro skill themselves, for a master to rate."""

    __tablename__ = "practice_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    apprentice_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    micro_skill_id: Mapped[int] = mapped_column(ForeignKey("micro_skills.id", ondelete="CASCADE"))
    # The master asked to rate it (someone who watched or who hosts the skill).
    master_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    practised_on: Mapped[date]
    description: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    apprentice: Mapped[Person] = relationship(foreign_keys=[apprentice_id])
    master: Mapped[Person | None] = relationship(foreign_keys=[master_id])
    micro_skill: Mapped[MicroSkill] = relationship()
    feedback: Mapped[Feedback | None] = relationship(back_populates="attempt", uselist=False)


class FeedbackKind(enum.StrEnum):
    PRACTICE = "practice"  # a master rates an apprentice's practice of a micro skill
    SESSION = "session"  # an apprentice rates a session they observed


class Feedback(db.Model):
    """A rating from 1 to 5 with a written note, seen only by its giver and its receiver."""

    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        UniqueConstraint("attempt_id"),
        UniqueConstraint("seat_id", "kind"),
        Index("ix_feedback_receiver_skill", "receiver_id", "micro_skill_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[FeedbackKind] = mapped_column(value_enum(FeedbackKind))
    giver_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    receiver_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    micro_skill_id: Mapped[int | None] = mapped_column(
        ForeignKey("micro_skills.id", ondelete="SET NULL")
    )
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("practice_attempts.id", ondelete="CASCADE")
    )
    seat_id: Mapped[int | None] = mapped_column(
        ForeignKey("session_observers.id", ondelete="CASCADE")
    )
    rating: Mapped[int]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    giver: Mapped[Person] = relationship(foreign_keys=[giver_id])
    receiver: Mapped[Person] = relationship(foreign_keys=[receiver_id])
    micro_skill: Mapped[MicroSkill | None] = relationship()
    attempt: Mapped[PracticeAttempt | None] = relationship(back_populates="feedback")


class StageThreshold(db.Model):
    """What makes an apprentice eligible for the next stage in a micro skill (admin-set)."""

    __tablename__ = "stage_thresholds"
    __table_args__ = (
        CheckConstraint(
            "verified_hours >= 0 AND average_rating >= 1 AND average_rating <= 5",
            name="sane_threshold",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The stage reached: journeyman (from apprentice) or master (from journeyman).
    stage: Mapped[Stage] = mapped_column(value_enum(Stage), unique=True)
    verified_hours: Mapped[float] = mapped_column(Float)
    average_rating: Mapped[float] = mapped_column(Float)


class Endorsement(db.Model):
    """A master's endorsement of an apprentice's step to the next stage in a micro skill."""

    __tablename__ = "endorsements"
    __table_args__ = (UniqueConstraint("person_id", "micro_skill_id", "to_stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    micro_skill_id: Mapped[int] = mapped_column(ForeignKey("micro_skills.id", ondelete="CASCADE"))
    from_stage: Mapped[Stage] = mapped_column(value_enum(Stage))
    to_stage: Mapped[Stage] = mapped_column(value_enum(Stage))
    endorsed_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    verified_hours: Mapped[float] = mapped_column(Float)  # at the time of the endorsement
    average_rating: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    endorsed_by: Mapped[Person | None] = relationship(foreign_keys=[endorsed_by_id])
    micro_skill: Mapped[MicroSkill] = relationship()


class ChangeRecord(db.Model):
    """Who changed what and when: hours, ratings, endorsements, mastery records."""

    __tablename__ = "change_records"
    __table_args__ = (Index("ix_change_records_subject", "subject", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(40))  # e.g. "attendance", "feedback"
    subject_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(40))  # e.g. "confirmed", "changed", "disputed"
    before: Mapped[str] = mapped_column(Text, default="")
    after: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    actor: Mapped[Person | None] = relationship()


class MasteryRecord(db.Model):
    """A snapshot of someone's verified mastery, signed by the site, shareable by link."""

    __tablename__ = "mastery_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)  # the public verification code
    content_json: Mapped[str] = mapped_column(Text)  # the canonical JSON that was signed
    signature: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship()
