"""Benchmark a monthly round's snapshot and publication on PostgreSQL, at full size.

    .venv/bin/python -m benchmarks.rounds [--apprentices 10000 --masters 2000]
        [--database-url URL] [--time-limit SECONDS] [--seed N]

An organisation is seeded in bulk (SQLAlchemy core inserts) into a scratch database whose
schema comes from the Alembic migrations: five offices in five time zones (one of them
Asia/Kolkata, UTC+05:30), about 10% remote people with no site in zones of their own, the
default taxonomy's micro skills with a few scarce ones (wanted by many, hosted by few),
two to four weekly windows each, some leave and extra windows, some people both master and
apprentice, and a confirmed month plan for the round's month. Then, for an open round:

* SNAPSHOT: mentor_match.rounds.encoder.encode_round(round), what a run does first: read
  the confirmed people, their skills, and expand their availability for the month.
* the solve (not measured against the target, shown for information):
  mentor_match.optimizer.solve.solve(problem, time_limit=--time-limit), checked by
  check_solution, and stored as a succeeded RoundRun as perform_run stores it.
* PUBLISH: mentor_match.rounds.publication.publish(run): pairings, sessions, observers and
  notifications, in one transaction.

Each measured phase runs twice. The first pass gives the wall time, untouched by tracing,
and the resident memory: the peak of the phase alone (VmHWM, reset through
/proc/self/clear_refs before the phase) and the process's max RSS so far (getrusage). The
second pass runs under tracemalloc and gives the peak of Python allocations in the phase;
tracing slows Python several-fold, so its wall time is shown apart and is not the figure
held to the target. Before publishing the second time, what the first publication created
is deleted and the run and round are set back, so both passes publish into the same state.

The database is prepared by benchmarks.common: created if missing, its public schema dropped
and recreated before seeding, and never `test`, PostgreSQL's own or another benchmark's.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.engine import make_url

from benchmarks.common import default_url, prepare_database

DEFAULT_URL = default_url("rounds")
TARGET_SECONDS = 30.0
SITE_URL = "https://mentor-match.example.com"
MIB = 1024 * 1024

# Share of people at each office; the rest of everyone (REMOTE_SHARE) works remotely.
SITE_WEIGHTS = {"London": 0.28, "New York": 0.2, "Bangalore": 0.27, "Sydney": 0.1, "Berlin": 0.15}
REMOTE_SHARE = 0.10
REMOTE_ZONES = (
    "Europe/Lisbon",
    "America/Denver",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "Africa/Johannesburg",
    "Australia/Adelaide",
    "America/Toronto",
)
BOTH_SHARE = 0.10  # of masters, who are also apprentices in another area
# How often apprentices ask for each area, and the share who ask for its scarce skill.
AREA_DEMAND = {
    "Negotiation": 3,
    "Public speaking": 3,
    "Stakeholder management": 2.5,
    "Coaching": 2,
    "Facilitation": 1.5,
    "Software craftsmanship": 1.5,
    "Project management": 1,
    "Interviewing": 1,
}
SCARCE_WANTED_SHARE = 0.6
SCARCE_HOSTED_SHARE = 0.12
LEAVE_SHARE = 0.08  # people with a day of leave in the month
EXTRA_SHARE = 0.03  # people with an extra afternoon in the month
FIRST_NAMES = (
    "Amara",
    "James",
    "Sophie",
    "Oliver",
    "Hannah",
    "Fatima",
    "Ruth",
    "Tom",
    "Chloe",
    "Daniel",
    "Liam",
    "Isla",
    "Yusuf",
    "Rebecca",
    "Marcus",
    "Elena",
    "David",
    "Aisha",
    "Kevin",
    "Jasmine",
    "Ananya",
    "Rohan",
    "Kavitha",
    "Arjun",
    "Meera",
    "Sneha",
    "Vikram",
    "Aditya",
    "Divya",
    "Karthik",
    "Pooja",
    "Lachlan",
    "Mia",
    "Ruby",
    "Jack",
    "Zoe",
    "Ethan",
    "Katrin",
    "Lukas",
    "Leonie",
    "Anna",
    "Felix",
    "Mehmet",
    "Jonas",
    "Sara",
    "Inês",
    "Ben",
    "Aroha",
    "Sanjay",
    "Emily",
    "Thandiwe",
    "Rafael",
    "Charlotte",
)
LAST_NAMES = (
    "Okafor",
    "Whitfield",
    "Turner",
    "Bennett",
    "Clarke",
    "Hussain",
    "Adeyemi",
    "Gallagher",
    "Patel",
    "Osei",
    "Murphy",
    "McKenzie",
    "Rahman",
    "Stein",
    "Johnson",
    "Rodriguez",
    "Kim",
    "Williams",
    "O'Brien",
    "Lee",
    "Iyer",
    "Mehta",
    "Subramanian",
    "Nair",
    "Krishnan",
    "Reddy",
    "Singh",
    "Rao",
    "Menon",
    "Srinivasan",
    "Sharma",
    "Murray",
    "Nguyen",
    "Thompson",
    "Mitchell",
    "Wilson",
    "Anderson",
    "Walker",
    "Vogel",
    "Schneider",
    "Fischer",
    "Becker",
    "Weber",
    "Yilmaz",
    "Hoffmann",
    "Lindqvist",
    "Carvalho",
    "Carter",
    "Ngata",
    "Shrestha",
    "Tremblay",
    "Dlamini",
    "Souza",
    "Evans",
)


# --- Memory --------------------------------------------------------------------------------


def _status_kib(field_name: str) -> int | None:
    """A field of /proc/self/status in KiB (VmRSS: now; VmHWM: peak since the last reset)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _reset_peak_rss() -> bool:
    """Set VmHWM back to the current RSS (Linux >= 4.0), so the next peak is the phase's own."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return True
    except OSError:
        return False


def _max_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


@dataclass
class Phase:
    """One measured phase: its untraced pass and its traced pass."""

    name: str
    seconds: float = 0.0
    rss_before_kib: int | None = None
    phase_peak_rss_kib: int | None = None  # VmHWM after a reset at the start of the phase
    max_rss_kib: int = 0  # getrusage: the whole process so far
    traced_seconds: float | None = None
    tracemalloc_peak: int | None = None  # bytes
    notes: list[str] = field(default_factory=list)


_lifetime_max_rss_kib = 0  # getrusage readings taken before each VmHWM reset


def measure(phase: Phase, action: Callable[[], object]) -> object:
    """The untraced pass: wall time and resident memory.

    Resetting VmHWM also lowers what getrusage reports from then on, so the process's max
    RSS is kept as the largest getrusage reading taken before each reset and after the phase.
    """
    global _lifetime_max_rss_kib
    gc.collect()
    phase.rss_before_kib = _status_kib("VmRSS")
    _lifetime_max_rss_kib = max(_lifetime_max_rss_kib, _max_rss_kib())
    reset = _reset_peak_rss()
    started = time.perf_counter()
    result = action()
    phase.seconds = time.perf_counter() - started
    phase.phase_peak_rss_kib = _status_kib("VmHWM") if reset else None
    _lifetime_max_rss_kib = max(_lifetime_max_rss_kib, _max_rss_kib())
    phase.max_rss_kib = _lifetime_max_rss_kib
    return result


def measure_traced(phase: Phase, action: Callable[[], object]) -> object:
    """The traced pass: the peak of Python allocations during the phase."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    started = time.perf_counter()
    try:
        result = action()
        phase.traced_seconds = time.perf_counter() - started
        phase.tracemalloc_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result


