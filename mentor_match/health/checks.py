"""What /readyz checks: the database answers at the migrations' head, Redis answers, a worker
is alive. Each check is cheap (one round trip, two for the worker) and bounded by
READINESS_TIMEOUT_SECONDS, so a load balancer may poll every second.

The checks use connections of their own (one per process, kept open), not the request's
pool: they get a short timeout without changing the site's, and a busy site's full pool
does not make a healthy one look down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from flask import Flask
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from ..config import PROJECT_ROOT
from ..extensions import db
from ..rounds.queue import QUEUE_NAME

log = logging.getLogger(__name__)

# A worker is alive if it wrote a heartbeat this recently (it writes one at least every
# rounds.cli.WORKER_TTL_SECONDS - 15 seconds, idle or busy).
WORKER_SILENCE_LIMIT = timedelta(seconds=60)
THREADS = "not configured: jobs run in threads of the web process"


@dataclass(frozen=True)
class Check:
    """One thing the site needs, and whether it has it, in words for an operator."""

    ok: bool
    detail: str
    # Why it failed, as the library said: logged for the operator, never in the public answer
    # (it names hosts and ports).
    cause: str | None = None


@dataclass(frozen=True)
class Readiness:
    """All the checks of one /readyz poll."""

    checks: dict[str, Check]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "status": "ready" if self.ready else "not ready",
            "checks": {
                name: {"ok": check.ok, "detail": check.detail}
                for name, check in self.checks.items()
            },
        }


def readiness(app: Flask) -> Readiness:
    """Check the database and its schema, Redis and the workers, each with a short timeout."""
    database, migrations = _database_and_migrations(app)
    redis, worker = _redis_and_worker(app)
    checks = {"database": database, "migrations": migrations, "redis": redis, "worker": worker}
    _log_changes(app, checks)
    return Readiness(checks)


@cache
def migration_heads() -> frozenset[str]:
    """The head revisions of the migration scripts: read once per process, as they are fixed
    for the code that runs."""
    from alembic.script import ScriptDirectory

    return frozenset(ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_heads())


def _database_and_migrations(app: Flask) -> tuple[Check, Check]:
    """One SELECT of Alembic's version table answers both: reachable, and at which revision."""
    try:
        versions = _applied_revisions(_engine(app))
    except DBAPIError as error:
        if not _no_version_table(error):
            return _unreachable(error)
        versions = frozenset()  # reachable, but never migrated
    except SQLAlchemyError as error:
        return _unreachable(error)
    database = Check(ok=True, detail="answers")
    heads = migration_heads()
    if versions == heads:
        return database, Check(ok=True, detail=f"at the head ({', '.join(sorted(heads))})")
    found = ", ".join(sorted(versions)) or "none"
    return database, Check(
        ok=False,
        detail=f"the database is at {found}, the code needs {', '.join(sorted(heads))}: "
        "run `flask db upgrade`",
    )


def _unreachable(error: SQLAlchemyError) -> tuple[Check, Check]:
    cause = _first_line(getattr(error, "orig", None) or error)
    return (
        Check(ok=False, detail="the database cannot be reached", cause=cause),
        Check(ok=False, detail="not known: the database cannot be reached"),
    )


def _no_version_table(error: DBAPIError) -> bool:
    """Whether the database answered that it has no alembic_version table at all."""
    undefined_table = getattr(error.orig, "sqlstate", None) == "42P01"  # PostgreSQL
    return undefined_table or "no such table: alembic_version" in str(error.orig)  # SQLite


def _applied_revisions(engine: Engine) -> frozenset[str]:
    try:
        return _select_revisions(engine)
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
    # A connection the server dropped (it restarted) fails once and is discarded; a fresh
    # one tells whether the server is back.
    return _select_revisions(engine)


def _select_revisions(engine: Engine) -> frozenset[str]:
    with engine.connect() as connection:
        return frozenset(connection.scalars(text("SELECT version_num FROM alembic_version")))


