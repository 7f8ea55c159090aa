"""The demo's learning time: two managers and their teams, the organisation's allowance, a
member's own, requests waiting and decided, and plans for the two months before this one, so
the team page and the learning-time report show real figures.

Drawn from a generator of its own, after everything else: the rest of the demo comes out as
it did before managers existed.
"""

import random
from datetime import UTC, date, datetime, time, timedelta

from ..extensions import db
from ..models import (
    AllowanceKind,
    AllowanceRequest,
    LearningAllowance,
    OrganisationSettings,
    Person,
    RequestState,
)
from ..organisation.services import organisation_settings
from .availability import month_plan

# The organisation grants everyone this much a month unless their manager says otherwise.
OBSERVING_ALLOWANCE = 6
HOSTING_ALLOWANCE = 8
TEAMS: dict[str, tuple[str, ...]] = {
    "Amara Okafor": (
        "James Whitfield",
        "Tom Gallagher",
        "Daniel Osei",
        "Chloe Patel",
        "Yusuf Rahman",
    ),
    "Rebecca Stein": (
        "Marcus Johnson",
        "Jasmine Lee",
        "Tyler Brooks",
        "Kevin O'Brien",
        "Natalie Cohen",
        "Grace Holloway",
    ),
}
# Tom's manager gives him more time to watch than the organisation's default.
OWN_ALLOWANCES = {"Tom Gallagher": 8}
HISTORY_MONTHS = 2


def _month(today: date, offset: int) -> str:
    index = today.year * 12 + today.month - 1 + offset
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _at(today: date, days_ago: int) -> datetime:
    return datetime.combine(today - timedelta(days=days_ago), time(10), UTC)


def grant_learning_time(people: dict[str, Person], today: date, rng_seed: int) -> None:
    """Managers, allowances, requests and past plans; flushed, not committed."""
    rng = random.Random(rng_seed + 27)
    settings = db.session.get(OrganisationSettings, 1)
    if settings is None:
        settings = organisation_settings()
        db.session.add(settings)
    settings.observing_allowance_hours = OBSERVING_ALLOWANCE
    settings.hosting_allowance_hours = HOSTING_ALLOWANCE
    db.session.flush()

    for manager_name, team in TEAMS.items():
        for name in team:
            people[name].manager = people[manager_name]
    amara, rebecca = people["Amara Okafor"], people["Rebecca Stein"]
    for name, hours in OWN_ALLOWANCES.items():
        db.session.add(
            LearningAllowance(
                person=people[name],
                observing_hours=hours,
                set_by=people[name].manager,
                set_at=_at(today, 70),
            )
        )

    # The two months before this one: everyone planned, as they do each month. Left
    # unconfirmed: "confirmed" answers the open round's call, and the demo's open round
    # shows who has not answered it yet.
    for offset in range(-HISTORY_MONTHS, 0):
        month = _month(today, offset)
        for person in people.values():
            if person.is_master or person.is_apprentice:
                person.month_plans.append(month_plan(person, month, rng))
    # Two of them planned above their allowance: Tom asked and was granted it, Tyler was not.
    last, before = _month(today, -1), _month(today, -2)
    _plan(people["Tom Gallagher"], last).observation_hours = 12
    _plan(people["Tyler Brooks"], before).observation_hours = 10

    next_month = _month(today, 1)
    requests = (
        # Decided, in the history.
        (
            people["Tom Gallagher"],
            last,
            AllowanceKind.OBSERVING,
            12,
            8,
            RequestState.APPROVED,
            amara,
            "Anchoring sessions with Amara before the Q4 renewals.",
            "",
        ),
        (
            people["Tyler Brooks"],
            before,
            AllowanceKind.OBSERVING,
            10,
            6,
            RequestState.DECLINED,
            rebecca,
            "I'd like to watch two more discovery calls.",
            "Quarter-end: your pipeline needs you this month. Ask again next month.",
        ),
        # Waiting for their managers, and one for the admins (Inês has no manager).
        (
            people["Daniel Osei"],
            next_month,
            AllowanceKind.OBSERVING,
            10,
            6,
            RequestState.WAITING,
            amara,
            "Marcus runs three renewals next month; I'd like to watch all of them.",
            "",
        ),
        (
            people["Jasmine Lee"],
            next_month,
            AllowanceKind.OBSERVING,
            9,
            6,
            RequestState.WAITING,
            rebecca,
            "Saying no is the skill I need most, and Rebecca hosts it rarely.",
            "",
        ),
        (
            people["James Whitfield"],
            next_month,
            AllowanceKind.HOSTING,
            12,
            8,
            RequestState.WAITING,
            amara,
            "Three graduates asked to watch my renewals.",
            "",
        ),
        (
            people["Inês Carvalho"],
            next_month,
            AllowanceKind.OBSERVING,
            10,
            6,
            RequestState.WAITING,
            None,
            "A workshop on stakeholder mapping needs prep time.",
            "",
        ),
    )
    for person, month, kind, hours, allowance, state, approver, reason, answer in requests:
        decided = state is not RequestState.WAITING
        db.session.add(
            AllowanceRequest(
                person=person,
                month=month,
                kind=kind,
                hours=hours,
                allowance_hours=allowance,
                reason=reason,
                state=state,
                approver=approver,
                created_at=_at(today, 50 if decided else 2),
                decided_by=approver if decided else None,
                decided_at=_at(today, 48) if decided else None,
                decision_reason=answer,
            )
        )
    db.session.flush()


def _plan(person: Person, month: str):
    return next(plan for plan in person.month_plans if plan.month == month)
