"""Flask extensions, created unbound and attached to the app in create_app."""

import time
import weakref

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic revisions are the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _sqlite_enforces_foreign_keys(dbapi_connection, connection_record) -> None:
    """SQLite ignores ON DELETE rules unless asked per connection; PostgreSQL always keeps them."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def init_reads(app) -> None:
    """Let page views (GET, HEAD, OPTIONS) on PostgreSQL read in autocommit mode.

    At PostgreSQL's READ COMMITTED every statement takes its own snapshot in a transaction
    too, so a request that only reads gives up nothing; it saves the BEGIN and ROLLBACK
    round trips, and psycopg keeps the statements it has prepared (it forgets them all at
    every ROLLBACK), so PostgreSQL stops planning the dashboard's statements afresh on each
    visit. No GET changes state (tests/test_authorization.py walks every route to show it)
    but for an API token's last-used time, one single-row UPDATE, saved alike either way.
    Registered before any other hook, so it runs before the signed-in person is loaded.
    """
    from flask import g, request

    @app.before_request
    def read_in_autocommit() -> None:
        if request.method not in SAFE_METHODS or request.endpoint == "static":
            return
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if getattr(view, "for_machines", False):
            return  # the health checks: no connection for the request (security.for_machines)
        if db.engine.dialect.name != "postgresql" or db.session().in_transaction():
            return
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.read_in_autocommit = True

    @app.teardown_request
    def end_autocommit_read(error: BaseException | None) -> None:
        # Hand the connection back, its isolation level reset, as the request ends (the app
        # context's end does the same in production; tests keep one context across requests).
        if g.pop("read_in_autocommit", False):
            db.session.rollback()


def init_connection_checks(app) -> None:
    """Check a pooled connection before use only when it has sat idle for a while.

    SQLAlchemy's pool_pre_ping checks every connection at every checkout: one more round trip
    on every page, though under traffic a connection comes back to the pool and goes out again
    within milliseconds. As PgBouncer does (server_check_delay), a connection is checked only
    when it has been idle for DATABASE_CHECK_AFTER_IDLE_SECONDS; one that fails its check is
    replaced before the request sees it. A database restarted while a connection was in use a
    moment ago still fails that one statement, and SQLAlchemy then renews the whole pool.
    """
    idle_limit = app.config["DATABASE_CHECK_AFTER_IDLE_SECONDS"]
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        _check_after_idle(engine, idle_limit)


_clock = time.monotonic  # replaced in tests to let time pass


def _check_after_idle(engine: Engine, idle_limit: float) -> None:
    @event.listens_for(engine, "checkin")
    def note_when_idle_began(dbapi_connection, record) -> None:
        record.info["idle_since"] = _clock()

    @event.listens_for(engine, "checkout")
    def check_if_idle_long(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or _clock() - idle_since < idle_limit:
            return  # new, or back in the pool a moment ago
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and checks out another (a new one if need be).
            raise DisconnectionError(f"an idle connection failed its check: {error}") from error


def init_read_only_commits(app) -> None:
    """On PostgreSQL, end a transaction that wrote nothing with COMMIT, not ROLLBACK.

    For a transaction that only read (or locked rows to read them) the two are the same to
    the database. Not to psycopg: at every ROLLBACK it forgets all the statements it has
    prepared on that connection (and sends DEALLOCATE ALL), so PostgreSQL plans every
    statement afresh until each has run five times again. Form posts end in a rollback when
    a service refuses (a booking past the month's hours) and when the page they re-render is
    read after it; each one cost the next page views on that connection their prepared
    statements. A statement other than a SELECT (INSERT, UPDATE, DELETE, SAVEPOINT, SET,
    anything unknown) marks the transaction as written, and then ROLLBACK is kept, as it
    is for a transaction in error. Nothing here issues a SELECT that writes.
    """
    with app.app_context():
        engines = [e for e in db.engines.values() if e.dialect.name == "postgresql"]
    for engine in engines:
        _commit_read_only_transactions(engine)


def _commit_read_only_transactions(engine: Engine) -> None:
    from psycopg.pq import TransactionStatus

    wrote: weakref.WeakSet = weakref.WeakSet()  # DBAPI connections whose transaction wrote
    dialect = engine.dialect
    rollback, commit = dialect.do_rollback, dialect.do_commit

    @event.listens_for(engine, "before_cursor_execute")
    def note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip()[:6].upper() != "SELECT":
            wrote.add(cursor.connection)

    def do_rollback(dbapi_connection) -> None:
        raw = getattr(dbapi_connection, "dbapi_connection", dbapi_connection)  # the pool's proxy
        if raw in wrote or raw.info.transaction_status != TransactionStatus.INTRANS:
            wrote.discard(raw)
            rollback(dbapi_connection)
            return
        try:
            commit(dbapi_connection)  # only reads to end: the same as a rollback, statements kept
        except Exception:  # noqa: BLE001 - whatever went wrong, a rollback is what was asked
            rollback(dbapi_connection)

    def do_commit(dbapi_connection) -> None:
        wrote.discard(getattr(dbapi_connection, "dbapi_connection", dbapi_connection))
        commit(dbapi_connection)

    dialect.do_rollback = do_rollback
    dialect.do_commit = do_commit
