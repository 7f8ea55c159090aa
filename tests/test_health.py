"""/healthz and /readyz: what a load balancer polls, and /readyz following a real PostgreSQL
that stops and starts again under a running app."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from mentor_match import create_app
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.health import checks
from mentor_match.rounds.queue import QUEUE_NAME

from .conftest import REDIS_URL, log_in, need_service, recorded_statements
from .factories import make_apprentice
from .processes import free_port

THREADS = "not configured: jobs run in threads of the web process"


@pytest.fixture(autouse=True)
def _fresh_readiness_connections(app):
    """Each test meets the checks as a new process would, and leaves no connection open."""
    checks.close_connections(app)
    app.extensions.pop("readiness_failing", None)
    yield
    checks.close_connections(app)


# /healthz ------------------------------------------------------------------------------------


@pytest.mark.database_independent
def test_healthz_answers_from_the_process_alone(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthz_with_a_session_looks_no_one_up_and_sends_no_cookie(client):
    log_in(client, make_apprentice("Ada Apprentice"))
    with recorded_statements() as seen:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert seen == []


@pytest.mark.database_independent
def test_probes_by_address_pass_the_host_check_and_nothing_else_does(client):
    """A load balancer probes a backend by its address; the pages still refuse that Host."""
    probe = client.get("/healthz", headers={"Host": "10.0.0.7:8000"})
    assert probe.status_code == 200
    assert probe.get_json() == {"status": "ok"}
    page = client.get("/", headers={"Host": "10.0.0.7:8000"})
    assert page.status_code == 400
    assert "the request's Host was refused" in page.get_data(as_text=True)


# /readyz on the suite's database -------------------------------------------------------------


def test_readyz_is_ready_on_a_migrated_database_without_redis(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    (head,) = checks.migration_heads()
    assert response.get_json() == {
        "status": "ready",
        "checks": {
            "database": {"ok": True, "detail": "answers"},
            "migrations": {"ok": True, "detail": f"at the head ({head})"},
            "redis": {"ok": True, "detail": THREADS},
            "worker": {"ok": True, "detail": THREADS},
        },
    }


def test_readyz_is_not_ready_when_the_code_has_a_newer_migration(client, monkeypatch):
    (head,) = checks.migration_heads()
    monkeypatch.setattr(checks, "migration_heads", lambda: frozenset({"c0ffee000001"}))
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not ready"
    assert body["checks"]["database"] == {"ok": True, "detail": "answers"}
    assert body["checks"]["migrations"] == {
        "ok": False,
        "detail": f"the database is at {head}, the code needs c0ffee000001: run `flask db upgrade`",
    }


@pytest.mark.database_independent
def test_readyz_on_a_database_never_migrated_says_so(tmp_path):
    scratch = create_app(
        type("Scratch", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    )
    try:
        response = scratch.test_client().get("/readyz")
        body = response.get_json()
    finally:
        checks.close_connections(scratch)
        with scratch.app_context():
            db.engine.dispose()
    assert response.status_code == 503
    assert body["checks"]["database"] == {"ok": True, "detail": "answers"}
    assert body["checks"]["migrations"]["detail"].startswith("the database is at none, ")


# Redis and the worker ------------------------------------------------------------------------


@pytest.fixture
def redis_connection(app, monkeypatch, redis_connection):
    """This worker's empty Redis database (conftest), set as the app's queue."""
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    return redis_connection


def test_readyz_wants_a_worker_that_was_heard_from_in_the_last_minute(client, redis_connection):
    from rq import Queue, Worker
    from rq.utils import now, utcformat

    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"] == {"ok": True, "detail": "answers"}
    assert response.get_json()["checks"]["worker"] == {
        "ok": False,
        "detail": f"no worker on the {QUEUE_NAME!r} queue: start `flask rounds worker`",
    }

    # What a running `flask rounds worker` writes in Redis, written here without the process.
    worker = Worker([Queue(QUEUE_NAME, connection=redis_connection)], connection=redis_connection)
    worker.register_birth()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["worker"] == {
        "ok": True,
        "detail": f"1 alive on the {QUEUE_NAME!r} queue",
    }

    silent_since = now() - timedelta(seconds=90)
    redis_connection.hset(worker.key, "last_heartbeat", utcformat(silent_since))
    response = client.get("/readyz")
    assert response.status_code == 503
    detail = response.get_json()["checks"]["worker"]["detail"]
    assert detail.startswith(f"no worker on the {QUEUE_NAME!r} queue has been heard from for 9")


def test_readyz_says_redis_is_down_without_naming_where_it_is(client, app, monkeypatch, caplog):
    unused = free_port()
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{unused}/4")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["checks"]["redis"] == {"ok": False, "detail": "Redis cannot be reached"}
    assert body["checks"]["worker"] == {"ok": False, "detail": "not known: Redis cannot be reached"}
    assert str(unused) not in response.get_data(as_text=True)
    # The operator learns where, once, from the log.
    where = f"Error 111 connecting to 127.0.0.1:{unused}"
    assert f"readiness: redis failing: Redis cannot be reached ({where}" in caplog.text
    client.get("/readyz")
    assert caplog.text.count("readiness: redis failing") == 1


# A real PostgreSQL that stops and starts again -----------------------------------------------


def _postgres_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


class PrivatePostgres:
    """A PostgreSQL cluster of this module's own: its own directory, port and socket."""

    def __init__(self) -> None:
        initdb, self.pg_ctl = _postgres_bin("initdb"), _postgres_bin("pg_ctl")
        if not initdb or not self.pg_ctl:
            need_service("PostgreSQL's initdb and pg_ctl are not installed")
        # initdb refuses to run as root: the cluster belongs to the postgres user then.
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.root = Path(tempfile.mkdtemp(prefix="mentor-match-readyz-"))
        if self.as_owner:
            shutil.chown(self.root, "postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        try:
            self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _run(self, *command: str) -> None:
        finished = subprocess.run(
            [*self.as_owner, *command], capture_output=True, text=True, timeout=120, check=False
        )
        if finished.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {finished.stderr or finished.stdout}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.root / "server.log")
        self._run(self.pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):
            self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def private_postgres():
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def app_on_private_postgres(private_postgres):
    """The site on the private PostgreSQL, as one long-running process; not yet migrated."""
    config = type(
        "OnPrivatePostgres", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": private_postgres.url}
    )
    site = create_app(config)
    yield site
    checks.close_connections(site)
    with site.app_context():
        db.engine.dispose()


