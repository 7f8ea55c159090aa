"""`make serve`: the real stack, started as an operator would, driven only from outside.

It gets a PostgreSQL database and a Redis database of its own, short schedule intervals and a
free port, and is driven by HTTP with CSRF tokens, the database, Redis and signals. The three
tests share the one stack and run in order: a booking is reminded by the scheduler, a round
runs on a worker and recovers from a killed one, and Ctrl-C stops it all, even mid-run.
(What it refuses to start without: tests/test_production_settings.py.)
"""

from __future__ import annotations

import contextlib
import html
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from datetime import time as clock
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from mentor_match import create_app
from mentor_match.availability.expansion import Month
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.models import (
    Notification,
    OutboxMessage,
    RoundRun,
    RunStatus,
    ShadowingSession,
)
from mentor_match.rounds.runs import SILENT_WORKER

from .conftest import POSTGRES_URL, REDIS_URL, empty_redis, need_service
from .factories import (
    DEFAULT_PASSWORD,
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_big_round_organisation,
    make_master,
    make_month_plan,
    make_round,
    make_site,
    make_weekly_window,
    next_month,
)
from .processes import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
# A database of its own on the suite's PostgreSQL server: `make serve` migrates it from empty.
STACK_DATABASE_URL = os.environ.get("TEST_STACK_DATABASE_URL") or (
    make_url(POSTGRES_URL)
    .set(database=f"{make_url(POSTGRES_URL).database}_stack")
    .render_as_string(hide_password=False)
)
SECRET_KEY = "stack-test-secret-key-of-forty-characters"
# A run's worker writes a heartbeat every second; one silent for 4 s is failed by the reaper.
HEARTBEAT_SECONDS, STALE_SECONDS = 1, 4
# `make serve` without reinstalling: the suite runs on the installed virtualenv.
MAKE_SERVE = ["make", "--no-print-directory", "-o", ".venv/.installed", "serve"]
# What a make running the suite passes to makes under it.
MAKE_OWN = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
# Ctrl-C's default action for the started command: a shell without job control starts
# background jobs with SIGINT ignored, which children inherit, and make would ignore it.
DEFAULT_SIGINT = [
    sys.executable,
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execvp(sys.argv[1], sys.argv[1:])",
]

pytestmark = pytest.mark.database_independent


class StackConfig(TestConfig):
    """The test's own view of the stack's database, to seed it and read what the stack did."""

    SQLALCHEMY_DATABASE_URI = STACK_DATABASE_URL


@dataclass
class Stack:
    process: subprocess.Popen
    address: str
    log_path: Path
    redis: object  # redis.Redis on the stack's database
    app: object  # a Flask app on the stack's database, for factories and checks

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:]

    def processes(self) -> list[int]:
        """Every live process `make serve` started, however deep (honcho's children, horses)."""
        table = _process_table()
        found, frontier = [], [self.process.pid]
        while frontier:
            parent = frontier.pop()
            children = [pid for pid, (ppid, _) in table.items() if ppid == parent]
            found += children
            frontier += children
        return found