# --- The app ---------------------------------------------------------------------------------


def build_app(url: str):
    from mentor_match import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SITE_URL": SITE_URL,
            "SECRET_KEY": "benchmark-not-secret",  # so create_app writes no key file
            "REDIS_URL": "",
            "MAIL_SERVER": "",
        }
    )
    notes = []
    if "rounds.my_pairings" not in app.view_functions:
        # publish() links every notification to rounds.my_pairings. Until the rounds
        # blueprint is registered by create_app, a stand-in route lets url_for build it.
        app.add_url_rule("/pairings", endpoint="rounds.my_pairings", view_func=lambda: "")
        notes.append(
            "the app has no rounds.my_pairings endpoint (rounds blueprint not registered in "
            "create_app); the benchmark added a stand-in route /pairings so publish can link"
        )
    return app, notes


# --- Seeding ---------------------------------------------------------------------------------


@dataclass
class Seeded:
    month: str
    round_id: int
    people: int
    masters: int
    apprentices: int
    both: int
    remote: int
    sites: int
    micro_skills: int
    scarce: list[str]
    person_skills: int
    weekly_windows: int
    changes: int
    month_plans: int
    seconds: float


def _weekly_windows(
    rng: random.Random, *, remote: bool
) -> list[tuple[int, clock, clock, bool, bool]]:
    """Two to four windows on distinct weekdays in local time; office days in the room too."""
    from mentor_match.demo.availability import AFTERNOONS, MORNINGS, REMOTE_EXTRAS

    count = rng.choice((2, 3, 3, 4))
    days = sorted(rng.sample(range(5), count))
    office = set() if remote else set(rng.sample(range(5), 3))
    windows = []
    for weekday in days:
        if remote:
            start, end = rng.choice(MORNINGS + AFTERNOONS + REMOTE_EXTRAS)
            windows.append((weekday, start, end, False, True))
        elif weekday in office:
            start, end = rng.choice(MORNINGS + AFTERNOONS)
            on_video = rng.random() >= 0.15  # some office work cannot be shown on camera
            windows.append((weekday, start, end, True, on_video))
        else:
            start, end = rng.choice(MORNINGS + AFTERNOONS)
            windows.append((weekday, start, end, False, True))
    return windows


