"""The production settings check: `python -m mentor_match.operations.settings`.

Run before anything starts (`make serve`, the Procfile's `release:` line). It names every
setting that is missing or wrong in one message and exits 1, so an operator fixes them all
at once instead of meeting them one traceback at a time; then it asks PostgreSQL and Redis
whether they answer. Values are never printed: they hold passwords.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .schedule import ScheduleError, read_schedule

# Shorter keys can be guessed offline from one signed cookie.
MIN_SECRET_KEY_LENGTH = 32
MAKE_A_KEY = "python -c 'import secrets; print(secrets.token_hex(32))'"
DATABASE_EXAMPLE = "postgresql+psycopg://mentor:PASSWORD@127.0.0.1:5432/mentor_match"
# The PostgreSQL driver installed with the site (psycopg 3); SQLAlchemy's plain postgresql://
# means psycopg2, which is not.
DATABASE_DRIVER = "postgresql+psycopg"
REDIS_SCHEMES = {"redis", "rediss", "unix"}
# How long the check waits for PostgreSQL or Redis to answer before saying it does not.
CONNECT_TIMEOUT_SECONDS = 5


def production_problems(environ: Mapping[str, str] | None = None) -> list[str]:
    """What is missing or wrong in the settings for production, one sentence each."""
    environ = os.environ if environ is None else environ
    problems = [
        *_secret_key_problems(environ.get("SECRET_KEY", "")),
        *_site_url_problems(environ.get("SITE_URL", "").strip()),
        *_database_problems(environ.get("DATABASE_URL", "").strip()),
        *_redis_problems(environ.get("REDIS_URL", "").strip()),
    ]
    try:
        read_schedule(environ)
    except ScheduleError as error:
        problems += error.problems
    return problems


def _secret_key_problems(key: str) -> list[str]:
    if not key:
        return [
            "SECRET_KEY is not set: set it to a long random value, the same in every process "
            f"(web, workers, scheduler), e.g. from {MAKE_A_KEY}."
        ]
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return [
            f"SECRET_KEY is {len(key)} characters long: use at least {MIN_SECRET_KEY_LENGTH} "
            f"random ones, e.g. from {MAKE_A_KEY}."
        ]
    return []


def _site_url_problems(url: str) -> list[str]:
    if not url:
        return [
            "SITE_URL is not set: set it to the address people use to reach the site, e.g. "
            "https://mentor.example.org (every link in mail is built on it)."
        ]
    site = urlsplit(url)
    if site.scheme not in {"http", "https"} or not site.hostname:
        return [
            "SITE_URL is not an http(s) address with a host name: write it like "
            "https://mentor.example.org."
        ]
    return []


def _database_problems(url: str) -> list[str]:
    if not url:
        return [
            "DATABASE_URL is not set: set it to the site's PostgreSQL database, e.g. "
            f"{DATABASE_EXAMPLE}."
        ]
    try:
        driver = make_url(url).drivername
    except ArgumentError:
        return [f"DATABASE_URL is not a database address: write it like {DATABASE_EXAMPLE}."]
    if driver == DATABASE_DRIVER:
        return []
    if driver.split("+")[0] in {"postgresql", "postgres"}:
        return [
            f"DATABASE_URL starts {driver}://, a driver this site does not use: write it "
            f"{DATABASE_DRIVER}://... (psycopg 3), e.g. {DATABASE_EXAMPLE}."
        ]
    return [
        f"DATABASE_URL names a {driver.split('+')[0]} database: production needs PostgreSQL, "
        f"which the web processes, workers and scheduler can write at once, e.g. "
        f"{DATABASE_EXAMPLE}."
    ]


def _redis_problems(url: str) -> list[str]:
    if not url:
        return [
            "REDIS_URL is not set: the workers and the scheduler share their jobs through "
            "Redis, e.g. redis://127.0.0.1:6379/0."
        ]
    if urlsplit(url).scheme not in REDIS_SCHEMES:
        return ["REDIS_URL is not a Redis address: write it like redis://127.0.0.1:6379/0."]
    return []


def unreachable_services(environ: Mapping[str, str] | None = None) -> list[str]:
    """Which of PostgreSQL and Redis, as the settings name them, does not answer, and why.

    Asked before the migrations and the processes start, so a wrong host or password is told
    in one line instead of a traceback from each process. The addresses are shown without
    their passwords.
    """
    environ = os.environ if environ is None else environ
    return [
        *_database_unreachable(environ["DATABASE_URL"].strip()),
        *_redis_unreachable(environ["REDIS_URL"].strip()),
    ]


def _database_unreachable(url: str) -> list[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    engine = create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        where = make_url(url).render_as_string(hide_password=True)
        return [f"DATABASE_URL: PostgreSQL at {where} does not answer: {reason}"]
    finally:
        engine.dispose()
    return []


def _redis_unreachable(url: str) -> list[str]:
    from redis import Redis
    from redis.backoff import NoBackoff
    from redis.exceptions import RedisError
    from redis.retry import Retry

    connection = Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), 0),  # one try: the answer is wanted now
    )
    try:
        connection.ping()
    except RedisError as error:
        address = urlsplit(url)
        where = f"{address.scheme}://{address.hostname or ''}" + (
            f":{address.port}" if address.port else ""
        )
        return [f"REDIS_URL: Redis at {where}{address.path} does not answer: {error}"]
    finally:
        connection.close()
    return []


def main() -> int:
    """Print what is wrong and return 1, or say the settings are fit to start and return 0."""
    problems = production_problems()
    if problems:
        count = len(problems)
        print(
            f"Not starting: {count} setting{'s' if count > 1 else ''} missing or wrong.",
            file=sys.stderr,
        )
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    unreachable = unreachable_services()
    if unreachable:
        print("Not starting: the site cannot reach what its settings name.", file=sys.stderr)
        for problem in unreachable:
            print(f"  - {problem}", file=sys.stderr)
        return 1
    print(
        "Settings checked: SECRET_KEY, SITE_URL, DATABASE_URL (PostgreSQL, answering) and "
        "REDIS_URL (answering)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