def _process_table() -> dict[int, tuple[int, str]]:
    """pid: (parent pid, command line) of every live process, read from /proc."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # state, ppid, ...
        if fields[0] != "Z":
            table[int(entry)] = (int(fields[1]), command)
    return table


def _fresh_database() -> None:
    """The stack's database, created if missing and emptied, or the test skips (fails in CI)."""
    url = make_url(STACK_DATABASE_URL)
    try:
        server = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with server.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        server.dispose()
    except Exception as failure:  # noqa: BLE001 - any connection failure means "not reachable"
        need_service(f"PostgreSQL for the stack at {url.host}:{url.port} is unusable: {failure}")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _wait_for(condition, seconds: float, what: str, stack: Stack | None = None, every=0.2):
    """Poll condition() until it is truthy; fail naming what never happened, with the log."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if stack is not None and stack.process.poll() is not None:
            pytest.fail(f"make serve ended while waiting for {what}:\n{stack.log()}")
        if time.monotonic() > deadline:
            log = f"\nstack log:\n{stack.log()}" if stack is not None else ""
            pytest.fail(f"Waited {seconds:g} s for {what}{log}")
        time.sleep(every)


def _answers(address: str) -> bool:
    try:
        with urllib.request.urlopen(f"{address}/login", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """`make serve` on a free port, its database and Redis fresh; every process ends after."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the stack test follows the stack's processes through /proc")
    _fresh_database()
    redis = empty_redis()
    port = free_port()
    address = f"http://127.0.0.1:{port}"
    # As from a terminal: not the settings of a make that runs the suite (`make test`).
    env = {key: value for key, value in os.environ.items() if key not in MAKE_OWN}
    env.update(
        {
            "SECRET_KEY": SECRET_KEY,
            "SITE_URL": address,
            "DATABASE_URL": STACK_DATABASE_URL,
            "REDIS_URL": REDIS_URL,
            "COOKIE_SECURE": "0",  # plain http on the loopback
            "WEB_CONCURRENCY": "1",
            "REMINDERS_EVERY_SECONDS": "2",
            "MAIL_EVERY_SECONDS": "2",
            "REAP_EVERY_SECONDS": "1",
            "ROUND_HEARTBEAT_SECONDS": str(HEARTBEAT_SECONDS),
            "ROUND_RUN_STALE_SECONDS": str(STALE_SECONDS),
            "PYTHONUNBUFFERED": "1",
        }
    )
    log_path = tmp_path_factory.mktemp("stack") / "make-serve.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*DEFAULT_SIGINT, *MAKE_SERVE, f"PORT={port}", "WORKERS=2"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, which Ctrl-C signals
        )
    app = create_app(StackConfig)
    running = Stack(process, address, log_path, redis, app)
    try:
        _wait_for(lambda: _answers(address), 90, "the site to answer", running, every=0.5)
        yield running
    finally:
        for pid in running.processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        with app.app_context():
            db.engine.dispose()
        redis.flushdb()
        redis.close()