def _month_plan(rng: random.Random, *, master: bool, apprentice: bool, remote: bool) -> dict:
    """As the demo's plans: hosting limits for masters, hours to observe for apprentices."""
    both = master and apprentice
    plan = {
        "max_hosting_hours": 0,
        "max_apprentices": 0,
        "in_person_seats": 0,
        "virtual_seats": 0,
        "observation_hours": 0,
        "max_masters": 0,
    }
    if master:
        plan["max_hosting_hours"] = rng.choice((4, 6) if both else (6, 8, 10, 12))
        plan["max_apprentices"] = rng.choice((1, 2) if both else (2, 3, 3, 4))
        plan["in_person_seats"] = 0 if remote else rng.choice((1, 1, 2))
        plan["virtual_seats"] = rng.choice((2, 3, 4))
    if apprentice:
        plan["observation_hours"] = rng.choice((4, 6) if both else (4, 6, 6, 8, 10))
        plan["max_masters"] = 1 if both else rng.choice((1, 2, 2, 3))
    return plan


def seed(n_apprentices: int, n_masters: int, rng_seed: int, today: date) -> Seeded:
    """The organisation and an open round for next month, in bulk; committed."""
    from mentor_match.accounts.passwords import hash_password
    from mentor_match.demo.availability import next_month_start
    from mentor_match.demo.people import mastered_stage
    from mentor_match.demo.roster import DEMO_PASSWORD, MOST_WANTED, SITES
    from mentor_match.demo.taxonomy import seed_default_taxonomy
    from mentor_match.extensions import db
    from mentor_match.models import (
        Area,
        AreaIntent,
        AvailabilityChange,
        ChangeKind,
        MicroSkill,
        MonthPlan,
        Person,
        PersonArea,
        PersonSkill,
        Round,
        RoundStatus,
        Site,
        Stage,
        StageSource,
        WeeklyWindow,
        slugify,
    )

    started = time.perf_counter()
    rng = random.Random(rng_seed)
    month_start = next_month_start(today)
    month = month_start.strftime("%Y-%m")
    month_days = [
        month_start + timedelta(days=n)
        for n in range((next_month_start(month_start) - month_start).days)
    ]
    now = datetime.now(UTC)

    seed_default_taxonomy()
    site_ids = dict(
        db.session.execute(
            insert(Site).returning(Site.name, Site.id),
            [{"name": name, "timezone": zone} for name, zone in SITES],
        ).all()
    )
    site_zone = dict(SITES)
    areas: dict[str, list[tuple[int, str]]] = {}
    area_ids: dict[str, int] = {}
    for area_id, area_name, skill_id, skill_name in db.session.execute(
        select(Area.id, Area.name, MicroSkill.id, MicroSkill.name)
        .join(MicroSkill, MicroSkill.area_id == Area.id)
        .order_by(Area.name, MicroSkill.name)
    ):
        areas.setdefault(area_name, []).append((skill_id, skill_name))
        area_ids[area_name] = area_id
    scarce_by_area = {}
    for area_name, skill_name in MOST_WANTED:
        scarce_by_area[area_name] = next(
            skill_id for skill_id, name in areas[area_name] if slugify(name) == slugify(skill_name)
        )
    scarce_ids = set(scarce_by_area.values())
    area_names = sorted(areas)
    demand = [AREA_DEMAND.get(name, 1.0) for name in area_names]

    # Who is who: masters (some also apprentices), then apprentices only; shuffled so ids mix.
    n_both = min(round(BOTH_SHARE * n_masters), n_apprentices)
    roles = [(True, i < n_both) for i in range(n_masters)]
    roles += [(False, True)] * (n_apprentices - n_both)
    rng.shuffle(roles)

    password_hash = hash_password(DEMO_PASSWORD)  # scrypt is slow on purpose: once for all
    sites_weighted = list(SITE_WEIGHTS)
    site_weights = [SITE_WEIGHTS[name] for name in sites_weighted]
    people_rows, specs = [], []
    people_rows.append(
        {
            "email": "admin@bench.example.com",
            "name": "Morgan Ellis",
            "password_hash": password_hash,
            "is_admin": True,
            "is_master": False,
            "is_apprentice": False,
            "site_id": site_ids["London"],
            "timezone": "Europe/London",
            "bio": "Runs the Mentor Match programme.",
        }
    )
    specs.append(None)
    for index, (is_master, is_apprentice) in enumerate(roles):
        if rng.random() < REMOTE_SHARE:
            site, zone = None, rng.choice(REMOTE_ZONES)
        else:
            site = rng.choices(sites_weighted, site_weights)[0]
            zone = site_zone[site]
        mastered = rng.choice(area_names) if is_master else None
        wanted = None
        if is_apprentice:
            while wanted is None or wanted == mastered:
                wanted = rng.choices(area_names, demand)[0]
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        people_rows.append(
            {
                "email": f"person{index:06d}@bench.example.com",
                "name": name,
                "password_hash": password_hash,
                "is_admin": False,
                "is_master": is_master,
                "is_apprentice": is_apprentice,
                "site_id": site_ids[site] if site else None,
                "timezone": zone,
                "bio": (f"Masters {mastered}. " if mastered else "")
                + (f"Wants to learn {wanted}." if wanted else ""),
            }
        )
        specs.append((is_master, is_apprentice, site is None, mastered, wanted))
    person_ids = list(
        db.session.scalars(
            insert(Person).returning(Person.id, sort_by_parameter_order=True), people_rows
        )
    )

    skill_rows, area_rows, window_rows, change_rows, plan_rows = [], [], [], [], []
    for person_id, spec in zip(person_ids, specs, strict=True):
        if spec is None:
            continue
        is_master, is_apprentice, remote, mastered, wanted = spec
        held: dict[int, dict] = {}
        if is_master:
            area_rows.append(
                {
                    "person_id": person_id,
                    "area_id": area_ids[mastered],
                    "intent": AreaIntent.MASTERS_NOW,
                }
            )
            for skill_id, _ in areas[mastered]:
                stage = mastered_stage(
                    rng.random(),
                    scarce=skill_id in scarce_ids,
                    scarce_master_share=SCARCE_HOSTED_SHARE,
                )
                if stage is None:
                    continue
                held[skill_id] = {
                    "stage": stage,
                    "hosts": stage is not Stage.APPRENTICE,
                    "develops": False,
                }
            hosted = sum(row["hosts"] for row in held.values())
            for skill_id, row in held.items():  # everyone hosts at least two skills
                if hosted >= 2:
                    break
                if not row["hosts"] and skill_id not in scarce_ids:
                    row.update(stage=Stage.MASTER, hosts=True)
                    hosted += 1
            for skill_id, _ in areas[mastered]:
                if hosted >= 2:
                    break
                if skill_id not in held and skill_id not in scarce_ids:
                    held[skill_id] = {"stage": Stage.MASTER, "hosts": True, "develops": False}
                    hosted += 1
            if rng.random() < 0.3:  # a skill from another area, learnt along the way
                other = rng.choice([a for a in area_names if a not in (mastered, wanted)])
                skill_id = rng.choice(areas[other])[0]
                if skill_id not in scarce_ids or rng.random() < SCARCE_HOSTED_SHARE:
                    held[skill_id] = {"stage": Stage.JOURNEYMAN, "hosts": True, "develops": False}
        if is_apprentice:
            area_rows.append(
                {
                    "person_id": person_id,
                    "area_id": area_ids[wanted],
                    "intent": AreaIntent.WANTS_NEXT,
                }
            )
            candidates = areas[wanted]
            wants = []
            scarce = scarce_by_area.get(wanted)
            if scarce is not None and rng.random() < SCARCE_WANTED_SHARE:
                wants.append(scarce)
            others = [skill_id for skill_id, _ in candidates if skill_id != scarce]
            wants += rng.sample(others, rng.choice((1, 2, 2, 3)))
            for skill_id in wants:
                stage = Stage.JOURNEYMAN if rng.random() < 0.25 else Stage.APPRENTICE
                held[skill_id] = {"stage": stage, "hosts": False, "develops": True}
        # The organisation came in by a trusted import: hosted stages are verified, so the
        # masters host (a self-declared one would wait for verification and be left out).
        skill_rows += [
            {
                "person_id": person_id,
                "micro_skill_id": skill_id,
                **row,
                "stage_source": StageSource.IMPORTED if row["hosts"] else StageSource.SELF_DECLARED,
            }
            for skill_id, row in held.items()
        ]
        windows = _weekly_windows(rng, remote=remote)
        window_rows += [
            {
                "person_id": person_id,
                "weekday": weekday,
                "start_time": start,
                "end_time": end,
                "in_person": in_person,
                "virtual": virtual,
            }
            for weekday, start, end, in_person, virtual in windows
        ]
        if rng.random() < LEAVE_SHARE:
            weekday = windows[0][0]
            day = rng.choice([d for d in month_days if d.weekday() == weekday])
            change_rows.append(
                {
                    "person_id": person_id,
                    "day": day,
                    "kind": ChangeKind.UNAVAILABLE,
                    "start_time": None,
                    "end_time": None,
                    "in_person": True,
                    "virtual": True,
                    "note": "Annual leave",
                }
            )
        if rng.random() < EXTRA_SHARE:
            busy = {window[0] for window in windows}
            free = [d for d in month_days if d.weekday() < 5 and d.weekday() not in busy]
            if free:
                change_rows.append(
                    {
                        "person_id": person_id,
                        "day": rng.choice(free),
                        "kind": ChangeKind.EXTRA,
                        "start_time": clock(13),
                        "end_time": clock(17),
                        "in_person": not remote,
                        "virtual": True,
                        "note": "Extra afternoon",
                    }
                )
        plan_rows.append(
            {
                "person_id": person_id,
                "month": month,
                "confirmed_at": now,
                **_month_plan(rng, master=is_master, apprentice=is_apprentice, remote=remote),
            }
        )

    for model, rows in (
        (PersonArea, area_rows),
        (PersonSkill, skill_rows),
        (WeeklyWindow, window_rows),
        (AvailabilityChange, change_rows),
        (MonthPlan, plan_rows),
    ):
        if rows:
            db.session.execute(insert(model), rows)
    round_ = Round(
        month=month,
        status=RoundStatus.OPEN,
        opened_at=now,
        confirm_by=datetime.combine(month_start - timedelta(days=3), clock(23, 59), UTC),
    )
    db.session.add(round_)
    db.session.commit()
    # As autovacuum would have by the time a real round runs: planner statistics.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE"))
    return Seeded(
        month=month,
        round_id=round_.id,
        people=len(person_ids),
        masters=n_masters,
        apprentices=n_apprentices,
        both=n_both,
        remote=sum(1 for spec in specs if spec is not None and spec[2]),
        sites=len(site_ids),
        micro_skills=sum(len(skills) for skills in areas.values()),
        scarce=[f"{area}: {name}" for area, name in MOST_WANTED],
        person_skills=len(skill_rows),
        weekly_windows=len(window_rows),
        changes=len(change_rows),
        month_plans=len(plan_rows),
        seconds=time.perf_counter() - started,
    )


