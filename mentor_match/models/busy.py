"""The calendars people keep elsewhere: the private address of each one's feed, and the times
it says they are busy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class CalendarFeed(db.Model):
    """A person's calendar feed (one each): where it is, and how its last fetch went."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    # The private address reads the whole calendar, titles and all: it is a secret, sealed
    # under a key derived from SECRET_KEY (mentor_match/sealing.py), never stored as typed.
    sealed_address: Mapped[str] = mapped_column(Text)
    # Only the host, to tell the person which calendar this is without unsealing anything.
    host: Mapped[str] = mapped_column(String(255), default="")
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last fetch that was tried, and whether it worked: an error in words, or "".
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str] = mapped_column(String(500), default="")
    # What the last good fetch found: busy occurrences in the window it covers.
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_count: Mapped[int] = mapped_column(Integer, default=0)
    covers_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BusyInterval(db.Model):
    """A stretch of time a person's own calendar says they are busy, in UTC.

    Only the times are kept, never a title, place or attendee: the site needs to know that
    someone is busy, not why. Overlapping events are merged before they are stored.
    """

    __tablename__ = "busy_intervals"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # Availability for a month reads each person's busy times that overlap it.
        Index("ix_busy_intervals_person_starts", "person_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
