"""Next month in the demo: the round open for confirmation, and masters open to bookings with
one session already open for observers to join."""

import random
from datetime import UTC, date, datetime, time, timedelta

from ..availability.expansion import Month
from ..extensions import db
from ..models import Notification, Person, Round, RoundStatus, SessionMode, ShadowingSession
from .availability import first_weekday_on_or_after
from .roster import FEATURED, NOT_CONFIRMING


def open_round(people: dict[str, Person], month: str, month_start: date, today: date) -> None:
    """Next month's round, open, with everyone confirmed but the featured log-ins and
    NOT_CONFIRMING.

    The featured log-ins have not confirmed yet, so a demo visitor can confirm as them,
    and a few others never do, so the round page shows who would be left out.
    """
    deadline = min(today + timedelta(days=5), month_start - timedelta(days=1))
    now = datetime.now(UTC)
    db.session.add(
        Round(
            month=month,
            status=RoundStatus.OPEN,
            opened_at=now,
            confirm_by=datetime.combine(deadline, time(23, 59), UTC),
        )
    )
    waiting = {name for _, name in FEATURED} | set(NOT_CONFIRMING)
    for name, person in people.items():
        if name not in waiting:
            person.month_plans[0].confirmed_at = now
        if person.is_master or person.is_apprentice:
            db.session.add(
                Notification(
                    person=person,
                    link=f"/availability/plan?month={month}",
                    text=f"The {Month.parse(month).label} matching round is open: confirm your "
                    f"availability, hours and seats by {deadline:%d %b %Y} to be included.",
                )
            )


def open_to_bookings(people: dict[str, Person], month_start: date, rng: random.Random) -> None:
    """About half the masters take bookings from anyone who can learn from them, and the
    featured master has opened an evening session for observers to join."""
    for person in people.values():
        if person.is_master and rng.random() < 0.5:
            person.open_to_bookings = True
    amara = people["Amara Okafor"]
    amara.open_to_bookings = True
    hosted = next(ps for ps in amara.skills if ps.hosts)
    day = first_weekday_on_or_after(month_start + timedelta(days=7), 2)  # a Wednesday
    starts_at = datetime.combine(day, time(17), amara.zone).astimezone(UTC)
    db.session.add(
        ShadowingSession(
            master=amara,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            mode=SessionMode.VIRTUAL,
            seats=6,
            micro_skill=hosted.micro_skill,
            opened_by_master=True,
            note="A live supplier negotiation: join muted, questions afterwards.",
        )
    )
