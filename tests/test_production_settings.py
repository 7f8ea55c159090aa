"""What `make serve` refuses to start without, and how gunicorn.conf.py reads its environment."""

import os
import runpy
import subprocess
from pathlib import Path

import pytest

from mentor_match.operations.settings import production_problems, unreachable_services

REPO_ROOT = Path(__file__).resolve().parents[1]
# `make serve` without reinstalling: the suite runs on the installed virtualenv.
MAKE_SERVE = ["make", "--no-print-directory", "-o", ".venv/.installed", "serve"]

pytestmark = pytest.mark.database_independent

GOOD_SETTINGS = {
    "SECRET_KEY": "a-secret-key-of-forty-characters-exactly",
    "SITE_URL": "https://mentor.example.org",
    "DATABASE_URL": "postgresql+psycopg://mentor:secret@db.example.org:5432/mentor_match",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


# gunicorn.conf.py ---------------------------------------------------------------------------


def gunicorn_settings(monkeypatch, **environ) -> dict:
    for name in (
        "BIND",
        "HOST",
        "PORT",
        "WEB_CONCURRENCY",
        "WEB_TIMEOUT",
        "GUNICORN_ACCESS_LOG",
        "WEB_MAX_REQUESTS",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))


def test_gunicorn_listens_and_sizes_itself_from_the_environment(monkeypatch):
    cores = len(os.sched_getaffinity(0))
    defaults = gunicorn_settings(monkeypatch)
    assert (defaults["bind"], defaults["workers"], defaults["timeout"]) == (
        "127.0.0.1:8000",
        2 * cores + 1,
        30,
    )
    # The site logs each request itself (mentor_match/logs.py); gunicorn's line only on request.
    assert defaults["accesslog"] is None and defaults["forwarded_allow_ips"] == ""
    assert gunicorn_settings(monkeypatch, GUNICORN_ACCESS_LOG="-")["accesslog"] == "-"
    # Workers are recycled only on request: each restart loads the app again.
    assert defaults["max_requests"] == 0
    recycled = gunicorn_settings(monkeypatch, WEB_MAX_REQUESTS="5000")
    assert (recycled["max_requests"], recycled["max_requests_jitter"]) == (5000, 500)
    platform = gunicorn_settings(monkeypatch, HOST="0.0.0.0", PORT="5123", WEB_CONCURRENCY="3")
    assert (platform["bind"], platform["workers"]) == ("0.0.0.0:5123", 3)
    socket_file = gunicorn_settings(monkeypatch, BIND="unix:/run/mentor.sock", PORT="5123")
    assert socket_file["bind"] == "unix:/run/mentor.sock"


# The settings check ------------------------------------------------------------------------


def test_every_missing_setting_is_named_in_one_answer():
    assert production_problems({}) == [
        "SECRET_KEY is not set: set it to a long random value, the same in every process (web, "
        "workers, scheduler), e.g. from python -c 'import secrets; "
        "print(secrets.token_hex(32))'.",
        "SITE_URL is not set: set it to the address people use to reach the site, e.g. "
        "https://mentor.example.org (every link in mail is built on it).",
        "DATABASE_URL is not set: set it to the site's PostgreSQL database, e.g. "
        "postgresql+psycopg://mentor:PASSWORD@127.0.0.1:5432/mentor_match.",
        "REDIS_URL is not set: the workers and the scheduler share their jobs through Redis, "
        "e.g. redis://127.0.0.1:6379/0.",
    ]
    assert production_problems(GOOD_SETTINGS) == []


def test_a_sqlite_database_is_refused_for_production():
    settings = GOOD_SETTINGS | {"DATABASE_URL": "sqlite:////srv/mentor/instance/site.sqlite"}
    assert production_problems(settings) == [
        "DATABASE_URL names a sqlite database: production needs PostgreSQL, which the web "
        "processes, workers and scheduler can write at once, e.g. "
        "postgresql+psycopg://mentor:PASSWORD@127.0.0.1:5432/mentor_match."
    ]


def test_wrong_settings_are_named_without_showing_their_values():
    settings = {
        "SECRET_KEY": "short",
        "SITE_URL": "mentor.example.org",
        "DATABASE_URL": "postgres://mentor:hunter2@db.example.org/mentor",
        "REDIS_URL": "http://127.0.0.1:6379",
        "MAIL_EVERY_SECONDS": "0",
        "REMINDER_HORIZON_HOURS": "a day",
    }
    problems = production_problems(settings)
    assert problems == [
        "SECRET_KEY is 5 characters long: use at least 32 random ones, e.g. from python -c "
        "'import secrets; print(secrets.token_hex(32))'.",
        "SITE_URL is not an http(s) address with a host name: write it like "
        "https://mentor.example.org.",
        "DATABASE_URL starts postgres://, a driver this site does not use: write it "
        "postgresql+psycopg://... (psycopg 3), e.g. "
        "postgresql+psycopg://mentor:PASSWORD@127.0.0.1:5432/mentor_match.",
        "REDIS_URL is not a Redis address: write it like redis://127.0.0.1:6379/0.",
        "REMINDER_HORIZON_HOURS='a day' is not a whole number of hours of 1 or more.",
        "MAIL_EVERY_SECONDS='0' is not a whole number of seconds of 1 or more.",
    ]
    assert not any("hunter2" in problem or "short" in problem for problem in problems)


def test_make_serve_refuses_to_start_naming_what_is_missing():
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "SITE_URL", "DATABASE_URL", "REDIS_URL"}
        # nor the settings of a make that runs the suite (`make test`)
        and key not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    }
    env["DATABASE_URL"] = "sqlite:///instance/mentor_match.sqlite"
    done = subprocess.run(
        MAKE_SERVE, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "Not starting: 4 settings missing or wrong." in done.stderr
    for name in ("SECRET_KEY is not set", "SITE_URL is not set", "REDIS_URL is not set"):
        assert f"  - {name}" in done.stderr
    assert "DATABASE_URL names a sqlite database" in done.stderr
    # Nothing after the check ran: no migration, no processes.
    assert "db upgrade" not in done.stdout and "honcho start" not in done.stdout


def test_services_that_do_not_answer_are_named_without_their_passwords():
    # Port 1 on the loopback: nothing listens there, so each connection is refused at once.
    problems = unreachable_services(
        {
            "DATABASE_URL": "postgresql+psycopg://mentor:hunter2@127.0.0.1:1/mentor_match",
            "REDIS_URL": "redis://:hunter2@127.0.0.1:1/0",
        }
    )
    assert len(problems) == 2
    assert problems[0].startswith(
        "DATABASE_URL: PostgreSQL at postgresql+psycopg://mentor:***@127.0.0.1:1/mentor_match "
        "does not answer: "
    )
    assert problems[1].startswith("REDIS_URL: Redis at redis://127.0.0.1:1/0 does not answer: ")
    assert all("refused" in problem for problem in problems)
    assert not any("hunter2" in problem for problem in problems)
