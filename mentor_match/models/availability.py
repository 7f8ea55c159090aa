"""When people can host or observe, entered in their own local time."""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, value_enum

if TYPE_CHECKING:
    from .people import Person


class WeeklyWindow(db.Model):
    """A recurring weekly window in the person's local wall-clock time.

    Stored as local times, not instants, so that "Tuesdays 09:00-12:00" stays at nine
    o'clock on both sides of a daylight-saving change.
    """

    __tablename__ = "weekly_windows"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("end_time > start_time", name="ends_after_start"),
        CheckConstraint("in_person OR virtual", name="has_mode"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]  # 0 = Monday, as in datetime.weekday()
    start_time: Mapped[time]
    end_time: Mapped[time]
    in_person: Mapped[bool] = mapped_column(default=True)
    virtual: Mapped[bool] = mapped_column(default=True)

    person: Mapped[Person] = relationship(back_populates="weekly_windows")


class ChangeKind(enum.StrEnum):
    """What a one-off change does to the weekly pattern on its day."""

    UNAVAILABLE = "unavailable"
    EXTRA = "extra"


class AvailabilityChange(db.Model):
    """A one-off change for a particular local day: time off, or an extra window.

    An unavailable change with no times blocks the whole day (leave, a public holiday).
    """

    __tablename__ = "availability_changes"
    __table_args__ = (
        CheckConstraint(
            "(start_time IS NULL AND end_time IS NULL) OR end_time > start_time",
            name="valid_times",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    day: Mapped[date]
    kind: Mapped[ChangeKind] = mapped_column(value_enum(ChangeKind))
    start_time: Mapped[time | None]
    end_time: Mapped[time | None]
    in_person: Mapped[bool] = mapped_column(default=True)
    virtual: Mapped[bool] = mapped_column(default=True)
    note: Mapped[str] = mapped_column(String(200), default="")

    person: Mapped[Person] = relationship(back_populates="availability_changes")


class MonthPlan(db.Model):
    """What a person offers or wants in one month: hosting limits and seats, or hours to observe."""

    __tablename__ = "month_plans"
    __table_args__ = (
        UniqueConstraint("person_id", "month"),
        CheckConstraint(
            "max_hosting_hours >= 0 AND max_apprentices >= 0 AND in_person_seats >= 0"
            " AND virtual_seats >= 0 AND observation_hours >= 0 AND max_masters >= 0",
            name="non_negative",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    month: Mapped[str] = mapped_column(String(7))  # "YYYY-MM"
    # As a master:
    max_hosting_hours: Mapped[int] = mapped_column(default=8)
    max_apprentices: Mapped[int] = mapped_column(default=3)
    in_person_seats: Mapped[int] = mapped_column(default=1)
    virtual_seats: Mapped[int] = mapped_column(default=4)
    # As an apprentice:
    observation_hours: Mapped[int] = mapped_column(default=6)
    max_masters: Mapped[int] = mapped_column(default=2)
    # Set when the person confirms this plan and their availability for the month's round.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(back_populates="month_plans")
