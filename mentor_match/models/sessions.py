"""Shadowing sessions: a master at work, observed in the room or on video."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow, value_enum

if TYPE_CHECKING:
    from .people import Person
    from .rounds import Pairing
    from .sites import Site
    from .skills import MicroSkill
    from .tracking import Attendance, Observation


def new_video_room() -> str:
    """An unguessable room name, so only the people in a session find its video call."""
    return f"mentor-match-{secrets.token_urlsafe(12)}"


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
    mode: Mapped[SessionMode] = mapped_column(value_enum(SessionMode))
    seats: Mapped[int]
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id", ondelete="SET NULL"))
    round_id: Mapped[int | None] = mapped_column(
        ForeignKey("rounds.id", ondelete="CASCADE"), index=True
    )
    # What the master will be doing, for sessions a master opens or an apprentice books.
    micro_skill_id: Mapped[int | None] = mapped_column(
        ForeignKey("micro_skills.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(Text, default="")
    # True for a session the master opened for observers to join; such a session stays
    # when its observers cancel, where a booked one ends with its last observer.
    opened_by_master: Mapped[bool] = mapped_column(default=False)
    video_room: Mapped[str] = mapped_column(String(80), default=new_video_room)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Claimed by the reminder command before it mails, so no session is reminded twice.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped each time the master moves the session, so calendars that already hold the
    # event (same UID) take the new time as the newer version (RFC 5545 SEQUENCE).
    revision: Mapped[int] = mapped_column(default=0, server_default="0")

    master: Mapped[Person] = relationship()
    site: Mapped[Site | None] = relationship()
    micro_skill: Mapped[MicroSkill | None] = relationship()
    # In the order the seats were taken: with no order PostgreSQL may return them in any, and
    # the feed, pages and mail would list the same people differently from one load to the next.
    observers: Mapped[list[SessionObserver]] = relationship(
        back_populates="session",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="SessionObserver.id",
    )

    @property
    def hours(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 3600

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    @property
    def observers_live(self) -> list[SessionObserver]:
        """Seats not cancelled."""
        return [seat for seat in self.observers if seat.cancelled_at is None]


class BookingSettings(db.Model):
    """Organisation-wide booking rules an admin sets: one row."""

    __tablename__ = "booking_settings"
    __table_args__ = (CheckConstraint("notice_hours >= 0", name="non_negative_notice"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Cancelling or moving a session needs at least this much notice before it starts.
    notice_hours: Mapped[int] = mapped_column(default=24)


class SessionObserver(db.Model):
    """An apprentice's seat in a session, through a pairing when a round gave it.

    The session's times are copied here so the database can refuse overlapping seats: on
    PostgreSQL an exclusion constraint (`no_overlapping_seats`, made by the migration with
    btree_gist) stops one apprentice holding two live seats at overlapping times.
    """

    __tablename__ = "session_observers"
    __table_args__ = (
        UniqueConstraint("session_id", "apprentice_id"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        Index("ix_session_observers_apprentice_time", "apprentice_id", "starts_at"),
    )

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
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    session: Mapped[ShadowingSession] = relationship(back_populates="observers")
    apprentice: Mapped[Person] = relationship()
    pairing: Mapped[Pairing | None] = relationship(back_populates="observers")
    attendance: Mapped[Attendance | None] = relationship(
        back_populates="seat", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )
    observation: Mapped[Observation | None] = relationship(
        back_populates="seat", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )
