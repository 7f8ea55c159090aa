"""Flask extensions, created unbound and attached to the app in create_app."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
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
