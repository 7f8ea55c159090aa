"""Fixtures: an app whose schema comes from the Alembic migrations, clients, and log-in."""

import importlib.util
import os
import sqlite3
import threading
from contextlib import contextmanager
from datetime import time
from functools import cache
from pathlib import Path

import pytest
from flask import g, request_started
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, inspect, make_url, text
from sqlalchemy.exc import OperationalError

from mentor_match import create_app
from mentor_match.accounts import passwords
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.health.checks import close_connections
from mentor_match.mail.services import mail_dispatched

from .database import empty_tables
from .factories import (
    DEFAULT_PASSWORD,
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_master,
    make_month_plan,
    make_site,
    make_weekly_window,
    next_month,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
# The independent checker of round solutions lives in shared/, beside the project.
VERIFY_PATH = REPO_ROOT.parent / "shared" / "verify_round.py"

# `make test` runs the suite in several processes (pytest-xdist's workers gw0, gw1, ...) at
# once. Each worker has databases and a Redis database of its own, so no two tests running at
# the same time share one; a run without xdist is worker 0 and uses the names as given.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
WORKER_NUMBER = int(WORKER.removeprefix("gw") or 0)


def of_this_worker(url: str) -> str:
    """A PostgreSQL URL made this worker's own (database `test` becomes `test_gw1`); SQLite
    files are already per process (TestConfig names them after the process id)."""
    if not WORKER or not url.startswith("postgresql"):
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


POSTGRES_URL = of_this_worker(
    os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
)
TestConfig.SQLALCHEMY_DATABASE_URI = of_this_worker(TestConfig.SQLALCHEMY_DATABASE_URI)

# The Redis database (its URL ends with its number) of a run without xdist, and of worker 0;
# worker n uses the n-th after it. CI runs alone and uses 8 upwards (a Redis has 16, 0 to 15);
# runs sharing one Redis give each run a range of its own.
_REDIS_SERVER, _, _REDIS_BASE_NUMBER = os.environ.get(
    "TEST_REDIS_URL", "redis://127.0.0.1:6379/8"
).rpartition("/")
REDIS_URL = f"{_REDIS_SERVER}/{int(_REDIS_BASE_NUMBER) + WORKER_NUMBER}"


def pytest_addoption(parser):
    parser.addoption(
        "--wall-clock",
        choices=("all", "skip", "only"),
        default="all",
        help="tests marked wall_clock: run them with the rest (all), leave them out (skip), or "
        "run only them (only); make test runs them on their own after the parallel run",
    )


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "wall_clock: times a run that needs the processor (a time limit kept, progress each "
        "second), so make test runs it after the parallel run, with no other test beside it",
    )
    config.addinivalue_line(
        "markers",
        "database_independent: runs no SQL on the database TEST_DATABASE_URL names (pure code, or "
        "a scratch database of its own), so the PostgreSQL pass of .ci/run leaves it out",
    )


# Modules whose tests take a minute or more each (`pytest --durations=30`), or wait that long
# on a run of their own (test_suite_grouping's pytest, slow on a busy machine): under xdist
# they start first, so the run does not end waiting on one of them while the other workers idle.
SLOW_MODULES = (
    "test_input_fuzz",
    "test_optimizer",
    "test_migrations",
    "test_browser_",
    "test_api",
    "test_suite_grouping",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """--wall-clock leaves out, or keeps only, the wall_clock tests. `make test` hands each
    test to whichever xdist worker is free (--dist loadgroup), slow modules first, but keeps
    together the tests of a module that share a module- or class-scoped fixture, so that
    set-up (a production stack, a populated site) is made once, in one worker."""
    choice = config.getoption("wall_clock")
    for item in items:
        # .ci/run's PostgreSQL pass (TIMED_TESTS=no) runs no wall_clock test: each must be one
        # that pass leaves out anyway, or it would never run on PostgreSQL.
        if item.get_closest_marker("wall_clock") and not (
            item.get_closest_marker("database_independent") or item.get_closest_marker("browser")
        ):
            raise pytest.UsageError(
                f"{item.nodeid} is marked wall_clock, so it must be browser or "
                "database_independent too: the PostgreSQL pass runs no wall_clock test"
            )
    if choice != "all":
        wanted = choice == "only"
        kept, left_out = [], []
        for item in items:
            timed = item.get_closest_marker("wall_clock") is not None
            (kept if timed == wanted else left_out).append(item)
        config.hook.pytest_deselected(items=left_out)
        items[:] = kept
    if WORKER:
        slow = tuple(f"tests/{name}" for name in SLOW_MODULES)
        items.sort(key=lambda item: not item.nodeid.startswith(slow))
    for item in items:
        fixtures = getattr(item, "_fixtureinfo", None)
        if fixtures is None:
            continue
        scopes = {defs[-1].scope for defs in fixtures.name2fixturedefs.values() if defs}
        if scopes & {"module", "class", "package"}:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))


