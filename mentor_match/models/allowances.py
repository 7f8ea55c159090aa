"""Learning time an organisation grants: standing allowances and requests for more.

Hours are whole hours a month, like the month plans they bound. The organisation's default
lives in OrganisationSettings; a manager may set a member's own figure here, and a person who
plans above their figure asks for a month's extra hours with an AllowanceRequest.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow, value_enum

if TYPE_CHECKING:
    from .people import Person

# A month has at most 744 hours; the month plan's own bound.
MOST_HOURS_IN_A_MONTH = 744


class LearningAllowance(db.Model):
    """A member's own monthly allowance, set by their manager or an admin.

    Either figure may be None: that one follows the organisation's default. One row per person,
    so raising or lowering it is an update the change log can show, not a new row to choose from.
    """

    __tablename__ = "learning_allowances"
    __table_args__ = (
        CheckConstraint(
            f"(observing_hours IS NULL OR observing_hours BETWEEN 0 AND {MOST_HOURS_IN_A_MONTH})"
            f" AND (hosting_hours IS NULL OR hosting_hours BETWEEN 0 AND {MOST_HOURS_IN_A_MONTH})",
            name="hours_in_a_month",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    observing_hours: Mapped[int | None]
    hosting_hours: Mapped[int | None]
    # Who last set it (a manager or an admin); kept when they leave, for the record.
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    set_by: Mapped[Person | None] = relationship(foreign_keys=[set_by_id])


class AllowanceKind(enum.StrEnum):
    """Which learning time a request or allowance is about."""

    OBSERVING = "observing"  # as an apprentice, watching masters
    HOSTING = "hosting"  # as a master, being watched

    @property
    def label(self) -> str:
        return {AllowanceKind.OBSERVING: "observing", AllowanceKind.HOSTING: "hosting"}[self]


class RequestState(enum.StrEnum):
    """Where a request for more hours stands."""

    WAITING = "waiting"  # for the manager (or the admins) to decide
    APPROVED = "approved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # by the person, or replaced by a newer request for the month


WAITING_REQUEST = text("state = 'waiting'")


class AllowanceRequest(db.Model):
    """A person's request to plan more hours in one month than their allowance.

    `hours` is the month's whole figure asked for, not the extra, so an approval reads as the
    figure rounds and booking then use. Decided by `approver` (the manager when asked), or by
    any admin when `approver_id` is None: the person had no manager, or the manager left.
    """

    __tablename__ = "allowance_requests"
    __table_args__ = (
        CheckConstraint(
            f"hours > allowance_hours AND hours <= {MOST_HOURS_IN_A_MONTH}",
            name="asks_above_allowance",
        ),
        CheckConstraint("allowance_hours >= 0", name="allowance_non_negative"),
        # One open question per person, month and kind: a second ask replaces the first.
        Index(
            "uq_allowance_requests_one_waiting",
            "person_id",
            "month",
            "kind",
            unique=True,
            sqlite_where=WAITING_REQUEST,
            postgresql_where=WAITING_REQUEST,
        ),
        Index("ix_allowance_requests_approver_state", "approver_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # "YYYY-MM", as MonthPlan.month
    kind: Mapped[AllowanceKind] = mapped_column(value_enum(AllowanceKind))
    hours: Mapped[int]
    # The allowance when asked, so the record shows what was asked above, even if it changes.
    allowance_hours: Mapped[int]
    reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[RequestState] = mapped_column(
        value_enum(RequestState), default=RequestState.WAITING
    )
    approver_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Required when declining: a person told "no" is told why.
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    approver: Mapped[Person | None] = relationship(foreign_keys=[approver_id])
    decided_by: Mapped[Person | None] = relationship(foreign_keys=[decided_by_id])


def hours_outside_a_month(message: str, **figures: int | None) -> dict[str, str]:
    """Each figure (named as its form field) that no month holds, with `message`: the one
    check of an allowance's hours, for the organisation's default and a member's own alike.
    None is never outside: it means the figure is not set."""
    return {
        name: message
        for name, hours in figures.items()
        if hours is not None and not 0 <= hours <= MOST_HOURS_IN_A_MONTH
    }
