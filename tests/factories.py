"""Factories that build test data through the models, with sensible defaults."""

import itertools
import json
import random
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

from mentor_match.accounts.passwords import hash_password
from mentor_match.availability.expansion import Month
from mentor_match.booking import offers
from mentor_match.extensions import db
from mentor_match.models import (
    Area,
    Attendance,
    AvailabilityChange,
    ChangeKind,
    MicroSkill,
    MonthPlan,
    Observation,
    Person,
    PersonSkill,
    Round,
    RoundRun,
    RoundStatus,
    RunStatus,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    Site,
    Stage,
    StageSource,
    WeeklyWindow,
    utcnow,
)

DEFAULT_PASSWORD = "watch-the-master-work"
_counter = itertools.count(1)


@cache
def _default_hash() -> str:
    # scrypt is slow on purpose; hash the shared test password once per run.
    return hash_password(DEFAULT_PASSWORD)


def make_site(name: str | None = None, timezone: str = "Europe/London") -> Site:
    site = Site(name=name or f"Site {next(_counter)}", timezone=timezone)
    db.session.add(site)
    db.session.commit()
    return site


def make_person(
    name: str | None = None,
    *,
    email: str | None = None,
    password: str | None = None,
    is_admin: bool = False,
    is_master: bool = False,
    is_apprentice: bool = False,
    site: Site | None = None,
    timezone: str = "Europe/London",
    active: bool = True,
    bio: str = "",
    open_to_bookings: bool = False,
) -> Person:
    n = next(_counter)
    person = Person(
        name=name or f"Person {n}",
        email=email or f"person{n}@example.org",
        password_hash=hash_password(password) if password else _default_hash(),
        is_admin=is_admin,
        is_master=is_master,
        is_apprentice=is_apprentice,
        site=site,
        timezone=timezone,
        active=active,
        bio=bio,
        open_to_bookings=open_to_bookings,
    )
    db.session.add(person)
    db.session.commit()
    return person


def make_master(name: str | None = None, **kwargs) -> Person:
    return make_person(name, is_master=True, **kwargs)


def make_apprentice(name: str | None = None, **kwargs) -> Person:
    return make_person(name, is_apprentice=True, **kwargs)


def make_admin(name: str | None = None, **kwargs) -> Person:
    return make_person(name, is_admin=True, **kwargs)


def make_area(name: str | None = None, skills: tuple[str, ...] = ()) -> Area:
    area = Area(name=name or f"Area {next(_counter)}")
    area.micro_skills = [MicroSkill(name=skill) for skill in skills]
    db.session.add(area)
    db.session.commit()
    return area


def make_micro_skill(name: str | None = None, area: Area | None = None) -> MicroSkill:
    skill = MicroSkill(name=name or f"Skill {next(_counter)}", area=area or make_area())
    db.session.add(skill)
    db.session.commit()
    return skill


def give_skill(
    person: Person,
    micro_skill: MicroSkill,
    stage: Stage | str = Stage.APPRENTICE,
    *,
    hosts: bool = False,
    develops: bool = False,
    source: StageSource | None = None,
) -> PersonSkill:
    """A stage on a profile. A hosted stage is verified (set by an admin) unless `source`
    says otherwise: most tests are about what the organisation's verified masters do."""
    if source is None:
        source = StageSource.ADMIN if hosts else StageSource.SELF_DECLARED
    held = PersonSkill(
        person=person,
        micro_skill=micro_skill,
        stage=Stage(stage),
        hosts=hosts,
        develops=develops,
        stage_source=source,
    )
    db.session.add(held)
    db.session.commit()
    return held


def make_weekly_window(
    person: Person,
    weekday: int = 1,
    start: time = time(9),
    end: time = time(12),
    *,
    in_person: bool = True,
    virtual: bool = True,
) -> WeeklyWindow:
    window = WeeklyWindow(
        person=person,
        weekday=weekday,
        start_time=start,
        end_time=end,
        in_person=in_person,
        virtual=virtual,
    )
    db.session.add(window)
    db.session.commit()
    return window


def make_availability_change(
    person: Person,
    day: date,
    kind: ChangeKind | str = ChangeKind.UNAVAILABLE,
    start: time | None = None,
    end: time | None = None,
    *,
    in_person: bool = True,
    virtual: bool = True,
    note: str = "",
) -> AvailabilityChange:
    change = AvailabilityChange(
        person=person,
        day=day,
        kind=ChangeKind(kind),
        start_time=start,
        end_time=end,
        in_person=in_person,
        virtual=virtual,
        note=note,
    )
    db.session.add(change)
    db.session.commit()
    return change


def make_month_plan(person: Person, month: str = "2026-12", **limits) -> MonthPlan:
    plan = MonthPlan(person=person, month=month, **limits)
    db.session.add(plan)
    db.session.commit()
    return plan


def next_month(today: date | None = None) -> str:
    """The month after today's, as "YYYY-MM": rounds are always for a month still to come."""
    today = today or datetime.now(UTC).date()
    return f"{today.year + 1}-01" if today.month == 12 else f"{today.year}-{today.month + 1:02d}"


def make_round(month: str | None = None, status: RoundStatus = RoundStatus.OPEN) -> Round:
    month = month or next_month()
    year, number = map(int, month.split("-"))
    round_ = Round(
        month=month,
        status=status,
        confirm_by=datetime(year, number, 1, tzinfo=UTC) - timedelta(days=2),
        opened_at=None if status is RoundStatus.DRAFT else utcnow(),
    )
    db.session.add(round_)
    db.session.commit()
    return round_