def need_service(reason: str) -> None:
    """In CI a missing service is a failure; on a laptop the test skips and says why."""
    if os.environ.get("CI"):
        pytest.fail(f"CI needs this service: {reason}")
    pytest.skip(reason)


def empty_redis():
    """A connection to this worker's Redis database (REDIS_URL), emptied; or the test skips
    (fails in CI) when Redis does not answer. The caller empties it again and closes it."""
    from redis import Redis
    from redis.exceptions import RedisError

    connection = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except RedisError as error:
        connection.close()
        need_service(f"Redis at {REDIS_URL} is not reachable: {error}")
    connection.flushdb()
    return connection


@pytest.fixture
def redis_connection():
    """This worker's Redis database, empty when the test starts and emptied after it."""
    connection = empty_redis()
    yield connection
    connection.flushdb()
    connection.close()


def _remove_sqlite_file(url: str) -> None:
    path = url.removeprefix("sqlite:///")
    if url.startswith("sqlite:///") and os.path.exists(path):
        os.remove(path)


def create_database_if_missing(url: str) -> None:
    """Make the PostgreSQL database the URL names, if the server has none of that name (a
    worker's own database on the first run). A server that does not answer is left for the
    tests that need it to report."""
    name = make_url(url).database
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError:
        pass
    finally:
        server.dispose()


@pytest.fixture(scope="session", autouse=True)
def _worker_postgres_database():
    """Under xdist, the database of POSTGRES_URL is this worker's own: make it if missing."""
    if WORKER:
        create_database_if_missing(POSTGRES_URL)


def _reset_database(url: str) -> None:
    """Drop every table (and Alembic's record) so the migrations build the schema afresh."""
    if url.startswith("sqlite"):
        _remove_sqlite_file(url)
        return
    if WORKER:
        create_database_if_missing(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _commit_without_flushing_to_disk(dbapi_connection, connection_record) -> None:
    """A test database need not survive a power cut: skip the flush to disk at each commit,
    which is most of a commit's time here. What one connection sees of another's work is
    unchanged."""
    cursor = dbapi_connection.cursor()
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor.execute("PRAGMA synchronous = OFF")
    else:
        cursor.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()
    cursor.close()


@pytest.fixture(scope="session")
def app():
    """One app per test run, its schema built by `flask db upgrade` only."""
    _reset_database(TestConfig.SQLALCHEMY_DATABASE_URI)
    app = create_app(TestConfig)
    # Tests hold an app context open, so requests share its `g`; forget the cached
    # signed-in person at each request, as a fresh context in production would.
    request_started.connect(lambda sender, **extra: g.pop("_login_user", None), app, weak=False)
    with app.app_context():
        event.listen(db.engine, "connect", _commit_without_flushing_to_disk)
        upgrade()
        # The migrations insert rows too (the organisation's settings): the first test in
        # each worker must start from the same empty tables as every later one.
        empty_tables()
    yield app
    with app.app_context():
        db.engine.dispose()
    close_connections(app)  # /readyz keeps connections of its own
    _remove_sqlite_file(TestConfig.SQLALCHEMY_DATABASE_URI)


@pytest.fixture(scope="session", autouse=True)
def _password_checks_once():
    """scrypt is slow on purpose, and almost every test signs in someone with the same
    password hash: check each (hash, password) pair once per run. The answer for a pair
    never changes, so nothing a test asserts does."""
    checked = cache(passwords.check_password_hash)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(passwords, "check_password_hash", checked)
        yield


@pytest.fixture(autouse=True)
def _clean_tables(app, request):
    """Each test runs inside an app context and leaves every table empty behind it.

    A test marked `database_independent` must run no SQL on the suite's database (the PostgreSQL
    pass of .ci/run leaves it out), so there is nothing to clean; if it did, it fails.
    """
    from mentor_match.rounds.queue import wait_for_background_jobs

    with app.app_context():
        if request.node.get_closest_marker("database_independent") is None:
            yield
        else:
            with recorded_statements() as seen:
                yield
                wait_for_background_jobs()
            if not seen:
                return
        wait_for_background_jobs()  # a mail thread a test started must not outlive its data
        db.session.rollback()
        db.session.remove()
        empty_tables()
        if request.node.get_closest_marker("database_independent"):
            pytest.fail(
                "marked database_independent, yet it ran SQL on the suite's database, "
                f"so the PostgreSQL pass would miss it: {seen[0][0][:200]}"
            )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def sent_mail(app):
    """The mails that went out during one test, in full: the outbox keeps no secrets."""
    sent = []

    def record(sender, mail, **extra):
        sent.append(mail)

    with mail_dispatched.connected_to(record, app):
        yield sent


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def csrf_enabled(app):
    """Turn CSRF checking on for one test (it is on by default; tests may switch it off)."""
    previous = app.config.get("WTF_CSRF_ENABLED", True)
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = previous


@pytest.fixture(autouse=True)
def _no_csrf_by_default(app, request):
    """Most tests post forms without a token; the CSRF tests turn it back on."""
    if "csrf_enabled" in request.fixturenames:
        yield
        return
    app.config["WTF_CSRF_ENABLED"] = False
    yield
    app.config["WTF_CSRF_ENABLED"] = True


@contextmanager
def recorded_statements():
    """Each statement run inside the block, with whether its connection was in autocommit
    (psycopg says; Python 3.11's sqlite3 has no such attribute, so None there)."""
    seen: list[tuple[str, bool | None]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, getattr(conn.connection.driver_connection, "autocommit", None)))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def log_in(client, person, password: str = DEFAULT_PASSWORD):
    """Log a person in through the real log-in form; returns the response."""
    return client.post("/login", data={"email": person.email, "password": password})


