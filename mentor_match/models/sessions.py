"""Shadowing sessions: a master at work, observed in the room or on video."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, Enum, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .people import Person
    from .rounds import Pairing
    from .sites import Site


class SessionMode(enum.StrEnum):
    IN_PERSON = "in_person"
    VIRTUAL = "virtual"

    @property
    def label(self) -> str:
        return "In the room" if self is SessionMode.IN_PERSON else "On video"


class ShadowingSession(db.Model):
    """A stretch of time in which a master works and apprentices watch, up to `seats`."""

    __tablename__ = "shadowing_sessions"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("seats >= 1", name="has_seats"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    master_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    mode: Mapped[SessionMode] = mapped_column(
        Enum(SessionMode, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])
    )
    seats: Mapped[int]
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    master: Mapped[Person] = relationship()
    site: Mapped[Site | None] = relationship()
    observers: Mapped[list[SessionObserver]] = relationship(
        back_populates="session", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600


class SessionObserver(db.Model):
    """An apprentice's seat in a session, through a pairing when a round gave it."""

    __tablename__ = "session_observers"
    __table_args__ = (UniqueConstraint("session_id", "apprentice_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("shadowing_sessions.id", ondelete="CASCADE"), index=True
    )
    apprentice_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    pairing_id: Mapped[int | None] = mapped_column(
        ForeignKey("pairings.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    session: Mapped[ShadowingSession] = relationship(back_populates="observers")
    apprentice: Mapped[Person] = relationship()
    pairing: Mapped[Pairing | None] = relationship(back_populates="observers")