def make_finished_run(round_: Round) -> RoundRun:
    """A run of the round that succeeded on an empty problem: nothing paired, nothing left out."""
    problem = {
        "format": "mentor-match/round@1",
        "round": round_.month,
        "slot_minutes": 60,
        "min_pairing_hours": 2,
        "masters": [],
        "apprentices": [],
        "exclude": [],
    }
    solution = {
        "format": "mentor-match/solution@1",
        "round": round_.month,
        "observation_hours": 0,
        "upper_bound": 0,
        "pairings": [],
        "unmatched": [],
    }
    run = RoundRun(
        round_id=round_.id,
        status=RunStatus.SUCCEEDED,
        time_limit=5,
        problem_json=json.dumps(problem),
        solution_json=json.dumps(solution),
        observation_hours=0,
        upper_bound=0,
    )
    db.session.add(run)
    db.session.commit()
    return run


def make_confirmed_plan(person: Person, month: str | None = None, **limits) -> MonthPlan:
    """A month plan the person has confirmed for that month's round."""
    return make_month_plan(person, month or next_month(), confirmed_at=utcnow(), **limits)


def make_small_round_organisation(site_name: str = "Round HQ", **plan_limits) -> dict:
    """Two masters of anchoring and three apprentices at one site, all free on Tuesday and
    Thursday mornings, each with a confirmed plan for next month's round (with `plan_limits`,
    by default 6 hosting hours and 2 apprentices a master, 4 observation hours each)."""
    plan_limits = plan_limits or {
        "max_hosting_hours": 6,
        "observation_hours": 4,
        "max_apprentices": 2,
    }
    site = make_site(site_name, "Europe/London")
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    masters = [make_master(f"Master {n}", site=site) for n in (1, 2)]
    apprentices = [make_apprentice(f"Apprentice {n}", site=site) for n in (1, 2, 3)]
    for person in masters + apprentices:
        is_master = person in masters
        give_skill(
            person,
            skill,
            "master" if is_master else "apprentice",
            hosts=is_master,
            develops=not is_master,
        )
        for weekday in (1, 3):
            make_weekly_window(person, weekday=weekday, start=time(9), end=time(12))
        make_confirmed_plan(person, **plan_limits)
    return {"site": site, "skill": skill, "masters": masters, "apprentices": apprentices}


def first_open_slot(master, apprentice, day_offset: int = 0):
    """The master's first bookable hour on the n-th day with open times next month."""
    slots = [
        s for s in offers.open_slots(master, apprentice, Month.parse(next_month())) if s.bookable
    ]
    day = sorted({s.starts_at.date() for s in slots})[day_offset]
    return next(s for s in slots if s.starts_at.date() == day)


def make_big_round_organisation() -> None:
    """20 masters and 80 apprentices in six micro skills, confirmed for next month's round:
    CP-SAT searches it for most of a minute.

    (Measured: with a 60 s limit the solve takes about 50 s and does not prove optimality,
    so a worker is still solving when a test kills it.)
    """
    rng = random.Random(7)
    site = make_site("Big HQ", "Europe/London")
    skills = make_area("Craft", skills=tuple(f"Skill {n}" for n in range(6))).micro_skills
    month = next_month()
    for n in range(100):
        is_master = n < 20
        person = Person(
            name=f"Big {n}",
            email=f"big{n}@example.org",
            password_hash=_default_hash(),
            is_master=is_master,
            is_apprentice=not is_master,
            site=site,
            timezone="Europe/London",
        )
        db.session.add(person)
        for skill in rng.sample(skills, 2):
            db.session.add(
                PersonSkill(
                    person=person,
                    micro_skill=skill,
                    stage=Stage.MASTER if is_master else Stage.APPRENTICE,
                    hosts=is_master,
                    develops=not is_master,
                    # Verified, so the masters host: a self-declared one would be left out.
                    stage_source=StageSource.ADMIN if is_master else StageSource.SELF_DECLARED,
                )
            )
        for weekday in rng.sample(range(5), 2):
            hour = rng.choice([8, 9, 10, 13, 14])
            db.session.add(
                WeeklyWindow(
                    person=person,
                    weekday=weekday,
                    start_time=time(hour),
                    end_time=time(hour + rng.choice([2, 3])),
                    in_person=True,
                    virtual=True,
                )
            )
        db.session.add(
            MonthPlan(
                person=person,
                month=month,
                confirmed_at=utcnow(),
                max_hosting_hours=8,
                max_apprentices=3,
                observation_hours=6,
                max_masters=2,
            )
        )
    db.session.commit()


def make_session(
    master: Person,
    starts_at: datetime,
    hours: float = 2,
    skill=None,
    *,
    note: str = "",
    seats: int = 4,
) -> ShadowingSession:
    """A video session the master hosts, with four seats unless told, saved."""
    session = ShadowingSession(
        master_id=master.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        mode=SessionMode.VIRTUAL,
        seats=seats,
        micro_skill_id=skill.id if skill else None,
        note=note,
    )
    db.session.add(session)
    db.session.commit()
    return session


def make_seat(
    session: ShadowingSession, apprentice: Person, *, minutes: int | None = None, notes: str = ""
) -> SessionObserver:
    """A seat in the session; with `minutes` the master has confirmed attendance; with `notes`
    the apprentice wrote an observation."""
    seat = SessionObserver(
        session_id=session.id,
        apprentice_id=apprentice.id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
    )
    db.session.add(seat)
    db.session.flush()
    if minutes is not None:
        db.session.add(
            Attendance(seat_id=seat.id, minutes=minutes, confirmed_by_id=session.master_id)
        )
    if notes:
        db.session.add(Observation(seat_id=seat.id, notes=notes))
    db.session.commit()
    return seat