# --- The phases ------------------------------------------------------------------------------


def _unpublish(round_id: int, run_id: int, first_notification_id: int) -> None:
    """Delete what publish created and set the run and round back, for the traced pass."""
    from mentor_match.extensions import db
    from mentor_match.models import (
        Notification,
        Pairing,
        Round,
        RoundRun,
        RoundStatus,
        ShadowingSession,
    )

    db.session.remove()
    db.session.execute(delete(Notification).where(Notification.id >= first_notification_id))
    db.session.execute(delete(ShadowingSession).where(ShadowingSession.round_id == round_id))
    # Pairing skills and session observers go with their pairings (ON DELETE CASCADE).
    db.session.execute(delete(Pairing).where(Pairing.round_id == round_id))
    db.session.execute(update(RoundRun).where(RoundRun.id == run_id).values(published_at=None))
    db.session.execute(
        update(Round).where(Round.id == round_id).values(status=RoundStatus.OPEN, published_at=None)
    )
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def _count(model_or_table, *where) -> int:
    from mentor_match.extensions import db

    return db.session.scalar(select(func.count()).select_from(model_or_table).where(*where)) or 0


def run_benchmark(args: argparse.Namespace) -> int:
    args.load_before = os.getloadavg()
    version = prepare_database(args.database_url, benchmark="rounds")
    app, notes = build_app(args.database_url)
    from flask_migrate import upgrade

    from mentor_match.extensions import db
    from mentor_match.models import (
        Notification,
        Pairing,
        Round,
        RoundRun,
        RunKind,
        RunStatus,
        SessionObserver,
        ShadowingSession,
        pairing_skills,
    )
    from mentor_match.optimizer.check import check_solution
    from mentor_match.optimizer.solve import solve
    from mentor_match.rounds.encoder import encode_round
    from mentor_match.rounds.publication import publish

    print(f"PostgreSQL: {version}", flush=True)
    with app.app_context():
        started = time.perf_counter()
        upgrade()  # the schema from the Alembic migrations, as production gets it
        migrate_seconds = time.perf_counter() - started
        print(f"schema migrated in {migrate_seconds:.1f} s; seeding ...", flush=True)
        seeded = seed(args.apprentices, args.masters, args.seed, datetime.now(UTC).date())
        print(
            f"seeded {seeded.people:,} people in {seeded.seconds:.1f} s; round {seeded.month}",
            flush=True,
        )

        # SNAPSHOT
        snapshot = Phase("snapshot")

        def take_snapshot() -> dict:
            db.session.remove()
            return encode_round(db.session.get(Round, seeded.round_id))

        print("snapshot: encode_round ...", flush=True)
        problem = measure(snapshot, take_snapshot)
        print(f"snapshot: {snapshot.seconds:.2f} s; traced pass ...", flush=True)
        measure_traced(snapshot, take_snapshot)
        started = time.perf_counter()
        problem_json = json.dumps(problem)
        dumps_seconds = time.perf_counter() - started
        windows = sum(len(p["availability"]) for p in problem["masters"] + problem["apprentices"])

        # The solve, for information only
        print(f"solve: time limit {args.time_limit:g} s ...", flush=True)
        started = time.perf_counter()
        solution = solve(problem, time_limit=args.time_limit, seed=args.seed)
        solve_seconds = time.perf_counter() - started
        started = time.perf_counter()
        problems = check_solution(problem, solution)
        check_seconds = time.perf_counter() - started
        print(
            f"solve: {solve_seconds:.1f} s, {solution['observation_hours']:,.0f} h, "
            f"{len(solution['pairings']):,} pairings, valid={not problems}",
            flush=True,
        )
        if problems:
            print("the solution is not valid:\n  " + "\n  ".join(problems[:10]), file=sys.stderr)
            return 1
        finished = datetime.now(UTC)
        run = RoundRun(
            round_id=seeded.round_id,
            kind=RunKind.FULL,
            status=RunStatus.SUCCEEDED,
            time_limit=args.time_limit,
            started_at=finished - timedelta(seconds=solve_seconds),
            finished_at=finished,
            heartbeat_at=finished,
            problem_json=problem_json,
            solution_json=json.dumps(solution),
            observation_hours=solution["observation_hours"],
            upper_bound=solution["upper_bound"],
            best_hours=solution["observation_hours"],
            bound=solution["upper_bound"],
            elapsed=solve_seconds,
        )
        db.session.add(run)
        db.session.commit()
        run_id = run.id

        # PUBLISH
        first_notification = (db.session.scalar(select(func.max(Notification.id))) or 0) + 1
        publication = Phase("publish")

        def do_publish():
            db.session.remove()
            loaded = db.session.get(RoundRun, run_id)
            _ = loaded.problem_json, loaded.solution_json  # loaded here, outside the clock
            return loaded

        print("publish ...", flush=True)
        loaded = do_publish()
        published = measure(publication, lambda: publish(loaded))
        print(f"publish: {publication.seconds:.2f} s; traced pass ...", flush=True)
        _unpublish(seeded.round_id, run_id, first_notification)
        loaded = do_publish()
        published_again = measure_traced(publication, lambda: publish(loaded))
        if published_again != published:
            publication.notes.append(
                f"the traced pass published {published_again}, not {published}"
            )

        db.session.remove()
        counts = {
            "pairings": _count(Pairing, Pairing.round_id == seeded.round_id),
            "pairing skills": _count(pairing_skills),
            "sessions": _count(ShadowingSession, ShadowingSession.round_id == seeded.round_id),
            "session observers": _count(SessionObserver),
            "notifications": _count(Notification, Notification.id >= first_notification),
        }
        round_status = db.session.get(Round, seeded.round_id).status

    print()
    print(
        report(
            args,
            version,
            seeded,
            problem,
            windows,
            len(problem_json),
            dumps_seconds,
            snapshot,
            publication,
            solve_seconds,
            check_seconds,
            solution,
            published,
            counts,
            round_status,
            notes,
        )
    )
    slow = [phase for phase in (snapshot, publication) if phase.seconds > TARGET_SECONDS]
    return 2 if slow else 0