def _engine(app: Flask) -> Engine:
    """This process' engine for the checks: the site's database, one connection, short
    timeouts (to connect, for the statement, and for a server that stopped answering)."""
    engine = app.extensions.get("readiness_engine")
    if engine is None:
        with app.app_context():
            url = db.engine.url
        timeout = app.config["READINESS_TIMEOUT_SECONDS"]
        if url.get_backend_name() == "postgresql":
            connect_args: dict[str, Any] = {
                "connect_timeout": max(1, round(timeout)),
                "options": f"-c statement_timeout={round(timeout * 1000)}",
                "tcp_user_timeout": round(timeout * 1000),
            }
        else:
            connect_args = {"timeout": timeout}
        engine = create_engine(
            url,
            pool_size=1,
            max_overflow=1,
            pool_timeout=timeout,
            connect_args=connect_args,
            # The SELECT alone goes to the server: no BEGIN before it, no ROLLBACK after.
            isolation_level="AUTOCOMMIT",
        )
        app.extensions["readiness_engine"] = engine
    return engine


def _redis_and_worker(app: Flask) -> tuple[Check, Check]:
    url = app.config.get("REDIS_URL")
    if not url:
        return Check(ok=True, detail=THREADS), Check(ok=True, detail=THREADS)
    from redis.exceptions import RedisError
    from rq import Queue, Worker

    connection = _redis(app, url)
    try:
        connection.ping()
    except RedisError as error:
        return (
            Check(ok=False, detail="Redis cannot be reached", cause=_first_line(error)),
            Check(ok=False, detail="not known: Redis cannot be reached"),
        )
    redis = Check(ok=True, detail="answers")
    try:
        workers = Worker.all(queue=Queue(QUEUE_NAME, connection=connection))
    except RedisError as error:
        return redis, Check(
            ok=False, detail="not known: Redis stopped answering", cause=_first_line(error)
        )
    beats = [worker.last_heartbeat for worker in workers if worker.last_heartbeat is not None]
    latest = max(beats, default=None)
    if latest is None:
        return redis, Check(
            ok=False, detail=f"no worker on the {QUEUE_NAME!r} queue: start `flask rounds worker`"
        )
    silent = datetime.now(UTC) - latest
    if silent > WORKER_SILENCE_LIMIT:
        return redis, Check(
            ok=False,
            detail=f"no worker on the {QUEUE_NAME!r} queue has been heard from for "
            f"{silent.total_seconds():.0f} s",
        )
    alive = sum(1 for beat in beats if datetime.now(UTC) - beat <= WORKER_SILENCE_LIMIT)
    return redis, Check(ok=True, detail=f"{alive} alive on the {QUEUE_NAME!r} queue")


def _redis(app: Flask, url: str):
    """This process' Redis client for the checks, with short timeouts (kept per URL)."""
    from redis import Redis

    clients = app.extensions.setdefault("readiness_redis", {})
    if url not in clients:
        timeout = app.config["READINESS_TIMEOUT_SECONDS"]
        clients[url] = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    return clients[url]


def close_connections(app: Flask) -> None:
    """Close the checks' connections (tests, and a process that shuts down)."""
    engine = app.extensions.pop("readiness_engine", None)
    if engine is not None:
        engine.dispose()
    for client in app.extensions.pop("readiness_redis", {}).values():
        client.close()


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _log_changes(app: Flask, checks: dict[str, Check]) -> None:
    """Log a check when it fails and when it passes again, not at every poll."""
    failing = app.extensions.setdefault("readiness_failing", set())
    for name, check in checks.items():
        if not check.ok and name not in failing:
            failing.add(name)
            log.warning(
                "readiness: %s failing: %s%s",
                name,
                check.detail,
                f" ({check.cause})" if check.cause else "",
            )
        elif check.ok and name in failing:
            failing.discard(name)
            log.info("readiness: %s passes again: %s", name, check.detail)
