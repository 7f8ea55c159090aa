"""The round that calls on a person: an open round asking a master or apprentice to confirm.

One place for the rule, used by the month's plan page (`round_call_for`) and by the
dashboard, which reads the same round call in its one statement (`round_call_query`) and
makes it a `RoundCall` with `round_call_from`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import Select, and_, bindparam, select

from ..extensions import db
from ..models import MonthPlan, Person, Round, RoundStatus, utcnow


@dataclass(frozen=True)
class RoundCall:
    """An open round asking this person to confirm, and whether they have."""

    month: str
    confirm_by: datetime
    confirmed_at: datetime | None

    @property
    def deadline_passed(self) -> bool:
        return utcnow() > self.confirm_by


@cache
def round_call_query(*, of_month: bool) -> Select:
    """The first open round (of :month) with :person_id's confirmation, built once per shape.

    The dashboard asks this on every visit, and building the statement costs more than
    running it. The person's plan for the round's month (one a month) comes in the same row.
    """
    query = (
        select(Round, MonthPlan.confirmed_at)
        .outerjoin(
            MonthPlan,
            and_(MonthPlan.person_id == bindparam("person_id"), MonthPlan.month == Round.month),
        )
        .where(Round.status == RoundStatus.OPEN)
    )
    if of_month:
        query = query.where(Round.month == bindparam("month"))
    return query.order_by(Round.month).limit(1)


def round_call_from(
    person: Person, month: str | None, confirm_by: datetime | None, confirmed_at: datetime | None
) -> RoundCall | None:
    """The call of the open round found (`month` None when there is none), if it calls on them."""
    if month is None or confirm_by is None or not _called_on(person):
        return None
    return RoundCall(month, confirm_by, confirmed_at)


def round_call_for(person: Person, month: str | None = None) -> RoundCall | None:
    """The open round (of that month, or the next one open) calling on this person, if any."""
    if not _called_on(person):
        return None  # without asking the database
    params = {"person_id": person.id} if month is None else {"person_id": person.id, "month": month}
    row = db.session.execute(round_call_query(of_month=month is not None), params).first()
    if row is None:
        return None
    return round_call_from(person, row.Round.month, row.Round.confirm_by, row.confirmed_at)


def _called_on(person: Person) -> bool:
    """An open round calls on masters and apprentices only."""
    return person.is_master or person.is_apprentice