def _mib(kib: int | None) -> str:
    return "-" if kib is None else f"{kib / 1024:,.0f}"


def report(
    args,
    version,
    seeded: Seeded,
    problem,
    windows,
    problem_bytes,
    dumps_seconds,
    snapshot: Phase,
    publication: Phase,
    solve_seconds,
    check_seconds,
    solution,
    published,
    counts,
    round_status,
    notes,
) -> str:
    scarce = "; ".join(seeded.scarce)
    counted = ", ".join(f"{name} {value:,}" for name, value in counts.items())
    load_now = os.getloadavg()[0]
    lines = [
        (
            f"== Round benchmark: {args.apprentices:,} apprentices x {args.masters:,} masters, "
            f"round {seeded.month} =="
        ),
        f"PostgreSQL   {version}",
        f"database     {make_url(args.database_url).render_as_string(hide_password=True)}",
        (
            f"machine      {os.cpu_count()} cores; Python {sys.version.split()[0]}; load average "
            f"{args.load_before[0]:.2f} at the start, {load_now:.2f} at the end (1 min; other "
            "work on the machine slows every phase)"
        ),
        (
            f"organisation {seeded.people:,} people ({seeded.masters:,} masters, "
            f"{seeded.apprentices:,} apprentices, {seeded.both:,} of them both, {seeded.remote:,} "
            f"remote, 1 admin); {seeded.sites} sites; {seeded.micro_skills} micro skills, "
            f"scarce: {scarce}"
        ),
        (
            f"             {seeded.person_skills:,} person skills, "
            f"{seeded.weekly_windows:,} weekly windows, {seeded.changes:,} one-off changes, "
            f"{seeded.month_plans:,} confirmed month plans; seeded in {seeded.seconds:.1f} s"
        ),
        (
            f"problem      {len(problem['masters']):,} masters, {len(problem['apprentices']):,} "
            f"apprentices, {windows:,} availability windows, {problem_bytes / MIB:,.1f} MiB of "
            f"JSON (json.dumps {dumps_seconds:.2f} s)"
        ),
        (
            f"solve        {solve_seconds:.1f} s wall (time limit {args.time_limit:g} s, not "
            f"measured against the target): {solution['observation_hours']:,.0f} h of "
            f"observation, bound {solution['upper_bound']:,.0f} h; check_solution valid in "
            f"{check_seconds:.1f} s"
        ),
        (
            f"published    {published.pairings:,} pairings, {published.sessions:,} sessions, "
            f"{published.people:,} people told; round now {round_status}"
        ),
        f"counts       {counted}",
        "",
    ]
    header = (
        f"{'phase':<9} {'wall s':>7} {'target':>7} {'ok':>4} {'tracemalloc':>12} "
        f"{'RSS before':>11} {'phase peak':>11} {'max RSS':>9} {'traced s':>9}"
    )
    units = (
        f"{'':<9} {'':>7} {'s':>7} {'':>4} {'peak MiB':>12} {'MiB':>11} {'RSS MiB':>11} "
        f"{'MiB':>9} {'':>9}"
    )
    lines += [header, units, "-" * len(header)]
    for phase in (snapshot, publication):
        ok = "yes" if phase.seconds <= TARGET_SECONDS else "NO"
        peak = "-" if phase.tracemalloc_peak is None else f"{phase.tracemalloc_peak / MIB:,.0f}"
        traced = "-" if phase.traced_seconds is None else f"{phase.traced_seconds:.2f}"
        lines.append(
            f"{phase.name:<9} {phase.seconds:>7.2f} {TARGET_SECONDS:>7.0f} {ok:>4} {peak:>12} "
            f"{_mib(phase.rss_before_kib):>11} {_mib(phase.phase_peak_rss_kib):>11} "
            f"{_mib(phase.max_rss_kib):>9} {traced:>9}"
        )
        lines += [f"          {phase.name}: {note}" for note in phase.notes]
    lines += [
        "",
        (
            "wall s: untraced pass. tracemalloc peak: Python allocations during the phase (traced "
            "pass; its wall time is 'traced s'). phase peak RSS: VmHWM, reset at the phase's "
            "start. max RSS: getrusage ru_maxrss, the whole process so far (imports, seeding, "
            "earlier phases, the solve)."
        ),
    ]
    lines += [f"note: {note}" for note in notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.rounds", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--apprentices", type=int, default=10_000)
    parser.add_argument("--masters", type=int, default=2_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL),
        help=f"a scratch PostgreSQL database, created if missing and wiped (default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=30.0,
        help="the solver's time limit in seconds (default 30; the solve is not measured)",
    )
    parser.add_argument("--seed", type=int, default=0, help="organisation and solver seed")
    args = parser.parse_args(argv)
    if args.apprentices < 1 or args.masters < 1:
        parser.error("--apprentices and --masters must be at least 1")
    return run_benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
