"""Booking under contention, on a real PostgreSQL whatever database the rest of the suite uses.

The suite's own database may be SQLite, whose single write lock serialises everything, so
these tests build their own app on a scratch PostgreSQL database (POSTGRES_URL's database name
with `_concurrency` after it, so each xdist worker has its own; never the suite's `test`
database). They prove that the row locks taken by `locks.lock` and the `no_overlapping_seats`
exclusion constraint hold when many requests arrive at the same instant:

1. 50 apprentices posting for the last video seat of a session over real HTTP: one seat, 49
   clear refusals, no server error.
2. 50 simultaneous bookings of overlapping times by one apprentice: one seat.
3. Overlapping live seats of one apprentice inserted by raw SQL: refused by the database.
"""

from __future__ import annotations

import http.client
import threading
from datetime import UTC, date, datetime, time, timedelta
from http.cookies import SimpleCookie
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from werkzeug.serving import make_server

from mentor_match import create_app
from mentor_match.booking import actions
from mentor_match.config import TestConfig
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import Person, SessionMode, SessionObserver, ShadowingSession

from .conftest import POSTGRES_URL, need_service
from .database import empty_tables
from .factories import (
    DEFAULT_PASSWORD,
    give_skill,
    make_apprentice,
    make_area,
    make_master,
    make_month_plan,
    make_session,
    make_site,
    make_weekly_window,
    next_month,
)

pytestmark = pytest.mark.database_independent

SCRATCH_DATABASE = f"{make_url(POSTGRES_URL).database}_concurrency"
# Held (on the server's `postgres` database) while this module uses the scratch database,
# so two runs of the suite on one server take turns instead of dropping each other's schema.
ADVISORY_LOCK_KEY = 0x6D6D_636F  # "mmco"
ATTEMPTS = 50
LONDON = ZoneInfo("Europe/London")


# The scratch PostgreSQL app ------------------------------------------------------------------


def _scratch_url() -> str:
    url = make_url(POSTGRES_URL).set(database=SCRATCH_DATABASE)
    assert url.database == SCRATCH_DATABASE != "test"
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def pg_app():
    """An app of its own on the scratch database, its schema built by the migrations."""
    server = make_url(POSTGRES_URL).set(database="postgres")
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        guard = admin.connect()
    except Exception as failure:  # noqa: BLE001 - any connection failure means "not reachable"
        admin.dispose()
        need_service(f"PostgreSQL at {server.render_as_string()} is not reachable: {failure}")
    try:
        guard.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        exists = guard.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": SCRATCH_DATABASE}
        )
        if not exists:
            guard.execute(text(f'CREATE DATABASE "{SCRATCH_DATABASE}"'))
        url = _scratch_url()
        scratch = create_engine(url)
        with scratch.begin() as connection:
            assert connection.scalar(text("SELECT current_database()")) == SCRATCH_DATABASE
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        scratch.dispose()

        settings = {name: getattr(TestConfig, name) for name in dir(TestConfig) if name.isupper()}
        settings.update(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SQLALCHEMY_ENGINE_OPTIONS": {
                    "pool_size": 60,
                    "max_overflow": 10,
                    "pool_pre_ping": True,
                },
                "WTF_CSRF_ENABLED": False,
            }
        )
        app = create_app(settings)
        with app.app_context():
            upgrade()
            assert db.engine.url.database == SCRATCH_DATABASE
        yield app
        with app.app_context():
            db.engine.dispose()
    finally:
        guard.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
        guard.close()
        admin.dispose()


@pytest.fixture
def pg(pg_app):
    """The scratch app's context for one test; every table of it is emptied afterwards."""
    with pg_app.app_context():
        yield pg_app
        db.session.rollback()
        db.session.remove()
        empty_tables()


# Helpers -------------------------------------------------------------------------------------


def _weekday_next_month() -> date:
    """The first Monday-to-Friday day of next month: always well over an hour from now."""
    day = date.fromisoformat(f"{next_month()}-01")
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _london(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).astimezone(UTC)


def _open_master(name: str, site, skill) -> Person:
    """A master anyone who develops the skill may book, free 09-17 on weekdays, roomy limits."""
    master = make_master(name, site=site, open_to_bookings=True)
    give_skill(master, skill, "master", hosts=True)
    for weekday in range(5):
        make_weekly_window(master, weekday=weekday, start=time(9), end=time(17))
    return master


def _apprentice(name: str, site, skill, timezone: str = "Europe/London", **limits) -> Person:
    person = make_apprentice(name, site=site, timezone=timezone)
    give_skill(person, skill, "apprentice", develops=True)
    make_month_plan(person, next_month(), **limits)
    return person


