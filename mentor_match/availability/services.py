"""What availability gives the rest of the app: a person's today and the month they plan,
availability by person for a month (for matching and booking), and month plans."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..busy.services import busy_by_person
from ..errors import Refusal
from ..extensions import db
from ..models import AvailabilityChange, MonthPlan, Person, WeeklyWindow
from .expansion import Interval, Month, cut_out, expand_availability

__all__ = [
    "APPRENTICE_FIELDS",
    "MASTER_FIELDS",
    "PLAN_LIMITS",
    "Interval",
    "PlanDraft",
    "availability_by_person",
    "default_month",
    "local_today",
    "month_plan_for",
    "numbers_to_ask",
    "plan_fields_for",
    "save_month_plan",
]

log = logging.getLogger(__name__)


def local_today(person: Person) -> date:
    """Today's date where the person is."""
    return datetime.now(UTC).astimezone(person.zone).date()


def default_month(person: Person, today: date | None = None) -> Month:
    """The month people plan by default: the one after the current month in their zone."""
    return Month.containing(today or local_today(person)).next


# Expansion for many people at once ------------------------------------------------------


def availability_by_person(
    month: str | Month, person_ids: Iterable[int] | None = None
) -> dict[int, list[Interval]]:
    """UTC availability in a month by person id, for everyone active or the ids given, with
    the times each one's own calendar says they are busy taken out.

    Rounds (the encoder) and booking (open slots, the master-free check) both read it here, so
    a busy time never reaches the optimizer nor /book.
    """
    # Four queries whatever the number of people (12,000 take about 1.5 s), so a matching
    # round can build its input from this without a query per person.
    month = month if isinstance(month, Month) else Month.parse(month)
    people_query = select(Person.id, Person.timezone).where(Person.active)
    window_query = select(
        WeeklyWindow.person_id,
        WeeklyWindow.weekday,
        WeeklyWindow.start_time,
        WeeklyWindow.end_time,
        WeeklyWindow.in_person,
        WeeklyWindow.virtual,
    )
    # `day` is the person's local day, so the month's own days pick exactly the changes that
    # apply, whatever the zone.
    change_query = select(
        AvailabilityChange.person_id,
        AvailabilityChange.day,
        AvailabilityChange.kind,
        AvailabilityChange.start_time,
        AvailabilityChange.end_time,
        AvailabilityChange.in_person,
        AvailabilityChange.virtual,
    ).where(AvailabilityChange.day.between(month.first_day, month.days[-1]))
    if person_ids is None:
        active = select(Person.id).where(Person.active)
        window_query = window_query.where(WeeklyWindow.person_id.in_(active))
        change_query = change_query.where(AvailabilityChange.person_id.in_(active))
    else:
        ids = list(person_ids)
        people_query = select(Person.id, Person.timezone).where(Person.id.in_(ids))
        window_query = window_query.where(WeeklyWindow.person_id.in_(ids))
        change_query = change_query.where(AvailabilityChange.person_id.in_(ids))

    windows = defaultdict(list)
    for row in db.session.execute(window_query):
        windows[row.person_id].append(row)
    changes = defaultdict(list)
    for row in db.session.execute(change_query):
        changes[row.person_id].append(row)
    # Every zone's month lies within a day either side of the month's UTC days.
    span_start = datetime.combine(month.first_day, time(0), UTC) - timedelta(days=1)
    span_end = datetime.combine(month.days[-1], time(0), UTC) + timedelta(days=2)
    busy = busy_by_person(None if person_ids is None else ids, span_start, span_end)
    return {
        person_id: cut_out(
            expand_availability(zone_name, windows[person_id], changes[person_id], month),
            busy.get(person_id, ()),
        )
        for person_id, zone_name in db.session.execute(people_query)
    }


# Month plans ----------------------------------------------------------------------------

# (lowest, highest) for each number in a month plan; the form shows these as its ranges.
PLAN_LIMITS: dict[str, tuple[int, int]] = {
    "max_hosting_hours": (0, 160),
    "max_apprentices": (0, 50),
    "in_person_seats": (0, 50),
    "virtual_seats": (0, 50),
    "observation_hours": (0, 160),
    "max_masters": (0, 20),
}
MASTER_FIELDS = ("max_hosting_hours", "max_apprentices", "in_person_seats", "virtual_seats")
APPRENTICE_FIELDS = ("observation_hours", "max_masters")


