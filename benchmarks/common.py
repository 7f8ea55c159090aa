"""Scratch databases for the benchmarks: which names one may wipe, and wiping it.

One rule for every benchmark that drops a schema: never PostgreSQL's own databases, never
the test suite's (`test`, which the suite empties), and never another benchmark's default
scratch database, so that two benchmarks on this machine do not wipe each other's seeds.
"""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
# PostgreSQL's own databases and the test suite's.
SHARED_DATABASES = frozenset({"test", "postgres", "template0", "template1"})
# Each benchmark's default scratch database, by benchmark; the others leave it alone.
BENCHMARK_DATABASES = {"rounds": "mentor_match_bench", "load": "mentor_match_load"}


def default_url(benchmark: str) -> str:
    """The local PostgreSQL URL of the benchmark's own scratch database."""
    return f"{SERVER}/{BENCHMARK_DATABASES[benchmark]}"


def refuse_unless_scratch(url: str, *, benchmark: str) -> None:
    """Exit unless the database is one the benchmark may wipe (see the module's rule)."""
    name = make_url(url).database
    others = {own for owner, own in BENCHMARK_DATABASES.items() if owner != benchmark}
    if not name or name in SHARED_DATABASES or name in others:
        raise SystemExit(
            f"refusing the database {name!r}: give a scratch database of this benchmark's own"
        )


def prepare_database(url: str, *, benchmark: str) -> str:
    """Create the PostgreSQL database if missing, drop and recreate its public schema; its
    server version. Exits for another backend or a database the benchmark may not wipe."""
    target = make_url(url)
    if not target.get_backend_name().startswith("postgresql"):
        raise SystemExit(f"--database-url must be PostgreSQL, not {target.get_backend_name()}")
    refuse_unless_scratch(url, benchmark=benchmark)
    name = target.database
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(name)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
                print(f"created database {name}", flush=True)
    finally:
        admin.dispose()
    engine = create_engine(target, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
            return connection.scalar(text("SELECT version()"))
    finally:
        engine.dispose()
