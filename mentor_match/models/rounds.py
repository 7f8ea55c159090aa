"""Monthly matching rounds, their runs of the optimizer, and the pairings they publish."""

from __future__ import annotations

import enum
from datetime import datetime
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..optimizer.solution import gap
from .types import UTCDateTime, utcnow, value_enum

if TYPE_CHECKING:
    from .people import Person
    from .sessions import SessionObserver
    from .skills import MicroSkill


class RoundStatus(enum.StrEnum):
    """A round is drafted, opened for people to confirm, then published once."""

    DRAFT = "draft"
    OPEN = "open"
    PUBLISHED = "published"


class Round(db.Model):
    """The matching round of one month: who confirmed, its runs, and what was published."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7), unique=True)  # "YYYY-MM"
    status: Mapped[RoundStatus] = mapped_column(value_enum(RoundStatus), default=RoundStatus.DRAFT)
    confirm_by: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    runs: Mapped[list[RoundRun]] = relationship(
        back_populates="round",
        order_by="RoundRun.id.desc()",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )
    exclusions: Mapped[list[RoundExclusion]] = relationship(
        back_populates="round", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Round {self.month} {self.status}>"


class RunKind(enum.StrEnum):
    """A full run pairs the whole round; a fill run re-uses only capacity freed by declines."""

    FULL = "full"
    FILL = "fill"


class RunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)


# At most one run of a round may be queued or running: enforced by a partial unique index,
# so two admins pressing Run at once get one run and one clear refusal.
ACTIVE_RUN = text("status IN ('queued', 'running')")


class RoundRun(db.Model):
    """One attempt at solving a round: its problem snapshot, progress and solution.

    The problem and solution are kept as the JSON documents of the interchange format,
    so an admin can download them, solve offline, and upload a solution back.
    """

    __tablename__ = "round_runs"
    __table_args__ = (
        Index(
            "uq_round_runs_one_active",
            "round_id",
            unique=True,
            sqlite_where=ACTIVE_RUN,
            postgresql_where=ACTIVE_RUN,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RunKind] = mapped_column(value_enum(RunKind), default=RunKind.FULL)
    status: Mapped[RunStatus] = mapped_column(value_enum(RunStatus), default=RunStatus.QUEUED)
    # "optimizer" for runs solved here; "upload" for a solution an admin brought in.
    source: Mapped[str] = mapped_column(String(20), default="optimizer")
    time_limit: Mapped[float] = mapped_column(Float, default=60.0)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The worker writes this every few seconds; a running run whose heartbeat stops is failed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    phase: Mapped[str] = mapped_column(String(40), default="")
    elapsed: Mapped[float] = mapped_column(Float, default=0.0)
    best_hours: Mapped[float | None] = mapped_column(Float)
    bound: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str] = mapped_column(Text, default="")
    problem_json: Mapped[str | None] = mapped_column(Text)
    solution_json: Mapped[str | None] = mapped_column(Text)
    observation_hours: Mapped[float | None] = mapped_column(Float)
    upper_bound: Mapped[float | None] = mapped_column(Float)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship(back_populates="runs")
    requested_by: Mapped[Person | None] = relationship()

    @property
    def gap(self) -> float | None:
        return gap(self.observation_hours, self.upper_bound)

    def __repr__(self) -> str:
        return f"<RoundRun {self.id} {self.kind} {self.status}>"


class RoundExclusion(db.Model):
    """An apprentice-master pair the admin keeps apart in this round's runs."""

    __tablename__ = "round_exclusions"
    __table_args__ = (UniqueConstraint("round_id", "apprentice_id", "master_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    apprentice_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    master_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    round: Mapped[Round] = relationship(back_populates="exclusions")
    apprentice: Mapped[Person] = relationship(foreign_keys=[apprentice_id])
    master: Mapped[Person] = relationship(foreign_keys=[master_id])


class Response(enum.StrEnum):
    """Each side's answer to a published pairing."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


pairing_skills = Table(
    "pairing_skills",
    db.metadata,
    Column("pairing_id", ForeignKey("pairings.id", ondelete="CASCADE"), primary_key=True),
    Column("micro_skill_id", ForeignKey("micro_skills.id", ondelete="CASCADE"), primary_key=True),
)


class Pairing(db.Model):
    """An apprentice paired with a master for a month, for the micro skills they share."""

    __tablename__ = "pairings"
    __table_args__ = (
        UniqueConstraint("round_id", "apprentice_id", "master_id"),
        CheckConstraint("apprentice_id <> master_id", name="different_people"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("round_runs.id", ondelete="SET NULL"))
    apprentice_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    master_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    apprentice_response: Mapped[Response] = mapped_column(
        value_enum(Response), default=Response.PENDING
    )
    master_response: Mapped[Response] = mapped_column(
        value_enum(Response), default=Response.PENDING
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    round: Mapped[Round] = relationship()
    apprentice: Mapped[Person] = relationship(foreign_keys=[apprentice_id])
    master: Mapped[Person] = relationship(foreign_keys=[master_id])
    micro_skills: Mapped[list[MicroSkill]] = relationship(secondary=pairing_skills)
    observers: Mapped[list[SessionObserver]] = relationship(back_populates="pairing")

    @property
    def status(self) -> Response:
        """Declined if either side declined, accepted once both accepted, else pending."""
        responses = {self.apprentice_response, self.master_response}
        if Response.DECLINED in responses:
            return Response.DECLINED
        if responses == {Response.ACCEPTED}:
            return Response.ACCEPTED
        return Response.PENDING

    def response_of(self, person: Person) -> Response | None:
        if person.id == self.apprentice_id:
            return self.apprentice_response
        if person.id == self.master_id:
            return self.master_response
        return None

    def __repr__(self) -> str:
        return f"<Pairing {self.apprentice_id}->{self.master_id} in round {self.round_id}>"