def _request(
    port: int,
    method: str,
    path: str,
    fields: dict | None = None,
    cookie: str | None = None,
    barrier: threading.Barrier | None = None,
):
    """One HTTP request on its own connection; waits at the barrier once connected."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.connect()
        body = urlencode(fields) if fields is not None else None
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        if cookie:
            headers["Cookie"] = cookie
        if barrier is not None:
            barrier.wait()
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return (
            response.status,
            response.getheader("Location", ""),
            response.headers.get_all("Set-Cookie") or [],
            response.read().decode(),
        )
    finally:
        connection.close()


def _log_in(port: int, person: Person) -> str:
    """Log in through the real form; returns the Cookie header to send as that person."""
    status, _, set_cookies, body = _request(
        port, "POST", "/login", {"email": person.email, "password": DEFAULT_PASSWORD}
    )
    assert status == 302, body[:500]
    jar = SimpleCookie()
    for header in set_cookies:
        jar.load(header)
    assert "session" in jar, set_cookies
    return f"session={jar['session'].value}"


@pytest.fixture
def pg_server(pg):
    """The scratch app over real HTTP, one thread per request."""
    server = make_server("127.0.0.1", 0, pg, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _run_together(work, count: int) -> list:
    """Run work(i) in `count` threads and return their results in order."""
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported by the test, not lost in a thread
            results[index] = ("crashed", repr(error))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads), "a booking thread hung"
    return results


# 1. The last seat ----------------------------------------------------------------------------


def test_fifty_apprentices_racing_for_the_last_video_seat_get_one_seat(pg, pg_server):
    site = make_site("Race HQ")
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    master = _open_master("Race Master", site, skill)
    # Two video seats an hour; limits roomy enough that only the seat count can refuse.
    make_month_plan(
        master,
        next_month(),
        max_hosting_hours=160,
        max_apprentices=50,
        in_person_seats=1,
        virtual_seats=2,
    )
    starts_at = _london(_weekday_next_month(), 10)
    ends_at = starts_at + timedelta(hours=1)
    early = _apprentice("Early Bird", site, skill, observation_hours=6, max_masters=2)
    first = actions.book(early, master, starts_at, ends_at, SessionMode.VIRTUAL)
    session_id, master_id = first.session_id, master.id
    assert first.session.seats == 2  # one seat left

    racers = [
        _apprentice(f"Racer {n}", site, skill, observation_hours=6, max_masters=2)
        for n in range(ATTEMPTS)
    ]
    cookies = [_log_in(pg_server, person) for person in racers]
    db.session.rollback()  # hold no transaction open while they race
    barrier = threading.Barrier(ATTEMPTS, timeout=120)
    fields = {"starts_at": starts_at.isoformat(), "hours": "1", "mode": SessionMode.VIRTUAL.value}

    def attempt(index: int):
        status, location, _, body = _request(
            pg_server, "POST", f"/book/{master_id}", fields, cookies[index], barrier
        )
        return status, location, body

    results = _run_together(attempt, ATTEMPTS)

    crashed = [r for r in results if r[0] == "crashed"]
    assert not crashed, crashed[:3]
    server_errors = [r for r in results if r[0] >= 500]
    booked = [r for r in results if r[0] == 302 and r[1].endswith(f"/sessions/{session_id}")]
    refused = [r for r in results if r[0] == 200 and "That seat was just taken" in r[2]]
    assert not server_errors, [(s, b[:300]) for s, _, b in server_errors[:3]]
    assert len(booked) == 1, [(s, loc) for s, loc, _ in results]
    assert len(refused) == ATTEMPTS - 1, [
        (s, loc) for s, loc, _ in results if (s, loc) != booked[0][:2]
    ][:5]

    db.session.expire_all()
    live = db.session.scalar(
        select(func.count())
        .select_from(SessionObserver)
        .where(SessionObserver.session_id == session_id, SessionObserver.cancelled_at.is_(None))
    )
    assert live == 2
    assert db.session.scalar(select(func.count()).select_from(SessionObserver)) == 2
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ShadowingSession)
            .where(ShadowingSession.master_id == master_id)
        )
        == 1
    )


# 2. One apprentice, many overlapping bookings --------------------------------------------------

# Five distinct bookings per master, every one overlapping every other (all cover 12:15-12:45),
# so one master never sees the same session twice and only the clash can refuse.
OVERLAPPING = [((12, 0), 1), ((12, 0), 2), ((11, 0), 2), ((12, 15), 1), ((11, 45), 1)]


def test_fifty_overlapping_bookings_by_one_apprentice_give_one_seat(pg):
    site = make_site("Clash HQ")
    skill = make_area("Coaching", skills=("Listening",)).micro_skills[0]
    masters_needed = ATTEMPTS // len(OVERLAPPING)
    # Ten masters, within the plan's cap of 20 on max_masters: no limit but the clash refuses.
    masters = []
    for n in range(masters_needed):
        master = _open_master(f"Clash Master {n}", site, skill)
        make_month_plan(
            master,
            next_month(),
            max_hosting_hours=160,
            max_apprentices=50,
            in_person_seats=1,
            virtual_seats=50,
        )
        masters.append(master)
    # In Kathmandu (+05:45), so bookings with London masters are on a quarter-hour grid and
    # the starts at :15 and :45 that overlap only partly are times she may book.
    apprentice = _apprentice(
        "Busy Apprentice",
        site,
        skill,
        timezone="Asia/Kathmandu",
        observation_hours=160,
        max_masters=20,
    )
    total_hours = masters_needed * sum(hours for _, hours in OVERLAPPING)
    assert masters_needed <= 20 and total_hours <= 160  # each booking alone would be accepted
    day = _weekday_next_month()
    plans = [
        (master.id, _london(day, *start), _london(day, *start) + timedelta(hours=hours))
        for master in masters
        for start, hours in OVERLAPPING
    ]
    assert len(plans) == ATTEMPTS and len(set(plans)) == ATTEMPTS
    apprentice_id = apprentice.id
    db.session.rollback()
    app = pg
    barrier = threading.Barrier(ATTEMPTS, timeout=120)

    def attempt(index: int):
        master_id, starts_at, ends_at = plans[index]
        with app.app_context():
            me = db.session.get(Person, apprentice_id)
            master = db.session.get(Person, master_id)
            db.session.rollback()  # start the booking's transaction after the barrier
            barrier.wait()
            try:
                seat = actions.book(me, master, starts_at, ends_at, SessionMode.VIRTUAL)
            except Refusal as refusal:
                return ("refused", str(refusal))
            except Exception as error:  # noqa: BLE001 - anything else is the failure we look for
                return ("error", repr(error))
            return ("booked", seat.id)

    results = _run_together(attempt, ATTEMPTS)

    booked = [r for r in results if r[0] == "booked"]
    refused = [r for r in results if r[0] == "refused"]
    others = [r for r in results if r[0] not in ("booked", "refused")]
    assert not others, others[:3]
    assert len(booked) == 1, booked
    assert len(refused) == ATTEMPTS - 1
    unclear = [message for _, message in refused if "already have a session" not in message]
    assert not unclear, unclear[:3]

    db.session.expire_all()
    seats = db.session.scalars(
        select(SessionObserver).where(
            SessionObserver.apprentice_id == apprentice_id, SessionObserver.cancelled_at.is_(None)
        )
    ).all()
    assert [seat.id for seat in seats] == [booked[0][1]]


# 3. The database's own guard ---------------------------------------------------------------------


def test_the_database_refuses_overlapping_live_seats_inserted_directly(pg):
    master = make_master("Raw Master")
    apprentice = make_apprentice("Raw Apprentice")
    other = make_apprentice("Other Apprentice")
    at = datetime(2030, 1, 7, tzinfo=UTC)

    def session(start_hour: float, hours: float = 1) -> int:
        return make_session(master, at + timedelta(hours=start_hour), hours, seats=5).id

    ten, half_past_ten, eleven = session(10), session(10.5), session(11)
    insert = text(
        "INSERT INTO session_observers (session_id, apprentice_id, starts_at, ends_at, "
        "created_at, cancelled_at) VALUES (:session, :person, :starts, :ends, now(), :cancelled) "
        "RETURNING id"
    )

    def seat(
        session_id: int,
        person: Person,
        start_hour: float,
        hours: float = 1,
        cancelled: datetime | None = None,
    ) -> int:
        starts_at = at + timedelta(hours=start_hour)
        with db.engine.begin() as connection:
            return connection.scalar(
                insert,
                {
                    "session": session_id,
                    "person": person.id,
                    "starts": starts_at,
                    "ends": starts_at + timedelta(hours=hours),
                    "cancelled": cancelled,
                },
            )

    def assert_refused(error: pytest.ExceptionInfo) -> None:
        assert error.value.orig.sqlstate == "23P01"  # exclusion_violation
        assert error.value.orig.diag.constraint_name == "no_overlapping_seats"

    seat(ten, apprentice, 10)  # [10:00, 11:00)
    with pytest.raises(IntegrityError) as overlapping:
        seat(half_past_ten, apprentice, 10.5)  # [10:30, 11:30) overlaps it
    assert_refused(overlapping)
    # A cancelled seat holds no time; another apprentice's seat is not this one's clash.
    cancelled = seat(half_past_ten, apprentice, 10.5, cancelled=datetime.now(UTC))
    seat(half_past_ten, other, 10.5)
    # Ranges are half-open: a seat may start the moment the last one ends.
    seat(eleven, apprentice, 11)  # [11:00, 12:00)
    # Reviving the cancelled overlapping seat is refused too.
    with pytest.raises(IntegrityError) as revived, db.engine.begin() as connection:
        connection.execute(
            text("UPDATE session_observers SET cancelled_at = NULL WHERE id = :id"),
            {"id": cancelled},
        )
    assert_refused(revived)

    live = db.session.scalar(
        select(func.count())
        .select_from(SessionObserver)
        .where(
            SessionObserver.apprentice_id == apprentice.id, SessionObserver.cancelled_at.is_(None)
        )
    )
    assert live == 2