class Browser:
    """Someone using the site over HTTP: cookies kept, CSRF tokens taken from each form."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str) -> tuple[str, str]:
        """(the page's HTML, the path it ended at after redirects)."""
        with self.opener.open(f"{self.address}{path}", timeout=30) as response:
            return response.read().decode(), urllib.parse.urlsplit(response.url).path

    def post(self, path: str, fields: dict, token_from: str) -> tuple[str, str]:
        data = urllib.parse.urlencode({"csrf_token": csrf_token(token_from), **fields}).encode()
        with self.opener.open(f"{self.address}{path}", data=data, timeout=30) as response:
            return response.read().decode(), urllib.parse.urlsplit(response.url).path

    def log_in(self, email: str) -> None:
        page, _ = self.get("/login")
        _, landed = self.post("/login", {"email": email, "password": DEFAULT_PASSWORD}, page)
        assert landed != "/login", f"{email} could not log in"


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return html.unescape(match.group(1))


def fresh(query):
    """The rows as the stack has written them now (its processes commit on other connections)."""
    db.session.rollback()
    return db.session.scalars(query.execution_options(populate_existing=True)).all()


def test_a_booking_is_reminded_by_the_scheduler_and_mailed(stack):
    """Booked over HTTP for within the next day; the scheduled job reminds it and mails it."""
    with stack.app.app_context():
        site = make_site("Stack HQ", "UTC")
        skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
        master = make_master("Mira Master", site=site, timezone="UTC", open_to_bookings=True)
        give_skill(master, skill, "master", hosts=True)
        apprentice = make_apprentice("Ari Apprentice", site=site, timezone="UTC")
        give_skill(apprentice, skill, "apprentice", develops=True)
        # Free all day every day, this month and next, so a time within a day is always open.
        for weekday in range(7):
            make_weekly_window(master, weekday=weekday, start=clock(0), end=clock(23, 45))
        this_month = str(Month.containing(datetime.now(UTC).date()))
        for month in (this_month, next_month()):
            make_month_plan(master, month, max_hosting_hours=20, max_apprentices=3)
            make_month_plan(apprentice, month, observation_hours=20, max_masters=2)
        master_id, email = master.id, apprentice.email

    browser = Browser(stack.address)
    browser.log_in(email)
    slot = None
    for month in ("", f"?month={next_month()}"):
        page, _ = browser.get(f"/book/{master_id}{month}")
        slot = re.search(
            r'<form method="post" class="slot-form">.*?name="starts_at" value="([^"]+)"'
            r'.*?<option value="([^"]+)"',
            page,
            re.DOTALL,
        )
        if slot:
            break
    assert slot, "the master offers no time to book"
    starts_at = datetime.fromisoformat(slot.group(1))
    assert (starts_at - datetime.now(UTC)).total_seconds() < 24 * 3600 - 60
    fields = {"starts_at": slot.group(1), "hours": slot.group(2), "mode": "virtual"}
    page, landed = browser.post(f"/book/{master_id}", fields, page)
    assert re.fullmatch(r"/sessions/\d+", landed), page[:2000]
    assert "Booked: Mira Master has been told." in page

    with stack.app.app_context():

        def reminder_mailed():
            return fresh(
                select(OutboxMessage).where(
                    OutboxMessage.recipient == email,
                    OutboxMessage.subject.startswith("Reminder: shadowing"),
                ),
            )

        mails = _wait_for(reminder_mailed, 30, "the reminder mail", stack)
        assert len(mails) == 1
        session = fresh(select(ShadowingSession))[0]
        assert session.reminded_at is not None
        notices = fresh(select(Notification).where(Notification.text.startswith("Remind")))
        assert len(notices) == 2 and all(n.mailed_at is not None for n in notices)

    # The reminder came from a job the scheduler queued, which a worker ran (its result is
    # written just after its mail went out).
    _wait_for(
        lambda: scheduled_results(stack, "mentor-match-reminders").count(1),
        10,
        "the reminder job's result",
        stack,
    )
    assert scheduled_results(stack, "mentor-match-reminders").count(1) == 1


def scheduled_results(stack: Stack, name: str) -> list:
    """What each finished job the scheduler queued under `name` returned, newest first."""
    from rq.cron import get_cron_job_ids
    from rq.job import Job

    jobs = Job.fetch_many(get_cron_job_ids(name, stack.redis), connection=stack.redis)
    results = [job.latest_result() for job in jobs if job is not None]
    return [result.return_value for result in results if result is not None]


def _start_run_from_the_admin_page(browser: Browser, month: str, seconds: int) -> int:
    page, _ = browser.get(f"/admin/rounds/{month}")
    fields = {"time_limit": str(seconds), "kind": "full"}
    page, landed = browser.post(f"/admin/rounds/{month}/runs", fields, page)
    assert landed == f"/admin/rounds/{month}", page[:2000]
    match = re.search(r"Run (\d+) has started\.", page)
    assert match, page[:2000]
    return int(match.group(1))


def _run(run_id: int) -> RoundRun:
    return fresh(select(RoundRun).where(RoundRun.id == run_id))[0]


@pytest.fixture(scope="module")
def big_round(stack):
    """An open round big enough to solve for a minute, and an admin signed in to run it."""
    with stack.app.app_context():
        make_big_round_organisation()
        month = make_round().month
        admin_email = make_admin("Ada Admin").email
    browser = Browser(stack.address)
    browser.log_in(admin_email)
    return browser, month


def _solving(stack: Stack, browser: Browser, month: str) -> tuple[int, int, int]:
    """Start a run of up to a minute from the admin page and wait until a worker solves it;
    (the run's id, its worker's pid, its work horse's pid)."""
    from rq.job import Job
    from rq.worker import Worker

    with stack.app.app_context():
        run_id = _start_run_from_the_admin_page(browser, month, 60)
        _wait_for(
            lambda: (run := _run(run_id)).status is RunStatus.RUNNING and run.problem_json,
            30,
            f"run {run_id} to be solving",
            stack,
        )
    job = Job.fetch(f"round-run-{run_id}", connection=stack.redis)
    worker = Worker.find_by_key(f"rq:worker:{job.worker_name}", connection=stack.redis)
    horses = [pid for pid, (ppid, _) in _process_table().items() if ppid == worker.pid]
    assert len(horses) == 1, f"worker {worker.pid} should be solving in one horse"
    return run_id, worker.pid, horses[0]


def test_a_round_runs_on_a_worker_and_survives_a_killed_one(stack, big_round):
    """A run whose work horse is killed is failed by the scheduled reaper; the next succeeds."""
    browser, month = big_round
    workers_before = _workers(stack)
    assert len(workers_before) == 2, stack.log()
    doomed, worker_pid, horse = _solving(stack, browser, month)
    os.kill(horse, signal.SIGKILL)  # as the kernel's out-of-memory killer would

    with stack.app.app_context():
        failed = _wait_for(
            lambda: (run := _run(doomed)).status is RunStatus.FAILED and run,
            STALE_SECONDS + 20,
            f"run {doomed} to be failed by the reaper",
            stack,
        )
        assert failed.error == SILENT_WORKER
        assert not failed.solution_json
        # Failed by the scheduled reaper, not by anything the test did.
        _wait_for(
            lambda: scheduled_results(stack, "mentor-match-reap").count(1),
            10,
            "the reaper job's result",
            stack,
        )
        assert scheduled_results(stack, "mentor-match-reap").count(1) == 1

        done_id = _start_run_from_the_admin_page(browser, month, 5)
        done = _wait_for(
            lambda: not (run := _run(done_id)).status.is_active and run,
            60,
            f"run {done_id} to finish",
            stack,
        )
        assert done.status is RunStatus.SUCCEEDED, done.error
        assert done.observation_hours > 0
    # Both workers are the ones started: the one whose horse died went on working.
    assert _workers(stack) == workers_before
    assert worker_pid in workers_before


def _workers(stack: Stack) -> set[int]:
    """The RQ worker processes: Python running `flask ... rounds worker`, not the shell that
    honcho starts it with, nor a work horse doing a scheduled job (forked from its worker, it
    has the same command line)."""
    started = stack.processes()
    table = _process_table()
    running = {
        pid
        for pid, (_, command) in table.items()
        if pid in started and "bin/flask --app wsgi rounds worker" in command
    }
    return {pid for pid in running if table[pid][0] not in running}


def test_ctrl_c_stops_every_process_of_the_stack_even_mid_run(stack, big_round):
    """Ctrl-C while a worker solves a round: its horse (a process group of its own) goes too."""
    browser, month = big_round
    run_id, _, horse = _solving(stack, browser, month)
    started = stack.processes()
    assert horse in started
    names = " ".join(command for pid, (_, command) in _process_table().items() if pid in started)
    for part in ("honcho start", "gunicorn", "rounds worker", "flask --app wsgi scheduler"):
        assert part in names, f"{part} is not running:\n{stack.log()}"

    began = time.monotonic()
    os.killpg(stack.process.pid, signal.SIGINT)  # what Ctrl-C in its terminal sends
    stack.process.wait(timeout=30)
    took = time.monotonic() - began
    left = [pid for pid in started if pid in _process_table()]
    assert not left, f"still running after Ctrl-C: {left}\n{stack.log()}"
    assert took < 15, f"stopping took {took:.1f} s\n{stack.log()}"
    assert "SIGINT received" in stack.log()
    assert "stopping: the round run in hand is abandoned" in stack.log()
    assert not _answers(stack.address)
    # Left running, with no heartbeat: the next stack's reaper fails it.
    with stack.app.app_context():
        assert _run(run_id).status is RunStatus.RUNNING