@pytest.mark.database_independent  # its own PostgreSQL, not the suite's database
def test_readyz_goes_red_when_postgresql_stops_and_green_when_it_returns(
    private_postgres, app_on_private_postgres
):
    client = app_on_private_postgres.test_client()
    (head,) = checks.migration_heads()
    before = client.get("/readyz")
    assert before.status_code == 503
    assert before.get_json()["checks"]["database"] == {"ok": True, "detail": "answers"}
    assert before.get_json()["checks"]["migrations"] == {
        "ok": False,
        "detail": f"the database is at none, the code needs {head}: run `flask db upgrade`",
    }
    with app_on_private_postgres.app_context():
        upgrade()
        # The site's own pool holds a connection too, as it would after serving pages.
        assert db.session.scalar(text("SELECT 1")) == 1
        db.session.remove()
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["status"] == "ready"

    private_postgres.stop()
    down = client.get("/readyz")
    assert down.status_code == 503
    assert down.get_json()["status"] == "not ready"
    assert down.get_json()["checks"]["database"] == {
        "ok": False,
        "detail": "the database cannot be reached",
    }
    # The process itself still answers: /healthz takes no database connection.
    assert client.get("/healthz").status_code == 200

    private_postgres.start()
    deadline = time.monotonic() + 10
    again = client.get("/readyz")
    while again.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
        again = client.get("/readyz")
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["checks"]["database"] == {"ok": True, "detail": "answers"}
