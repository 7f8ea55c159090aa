"""How many hours of learning time a person is granted in a month: one answer for everyone.

The month plan says what a person wants; this says what the organisation grants. Rounds,
booking, the plan page, the team page and the organisation's report all read the figure here,
so they cannot disagree. In order:

1. the hours of an approved request for that month and kind (the highest, if several);
2. else the person's own allowance, set by their manager or an admin;
3. else the organisation's default;
4. else None: the organisation has set no allowance, and plans need no one's approval.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select

from ..availability.expansion import Month
from ..extensions import db
from ..models import (
    AllowanceKind,
    AllowanceRequest,
    LearningAllowance,
    Person,
    RequestState,
)
from ..organisation.services import organisation_settings


class Source(enum.StrEnum):
    """Where a month's granted figure comes from, in words a person reads."""

    APPROVED = "approved request"
    OWN = "set by your manager"
    ORGANISATION = "the organisation's allowance"
    NONE = "no allowance set"


@dataclass(frozen=True)
class Granted:
    """A person's learning time of one kind for one month."""

    month: Month
    kind: AllowanceKind
    # What they may plan without asking: their own allowance, else the organisation's; None
    # when neither is set.
    allowance: int | None
    # What rounds and booking use: the allowance, raised by an approved request for the month.
    hours: int | None
    source: Source

    @property
    def limited(self) -> bool:
        return self.hours is not None

    def within(self, planned: float) -> bool:
        """Whether `planned` hours need no one's approval."""
        return self.hours is None or planned <= self.hours

    def cap(self, planned: int) -> int:
        """The plan's figure as rounds and booking may use it."""
        return planned if self.hours is None else min(planned, self.hours)


def _standing_column(kind: AllowanceKind):
    return (
        LearningAllowance.observing_hours
        if kind is AllowanceKind.OBSERVING
        else LearningAllowance.hosting_hours
    )


def organisation_allowance(kind: AllowanceKind) -> int | None:
    settings = organisation_settings()
    return (
        settings.observing_allowance_hours
        if kind is AllowanceKind.OBSERVING
        else settings.hosting_allowance_hours
    )


def granted_for(person_ids: Iterable[int], month: Month, kind: AllowanceKind) -> dict[int, Granted]:
    """Each person's granted figure for the month, in three queries whatever their number."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    default = organisation_allowance(kind)
    own = dict(
        db.session.execute(
            select(LearningAllowance.person_id, _standing_column(kind)).where(
                LearningAllowance.person_id.in_(ids), _standing_column(kind).is_not(None)
            )
        ).all()
    )
    approved = dict(
        db.session.execute(
            select(AllowanceRequest.person_id, func.max(AllowanceRequest.hours))
            .where(
                AllowanceRequest.person_id.in_(ids),
                AllowanceRequest.month == str(month),
                AllowanceRequest.kind == kind,
                AllowanceRequest.state == RequestState.APPROVED,
            )
            .group_by(AllowanceRequest.person_id)
        ).all()
    )
    figures: dict[int, Granted] = {}
    for person_id in ids:
        allowance = own.get(person_id, default)
        source = (
            Source.OWN
            if person_id in own
            else (Source.ORGANISATION if default is not None else Source.NONE)
        )
        hours = allowance
        extra = approved.get(person_id)
        # An approval stands above an allowance lowered since; with no allowance at all there
        # is nothing to raise, and the approval is kept only as history.
        if extra is not None and allowance is not None and extra > allowance:
            hours, source = extra, Source.APPROVED
        figures[person_id] = Granted(month, kind, allowance, hours, source)
    return figures


def granted(person: Person, month: Month, kind: AllowanceKind) -> Granted:
    """One person's granted figure for the month."""
    return granted_for([person.id], month, kind)[person.id]


_GRANTED_BY = {
    Source.APPROVED: "approved on request",
    Source.OWN: "granted by {whose} manager",
    Source.ORGANISATION: "granted by the organisation",
    Source.NONE: "",
}


def granted_by(figure: Granted, *, whose: str = "your") -> str:
    """Who granted the figure, as a booking refusal or the plan page says it: "granted by your
    manager"; empty when no allowance is set."""
    return _GRANTED_BY[figure.source].format(whose=whose)


def in_words(figure: Granted) -> str:
    """The figure as the month plan page says it: "6 h observing, granted by your manager"."""
    if figure.hours is None:
        return f"no {figure.kind.label} allowance set: plan what you need"
    return f"{figure.hours} h {figure.kind.label}, {granted_by(figure)}"
