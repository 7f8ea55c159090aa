"""Creating a round, opening it to ask people to confirm, and their confirmations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.exc import IntegrityError

from ..availability.expansion import Month, MonthError
from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..models import MonthPlan, Person, Round, RoundStatus, utcnow
from ..zones import zone_or_utc
from .notices import notify_many


def all_rounds() -> list[Round]:
    return list(db.session.scalars(select(Round).order_by(Round.month.desc())))


def round_for(month: str) -> Round | None:
    return db.session.scalar(select(Round).where(Round.month == month))


def create_round(month_text: str, confirm_by: date, today: date | None = None) -> Round:
    """A draft round for a month that has not started, with a confirmation deadline before it."""
    try:
        month = Month.parse(month_text)
    except MonthError as error:
        raise _about_month(str(error)) from None
    today = today or datetime.now(UTC).date()
    if month.first_day <= today:
        raise _about_month(f"{month.label} has already started; create a round for a later month.")
    if not today <= confirm_by < month.first_day:
        raise _about_month(
            f"Choose a confirmation deadline from today up to the day before {month.label} starts."
        )
    round_ = Round(month=str(month), confirm_by=datetime.combine(confirm_by, time(23, 59), UTC))
    db.session.add(round_)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _about_month(f"There is already a round for {month.label}.") from None
    return round_


def _about_month(message: str) -> Refusal:
    """A refusal of a new round, shown under the month field of the form that creates it."""
    return Refusal(problems={"month": message})


def open_round(round_: Round) -> int:
    """Open the round and ask every master and apprentice to confirm; returns how many asked."""
    opened = db.session.execute(
        update(Round)
        .where(Round.id == round_.id, Round.status == RoundStatus.DRAFT)
        .values(status=RoundStatus.OPEN, opened_at=utcnow())
    ).rowcount
    if not opened:
        db.session.rollback()
        raise Refusal("This round is already open.")
    month = Month.parse(round_.month)
    link = absolute_url("availability.plan", month=round_.month)
    people = db.session.execute(
        select(Person.id, Person.name, Person.timezone).where(
            Person.active, Person.is_master | Person.is_apprentice
        )
    ).all()
    notices = []
    for person_id, name, zone in people:
        deadline = round_.confirm_by.astimezone(zone_or_utc(zone)).strftime("%d %b %Y %H:%M")
        text = (
            f"The {month.label} matching round is open: confirm your availability, hours and "
            f"seats by {deadline} to be included."
        )
        body = (
            f"Hello {name},\n\n{text}\n\nPeople who have not confirmed by then are left out of "
            f"this month's pairings.\n\nConfirm here: {link}\n"
        )
        notices.append(
            {
                "person_id": person_id,
                "text": text,
                "link": link,
                "mail_subject": f"Confirm your availability for {month.label}",
                "mail_body": body,
            }
        )
    notify_many(notices)
    db.session.commit()
    return len(notices)


@dataclass(frozen=True)
class Confirmations:
    confirmed: list[tuple[int, str, datetime]]
    waiting: list[tuple[int, str]]


def confirmed_in(month: str) -> ColumnElement[bool]:
    """Who is in the month's round: active masters and apprentices who confirmed their plan
    for it (a WHERE clause on people joined to month_plans)."""
    return and_(
        MonthPlan.month == month,
        MonthPlan.confirmed_at.is_not(None),
        Person.active,
        Person.is_master | Person.is_apprentice,
    )


def confirmations(round_: Round) -> Confirmations:
    """Who has confirmed their plan for the round's month, and who is still to."""
    confirmed = db.session.execute(
        select(Person.id, Person.name, MonthPlan.confirmed_at)
        .join(MonthPlan, MonthPlan.person_id == Person.id)
        .where(confirmed_in(round_.month))
        .order_by(Person.name)
    ).all()
    done = {row[0] for row in confirmed}
    everyone = db.session.execute(
        select(Person.id, Person.name)
        .where(Person.active, Person.is_master | Person.is_apprentice)
        .order_by(Person.name)
    ).all()
    return Confirmations(
        [tuple(row) for row in confirmed], [tuple(row) for row in everyone if row[0] not in done]
    )


def confirm_month(person: Person, month: str) -> MonthPlan:
    """Confirm the person's plan and availability for the round of that month."""
    round_ = round_for(month)
    if round_ is None or round_.status is RoundStatus.DRAFT:
        raise Refusal(f"The round for {Month.parse(month).label} is not open yet.")
    if round_.status is RoundStatus.PUBLISHED:
        raise Refusal(
            f"The {Month.parse(month).label} round has been published; confirmations are closed."
        )
    if utcnow() > round_.confirm_by:
        raise Refusal("The deadline to confirm for this round has passed; ask an admin.")
    plan = db.session.scalar(
        select(MonthPlan).where(MonthPlan.person_id == person.id, MonthPlan.month == month)
    )
    if plan is None:
        # The round uses the hours and seats the person chose: confirming numbers they never
        # saw (defaults, or an earlier month's) would commit them to those (issue 24).
        raise Refusal(
            f"Save your numbers for {Month.parse(month).label} on your month plan first; "
            "then confirm."
        )
    plan.confirmed_at = utcnow()
    db.session.commit()
    return plan