@pytest.fixture
def login(client):
    """Call login(person) to sign that person in on the test client."""

    def _login(person, password: str = DEFAULT_PASSWORD):
        response = log_in(client, person, password)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return client

    return _login


@pytest.fixture
def postgres_url():
    """A reachable PostgreSQL URL, for tests that need PostgreSQL whatever the main database."""
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as failure:  # noqa: BLE001 - any connection failure means "not reachable"
        need_service(f"PostgreSQL at {POSTGRES_URL} is not reachable: {failure}")
    return POSTGRES_URL


def table_names(app) -> set[str]:
    with app.app_context():
        return set(inspect(db.engine).get_table_names())


CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _read_whole(app):
    """The app, each response read whole and its iterable closed before a byte is sent. When a
    browser drops a connection mid-response (a page closed while app.js loads), werkzeug's
    development server can skip closing the response's file; collected later, it raised an
    unclosed-file ResourceWarning in whichever test was then running. The site streams nothing,
    so reading whole changes no response."""

    def read_whole(environ, start_response):
        iterable = app(environ, start_response)
        try:
            return [b"".join(iterable)]
        finally:
            if hasattr(iterable, "close"):
                iterable.close()

    return read_whole


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on a free loopback port, for the browser tests."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, _read_whole(app), threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # The site's address is where it is served: links in mail and feeds lead back to it.
    address, previous = f"http://127.0.0.1:{server.server_port}", app.config["SITE_URL"]
    app.config["SITE_URL"] = address
    yield address
    app.config["SITE_URL"] = previous
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright (Playwright's own browser download is unavailable)."""
    if not os.path.exists(CHROMIUM):
        need_service(f"Chromium is not installed at {CHROMIUM} (make browser installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium):
    """A fresh browser context and page; phone-sized tests make their own context."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def verify_round():
    """verify(problem, solution) from ../shared/verify_round.py, the independent checker."""
    if not VERIFY_PATH.exists():
        need_service(f"the independent checker {VERIFY_PATH} is missing")
    spec = importlib.util.spec_from_file_location("verify_round", VERIFY_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.verify


@pytest.fixture
def office():
    """A master open to bookings, free on weekdays 09-17 in London, and three apprentices."""
    site = make_site("Booking HQ", "Europe/London")
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    master = make_master("Amara Master", site=site, open_to_bookings=True)
    give_skill(master, skill, "master", hosts=True)
    for weekday in range(5):
        make_weekly_window(master, weekday=weekday, start=time(9), end=time(17))
    make_month_plan(
        master,
        next_month(),
        max_hosting_hours=10,
        max_apprentices=3,
        in_person_seats=1,
        virtual_seats=2,
    )
    apprentices = []
    for name in ("Tom", "Priya", "Lena"):
        person = make_apprentice(f"{name} Apprentice", site=site)
        give_skill(person, skill, "apprentice", develops=True)
        make_month_plan(person, next_month(), observation_hours=6, max_masters=2)
        apprentices.append(person)
    return {"site": site, "skill": skill, "master": master, "apprentices": apprentices}


@pytest.fixture
def imports_folder(app, tmp_path):
    """Uploads waiting for confirmation go to a folder of this test's own."""
    previous = app.config.get("IMPORTS_FOLDER")
    app.config["IMPORTS_FOLDER"] = str(tmp_path / "imports")
    yield
    if previous is None:
        app.config.pop("IMPORTS_FOLDER", None)
    else:
        app.config["IMPORTS_FOLDER"] = previous


@pytest.fixture
def world():
    """For the import tests: an admin, a London site and the skills the import files name."""
    site = make_site("London", "Europe/London")
    negotiation = make_area("Negotiation", skills=("Anchoring", "Closing"))
    coaching = make_area("Coaching", skills=("Listening",))
    admin = make_admin("Admin", email="admin@example.org")
    return {
        "site": site,
        "anchoring": negotiation.micro_skills[0],
        "closing": negotiation.micro_skills[1],
        "listening": coaching.micro_skills[0],
        "admin": admin,
    }
