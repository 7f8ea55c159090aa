"""The site as production runs it, for tests/test_scale_out.py: two web processes, two workers.

`started_stack` migrates a scratch schema of TEST_POSTGRES_URL's database with `flask db
upgrade`, fills it with the factories, and runs two `gunicorn wsgi:app` and two `flask rounds
worker` processes on it and on this worker's Redis database (conftest's REDIS_URL), all with
one set of settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gunicorn
from flask import Flask
from sqlalchemy import create_engine

from mentor_match import create_app
from mentor_match.availability.expansion import Month
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.models import RoundStatus

from .conftest import POSTGRES_URL, REDIS_URL, empty_redis, need_service
from .factories import (
    make_admin,
    make_apprentice,
    make_round,
    make_small_round_organisation,
    next_month,
)
from .processes import StartedProcess, free_port, stop_all

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = REPO_ROOT / ".venv" / "bin"
SCHEMA = "scale_out"
# Log-in attempts a client may make in a minute, counted across both web processes.
LOGIN_LIMIT = 4
RUN_MONTH = next_month()  # open, with confirmed plans: the runs are of this round
MAIL_MONTH = str(Month.parse(RUN_MONTH).next)  # a draft round the mail test opens
# Extra people to mail when the round opens, so a delivery lasts long enough to overlap another.
EXTRA_APPRENTICES = 40
# Gunicorn 27 opens a control socket at one path in the home directory, which two servers
# (and a developer's own) would fight over; these have no use for it.
_NO_CONTROL_SOCKET = ("--no-control-socket",) if gunicorn.version_info >= (27,) else ()


@dataclass(frozen=True)
class Stack:
    """The running site: its two web addresses, its workers' names, and what the tests read."""

    web: tuple[str, str]
    worker_names: frozenset[str]
    app: Flask  # on the same database, for reading what the processes wrote
    redis: object
    admin_email: str
    apprentice_email: str
    apprentice_name: str
    people_asked: frozenset[str]  # every master and apprentice: the round's mail goes to them
    processes: tuple[StartedProcess, ...]


def _scratch_url() -> str:
    return f"{POSTGRES_URL}?options=-csearch_path%3D{SCHEMA}"


def _fresh_schema() -> None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
            connection.exec_driver_sql(f"CREATE SCHEMA {SCHEMA}")
        engine.dispose()
    except Exception as failure:  # noqa: BLE001 - any connection failure means "not reachable"
        need_service(f"PostgreSQL at {POSTGRES_URL} is not reachable: {failure}")


def _drop_schema() -> None:
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    engine.dispose()


def _environment(site_url: str) -> dict[str, str]:
    """What every process of the site is given: one key, one address, one database, one Redis."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("FLASK_", "MAIL_", "GUNICORN_"))
    }
    env.update(
        SECRET_KEY="scale-out-test-secret-the-same-in-every-process",
        SITE_URL=site_url,
        TRUSTED_HOSTS="127.0.0.1",
        DATABASE_URL=_scratch_url(),
        REDIS_URL=REDIS_URL,
        COOKIE_SECURE="0",
        RATELIMIT_ENABLED="1",
        LOGIN_LIMIT_PER_CLIENT=f"{LOGIN_LIMIT} per minute",
        PYTHONUNBUFFERED="1",
    )
    return env


def _populate(app: Flask) -> dict:
    """The organisation: an open round with confirmed plans, a draft round, an admin, and
    extra apprentices, whom a round's opening mails too."""
    with app.app_context():
        organisation = make_small_round_organisation("Scale HQ")
        extra = [make_apprentice(f"Extra Apprentice {n}") for n in range(EXTRA_APPRENTICES)]
        admin = make_admin("Scale Admin", email="scale-admin@example.org")
        make_round(RUN_MONTH, status=RoundStatus.OPEN)
        make_round(MAIL_MONTH, status=RoundStatus.DRAFT)
        apprentice = organisation["apprentices"][0]
        asked = organisation["masters"] + organisation["apprentices"] + extra
        return {
            "admin_email": admin.email,
            "apprentice_email": apprentice.email,
            "apprentice_name": apprentice.name,
            "people_asked": frozenset(person.email for person in asked),
        }


@contextmanager
def started_stack(logs: Path) -> Iterator[Stack]:
    """Migrate a scratch schema, fill it, and run two web processes and two workers on it,
    their logs in `logs`; everything is stopped and dropped after.

    What can overlap does (the machine has two cores): the web processes load the app while
    `flask db upgrade` runs, and the workers while the test fills the database; the web
    processes are asked for a page, and so touch the database, only once it is migrated.
    """
    from rq import Worker

    _fresh_schema()
    redis = empty_redis()
    ports = (free_port(), free_port())
    web = tuple(f"http://127.0.0.1:{port}" for port in ports)
    env = _environment(site_url=web[0])
    # An empty gunicorn configuration: what is tested is the flags below, not a file in the tree.
    settings = logs / "gunicorn.conf.py"
    settings.write_text("# the scale-out test sets everything with flags\n")

    def start(name: str, *command: str) -> StartedProcess:
        process = StartedProcess(
            name, command, env=env, cwd=REPO_ROOT, log_path=logs / f"{name.replace(' ', '-')}.log"
        )
        started.append(process)
        return process

    class ScaleConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = _scratch_url()

    app = create_app(ScaleConfig)
    started: list[StartedProcess] = []
    try:
        migration = start("migration", str(BIN / "flask"), "--app", "wsgi", "db", "upgrade")
        servers = [
            start(
                f"web {n}",
                *(str(BIN / "gunicorn"), "--config", str(settings), *_NO_CONTROL_SOCKET),
                *("--workers", "1", "--graceful-timeout", "5"),
                *("--bind", f"127.0.0.1:{port}", "wsgi:app"),
            )
            for n, port in enumerate(ports, 1)
        ]
        migration.wait_until_done()
        workers = [
            start(f"worker {n}", str(BIN / "flask"), "--app", "wsgi", "rounds", "worker")
            for n in (1, 2)
        ]
        people = _populate(app)
        for server, port in zip(servers, ports, strict=True):
            server.wait_for_http("127.0.0.1", port, path="/login")
        for worker in workers:
            worker.wait_for_log("Listening on")
        names = frozenset(worker.name for worker in Worker.all(connection=redis))
        assert len(names) == 2, names
        yield Stack(
            web=web,
            worker_names=names,
            app=app,
            redis=redis,
            processes=tuple(servers + workers),
            **people,
        )
    finally:
        stop_all(started)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        _drop_schema()
        redis.flushdb()
        redis.close()
