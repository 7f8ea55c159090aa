"""Account enumeration by timing: do forgot-password and sign-up answer as fast either way?

    .venv/bin/python -m benchmarks.enumeration [--requests 40]

Builds a throwaway SQLite database with the migrations, one person, and times the answers
(in-process, Flask's test client, rate limits off) to POST /forgot-password and POST /signup
for a known and an unknown address, interleaved so drift hits both alike. Prints the median
and the 90th percentile of each, and their difference. The mail itself goes out in the
background either way and is not part of the answer.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from flask_migrate import upgrade

from mentor_match import create_app
from mentor_match.accounts.passwords import hash_password
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.models import Person
from mentor_match.rounds.queue import wait_for_background_jobs

PASSWORD = "a long enough phrase"


def _timed(client, path: str, data: dict) -> float:
    started = time.perf_counter()
    response = client.post(path, data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 302, (path, response.status_code)
    return elapsed * 1000


def _summary(label: str, samples: list[float]) -> str:
    p90 = statistics.quantiles(samples, n=10)[-1]
    return f"{label:<34} median {statistics.median(samples):7.2f} ms   p90 {p90:7.2f} ms"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.enumeration", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=40, help="answers timed per case")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="mm-enumeration-"))
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app(
        {
            **settings,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'enumeration.sqlite'}",
        }
    )
    with app.app_context():
        upgrade()
        db.session.add(
            Person(
                email="known@example.org",
                name="Known",
                timezone="UTC",
                password_hash=hash_password(PASSWORD),
                is_apprentice=True,
            )
        )
        db.session.commit()
    client = app.test_client()
    signup = {
        "name": "Someone",
        "password": PASSWORD,
        "confirm": PASSWORD,
        "is_apprentice": "y",
        "site": "0",
        "timezone": "UTC",
    }
    times: dict[str, list[float]] = {
        name: []
        for name in (
            "forgot-password, known address",
            "forgot-password, unknown address",
            "sign-up, known address",
            "sign-up, new address",
        )
    }
    with app.app_context():
        for n in range(args.requests + 3):  # the first three warm up and are not counted
            pairs = [
                (
                    "forgot-password, known address",
                    _timed(client, "/forgot-password", {"email": "known@example.org"}),
                ),
                (
                    "forgot-password, unknown address",
                    _timed(client, "/forgot-password", {"email": f"nobody{n}@example.org"}),
                ),
                (
                    "sign-up, known address",
                    _timed(client, "/signup", {**signup, "email": "known@example.org"}),
                ),
                (
                    "sign-up, new address",
                    _timed(client, "/signup", {**signup, "email": f"new{n}@example.org"}),
                ),
            ]
            wait_for_background_jobs()
            if n >= 3:
                for name, elapsed in pairs:
                    times[name].append(elapsed)
        db.engine.dispose()
    for name, samples in times.items():
        print(_summary(name, samples))
    for kind, known, unknown in (
        ("forgot-password", "forgot-password, known address", "forgot-password, unknown address"),
        ("sign-up", "sign-up, known address", "sign-up, new address"),
    ):
        gap = statistics.median(times[known]) - statistics.median(times[unknown])
        print(f"{kind}: known minus unknown, by median: {gap:+.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
