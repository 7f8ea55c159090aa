"""Seeding the demo organisation: five offices, remote workers, masters, apprentices, next
month's plans and round, and three months of history, in one transaction.

Who the people are is in ``demo.roster``; their skills in ``demo.people``; their windows,
plans and changes in ``demo.availability``; the open round and bookable sessions in
``demo.sessions``; past sessions, and the hours and practice still waiting for their
masters, in ``demo.history``; where each stage comes from
(verified for nearly everyone, a few masters waiting for verification) in
``demo.verification``.
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select

from ..accounts.passwords import hash_password
from ..extensions import db
from ..models import Person, Site, slugify
from .availability import month_plan, next_month_start, one_off_changes, weekly_windows
from .history import past_months, waiting_for_the_masters
from .learning_time import grant_learning_time
from .people import (
    ScarceSkill,
    build_person,
    demo_areas,
    ensure_most_wanted_are_hosted,
    give_skills,
    scarcity,
)
from .roster import DEMO_PASSWORD, FEATURED, MOST_WANTED, ROSTER, SITES
from .sessions import open_round, open_to_bookings
from .taxonomy import seed_default_taxonomy
from .verification import WaitingStage, give_stage_sources

DEMO_RNG_SEED = 2026


class DemoAlreadySeeded(Exception):
    """The database already has people in it, and the caller did not ask to reset it."""


@dataclass(frozen=True)
class DemoLogin:
    """A demo person worth signing in as, and why."""

    role: str
    name: str
    email: str
    where: str


@dataclass(frozen=True)
class DemoSummary:
    """What seeding the demo organisation created, for the command to report."""

    month: str  # "YYYY-MM" of the month plans and one-off changes
    password: str
    sites: int
    people: int
    masters: int
    apprentices: int
    both: int
    remote: int
    taxonomy_created: int
    weekly_windows: int
    availability_changes: int
    month_plans: int
    logins: list[DemoLogin]
    scarce_skills: list[ScarceSkill]
    waiting_for_verification: list[WaitingStage]


def organisation_exists() -> bool:
    """Whether anyone has an account yet, in which case the demo must not be seeded over it."""
    return (db.session.scalar(select(func.count()).select_from(Person)) or 0) > 0


def wipe_all_rows() -> None:
    """Delete every row of every table (the schema and its Alembic version stay); no commit."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())


def seed_demo_organisation(
    *,
    rng_seed: int = DEMO_RNG_SEED,
    today: date | None = None,
    password: str = DEMO_PASSWORD,
    reset: bool = False,
) -> DemoSummary:
    """Create the demo organisation in one transaction and commit it.

    The same seed always gives the same organisation; month plans and one-off changes
    fall in the month after `today` (by default today in UTC). Raises DemoAlreadySeeded if
    people exist and `reset` is false; with `reset`, every row of every table is deleted
    first.
    """
    if reset:
        wipe_all_rows()
    elif organisation_exists():
        raise DemoAlreadySeeded("The database already has people in it.")

    rng = random.Random(rng_seed)
    today = today or datetime.now(UTC).date()
    month_start = next_month_start(today)
    month = month_start.strftime("%Y-%m")
    taxonomy_created = seed_default_taxonomy()
    areas = demo_areas()
    most_wanted = tuple(
        next(skill for skill in areas[area].micro_skills if slugify(skill.name) == slugify(name))
        for area, name in MOST_WANTED
    )
    existing_sites = {site.name: site for site in db.session.scalars(select(Site))}
    sites = {
        name: existing_sites.get(name) or Site(name=name, timezone=zone) for name, zone in SITES
    }
    db.session.add_all(sites.values())

    # scrypt is slow on purpose: hash the shared demo password once, not once per person.
    password_hash = hash_password(password)
    people: dict[str, Person] = {}
    for spec in ROSTER:
        person = build_person(spec, sites, areas, password_hash)
        db.session.add(person)
        give_skills(person, spec, areas, most_wanted, rng)
        person.weekly_windows = weekly_windows(person, rng)
        person.month_plans = [month_plan(person, month, rng)]
        people[spec.name] = person
    ensure_most_wanted_are_hosted(people, most_wanted)
    changes = one_off_changes(people, month_start)
    db.session.add_all(changes)
    open_round(people, month, month_start, today)
    open_to_bookings(people, month_start, rng)
    past_months(people, today, rng)
    waiting_for_the_masters(people, today)
    admin = next(person for person in people.values() if person.is_admin)
    waiting = give_stage_sources(people, admin, today, most_wanted)
    grant_learning_time(people, today, rng_seed)

    everyone = list(people.values())
    summary = DemoSummary(
        month=month,
        password=password,
        sites=len(sites),
        people=len(everyone),
        masters=sum(p.is_master for p in everyone),
        apprentices=sum(p.is_apprentice for p in everyone),
        both=sum(p.is_master and p.is_apprentice for p in everyone),
        remote=sum(p.site is None for p in everyone),
        taxonomy_created=taxonomy_created,
        weekly_windows=sum(len(p.weekly_windows) for p in everyone),
        availability_changes=len(changes),
        month_plans=sum(plan.month == month for p in everyone for plan in p.month_plans),
        logins=[_login(role, people[name]) for role, name in FEATURED],
        scarce_skills=[scarcity(skill, everyone) for skill in most_wanted],
        waiting_for_verification=waiting,
    )
    db.session.commit()
    return summary


def _login(role: str, person: Person) -> DemoLogin:
    where = person.site.name if person.site else f"remote, {person.timezone}"
    return DemoLogin(role, person.name, person.email, where)