def plan_fields_for(person: Person) -> tuple[str, ...]:
    """The month-plan numbers that concern this person's roles."""
    return (MASTER_FIELDS if person.is_master else ()) + (
        APPRENTICE_FIELDS if person.is_apprentice else ()
    )


@dataclass
class PlanDraft:
    """A month plan's numbers to start the form from, and where they came from."""

    month: Month
    values: dict[str, int]
    source: str  # "saved", "copied" or "defaults"
    copied_from: str | None = None  # "YYYY-MM"

    @property
    def copied_from_label(self) -> str | None:
        """The month the suggestion comes from, in words (January 2027), as pages name months."""
        return None if self.copied_from is None else Month.parse(self.copied_from).label


def _model_defaults() -> dict[str, int]:
    return {name: MonthPlan.__table__.c[name].default.arg for name in PLAN_LIMITS}


def _defaults_for(person: Person) -> dict[str, int]:
    values = _model_defaults()
    if person.is_remote:
        values["in_person_seats"] = 0  # remote people host on video only
    return values


def month_plan_for(person: Person, month: Month) -> PlanDraft:
    """That month's saved plan, else the latest earlier one, else the defaults; saves nothing."""
    # Months are "YYYY-MM", so the latest plan up to this month is that month's, if saved.
    latest = db.session.scalar(
        select(MonthPlan)
        .where(MonthPlan.person_id == person.id, MonthPlan.month <= str(month))
        .order_by(MonthPlan.month.desc())
        .limit(1)
    )
    if latest is not None and latest.month == str(month):
        return PlanDraft(month, {name: getattr(latest, name) for name in PLAN_LIMITS}, "saved")
    earlier = latest
    if earlier is not None:
        values = {name: getattr(earlier, name) for name in PLAN_LIMITS}
        if person.is_remote:
            values["in_person_seats"] = 0  # they may have moved from a site since
        return PlanDraft(month, values, "copied", earlier.month)
    return PlanDraft(month, _defaults_for(person), "defaults")


def numbers_to_ask(person: Person, draft: PlanDraft) -> dict[str, int]:
    """The numbers the plan form starts from: those saved for the month, else none to confirm
    unchosen; only a remote person's seats in the room, which can only be 0, are filled."""
    if draft.source == "saved":
        return draft.values
    return {"in_person_seats": 0} if person.is_remote else {}


def save_month_plan(person: Person, month: Month, limits: dict[str, int]) -> MonthPlan:
    """Save the person's plan for a month, all or nothing."""
    # Only the numbers for the person's roles come from `limits`; the others keep their
    # saved (or copied, or default) values, so a form showing half the fields loses nothing.
    problems: dict[str, str] = {}
    if month < Month.containing(local_today(person)):
        problems["month"] = f"{month.label} has passed; plan this month or a later one."
    relevant = plan_fields_for(person)
    for name in relevant:
        value = limits.get(name)
        low, high = PLAN_LIMITS[name]
        if value is None or not low <= value <= high:
            problems[name] = f"Enter a whole number from {low} to {high}."
    if person.is_remote and "in_person_seats" in relevant and limits.get("in_person_seats"):
        problems["in_person_seats"] = (
            "You work remotely (no site), so you have no seats in the room; set this to 0."
        )
    if problems:
        raise Refusal(problems=problems)

    values = month_plan_for(person, month).values | {name: limits[name] for name in relevant}
    try:
        return _write_plan(person, month, values)
    except IntegrityError:
        # Two saves of a new month at once (a double click): the other insert won the
        # unique (person, month) row, so write over the row it made.
        db.session.rollback()
        log.info("month plan for person %s, %s saved twice at once", person.id, month)
        return _write_plan(person, month, values)


def _write_plan(person: Person, month: Month, values: dict[str, int]) -> MonthPlan:
    plan = db.session.scalar(
        select(MonthPlan).where(MonthPlan.person_id == person.id, MonthPlan.month == str(month))
    )
    if plan is None:
        plan = MonthPlan(person=person, month=str(month))
        db.session.add(plan)
    for name, value in values.items():
        setattr(plan, name, value)
    db.session.commit()
    return plan
