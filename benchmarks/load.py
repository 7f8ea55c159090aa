"""Load benchmark: the site under gunicorn on PostgreSQL, 50 people browsing and booking.

    .venv/bin/python -m benchmarks.load [--people 10000] [--users 50] [--duration 30]
        [--workers 4] [--database-url URL] [--reuse] [--think MS]

An organisation of --people people (a fifth of them masters, a tenth of those also
apprentices, about 10% remote, one admin) is seeded in bulk with the seeding functions of
benchmarks.rounds, into a scratch PostgreSQL database (default `mentor_match_load`; never
`test` nor another benchmark's, as benchmarks.common rules). Every master is set open to
bookings. With --reuse an existing organisation of the same size is kept as it is
(bookings made by earlier runs stay, and ANALYZE refreshes the planner's statistics for
them). Each run's bookings fill the same 50 people's diaries, so their dashboards grow
heavier from run to run: compare --reuse runs only with each other in the order they ran,
and figures across changes on fresh seeds.

Then `gunicorn -w WORKERS --threads 1 --max-requests 0 wsgi:app` (the rest from the site's
gunicorn.conf.py) is started on a free local port with DATABASE_URL, a fixed SECRET_KEY and
COOKIE_SECURE=0, and --users distinct seeded
apprentices log in through the real log-in form (GET /login for the CSRF token, POST
/login). The load generator is pure Python: one thread per person, each with its own
keep-alive connection (reopened whenever gunicorn's sync workers close it) and its own
session cookie, sending requests back to back (closed loop, no think time unless --think)
for --duration seconds per scenario:

1. ceiling: GET /healthz, the health check: the cheapest request the same server answers
   through the whole Flask stack (every hook, the request id and its access log line), with no
   database, no session and no template;
2. signed-in floor: GET /account/password, the cheapest page a signed-in person can ask for
   (the session cookie, the person and their menu count, the page layout, a small form): no
   signed-in page can be cheaper, so it shows what part of the dashboard's cost is its own;
3. dashboard: GET /dashboard;
4. mixed: dashboard, diary (/sessions), month calendar (/sessions?view=month), availability
   calendar (/availability), a master's profile (/people/<id>), and a small share of
   bookings: the master's open times (GET /book/<id>?month=next) then POST /book/<id> with
   the first slot offered and the page's CSRF token. A refusal (the page again, 200, with a
   flash) counts as a success; only a status >= 500 or a connection error is an error.
   Other 4xx responses are counted apart.

Reported per scenario and per route: requests, requests per second, p50/p95/p99 latency
and errors, and the CPU time per request of the server (gunicorn's process group), of
PostgreSQL's processes, of this load generator and of the whole machine (from /proc);
then the ratio dashboard req/s / ceiling req/s and PASS/FAIL against the targets (p95 <
200 ms, no errors, dashboard >= 1/3 of the ceiling). The load generator runs on the same
machine and competes with gunicorn and PostgreSQL for its cores. The gunicorn process group
is always stopped at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import html
import http.client
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import create_engine, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from benchmarks import rounds
from benchmarks.common import default_url, prepare_database, refuse_unless_scratch

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = default_url("load")
SECRET_KEY = "load-benchmark-not-secret"
P95_TARGET_MS = 200.0
# The cheapest request the site answers, the measure of what the server can do at all.
CEILING_PATH = "/healthz"
RATIO_TARGET = 1 / 3
# The mixed scenario: route -> weight. "book" is a GET of the slots page then a POST.
MIX = {
    "dashboard": 25,
    "diary": 18,
    "month": 15,
    "availability": 15,
    "profile": 20,
    "book": 7,
}
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SLOT_RE = re.compile(r'name="starts_at" value="([^"]+)"')
MODE_RE = re.compile(r'name="mode" value="([^"]+)"')


# --- Seeding ---------------------------------------------------------------------------------


def _split(people: int) -> tuple[int, int]:
    """Masters and apprentices for rounds.seed so the organisation has `people` (plus admin)."""
    masters = max(1, people // 5)
    both = min(round(rounds.BOTH_SHARE * masters), people)
    return masters, people - masters + both


def _existing_people(url: str) -> int | None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.scalar(
                text("SELECT count(*) FROM people WHERE email LIKE 'person%@bench.example.com'")
            )
    except SQLAlchemyError:  # no schema yet
        return None
    finally:
        engine.dispose()


def seed_or_reuse(args) -> tuple[str, str, float | None]:
    """The organisation; (PostgreSQL version, what was done, seconds spent seeding)."""
    refuse_unless_scratch(args.database_url, benchmark="load")
    if args.reuse and _existing_people(args.database_url) == args.people:
        app, _ = rounds.build_app(args.database_url)
        from flask_migrate import upgrade

        with app.app_context():
            upgrade()  # an organisation seeded before a newer migration gets its columns
        engine = create_engine(args.database_url)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            version = connection.scalar(text("SELECT version()"))
            # Earlier runs' bookings came after the seed's ANALYZE. A server running autovacuum
            # would have counted them since; this machine's PostgreSQL runs without it, and
            # plans made for empty session tables (a nested loop over every seat) would be
            # measured instead of the pages.
            connection.execute(text("ANALYZE"))
        engine.dispose()
        return (
            version,
            (
                f"reused the {args.people:,} people already seeded, with the bookings "
                "of earlier runs (statistics refreshed by ANALYZE)"
            ),
            None,
        )
    version = prepare_database(args.database_url, benchmark="load")
    app, _ = rounds.build_app(args.database_url)
    from flask_migrate import upgrade

    from mentor_match.extensions import db
    from mentor_match.models import Person

    masters, apprentices = _split(args.people)
    with app.app_context():
        upgrade()
        seeded = rounds.seed(apprentices, masters, args.seed, datetime.now(UTC).date())
        db.session.execute(update(Person).where(Person.is_master).values(open_to_bookings=True))
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
    return (
        version,
        (
            f"seeded {seeded.people:,} people ({seeded.masters:,} masters, "
            f"{seeded.apprentices:,} apprentices, {seeded.both:,} both), "
            f"{seeded.weekly_windows:,} weekly windows, {seeded.person_skills:,} "
            f"person skills; every master open to bookings"
        ),
        seeded.seconds,
    )


@dataclass
class User:
    email: str
    person_id: int
    master_ids: list[int]  # masters open to bookings who host a skill this person develops
    cookies: dict = field(default_factory=dict)


def pick_users(url: str, count: int, rng_seed: int) -> list[User]:
    """Distinct apprentices, each with up to five masters who can teach them."""
    engine = create_engine(url)
    rng = random.Random(rng_seed)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT id, email FROM people WHERE is_apprentice AND active "
                    "AND email LIKE 'person%@bench.example.com' ORDER BY id"
                )
            ).all()
            chosen = rng.sample(rows, min(count, len(rows)))
            users = []
            for person_id, email in chosen:
                masters = connection.scalars(
                    text(
                        "SELECT DISTINCT m.person_id FROM person_skills m "
                        "JOIN person_skills a ON a.micro_skill_id = m.micro_skill_id "
                        "JOIN people p ON p.id = m.person_id "
                        "WHERE a.person_id = :me AND a.develops AND m.hosts AND p.is_master "
                        "AND p.active AND p.open_to_bookings AND m.person_id <> :me "
                        "ORDER BY m.person_id LIMIT 5"
                    ),
                    {"me": person_id},
                ).all()
                users.append(User(email, person_id, list(masters)))
    finally:
        engine.dispose()
    return users


# --- The server --------------------------------------------------------------------------------


class Server:
    """gunicorn in its own process group, always stopped by stop() (also at exit)."""

    def __init__(self, url: str, workers: int, log_path: Path, env: dict | None = None):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        # SITE_URL is the address it really serves: the site refuses requests for other hosts.
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": SECRET_KEY,
            "COOKIE_SECURE": "0",
            "REDIS_URL": "",
            "MAIL_SERVER": "",
            "SITE_URL": f"http://127.0.0.1:{self.port}",
            # Every simulated person signs in from 127.0.0.1: one client to the limits.
            "RATELIMIT_ENABLED": "0",
            **(env or {}),
        }
        self.log = open(log_path, "w")  # noqa: SIM115 (closed in stop())
        gunicorn = PROJECT_ROOT / ".venv" / "bin" / "gunicorn"
        if not gunicorn.exists():
            gunicorn = Path(sys.executable).parent / "gunicorn"
        self.command = [
            str(gunicorn),
            "-w",
            str(workers),
            "--threads",
            "1",
            "--backlog",
            "2048",
            # gunicorn reads the site's gunicorn.conf.py from the working directory; recycling
            # workers (WEB_MAX_REQUESTS) would restart them mid-scenario, costing latency to
            # app start-ups and hiding the CPU time of the workers that left.
            "--max-requests",
            "0",
            "-b",
            f"127.0.0.1:{self.port}",
            "wsgi:app",
        ]
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        atexit.register(self.stop)

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}; see {self.log.name}"
                )
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                # Ready means the database answers at the migrations' head, not just a socket.
                connection.request("GET", "/readyz")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready after {timeout:.0f} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if not self.log.closed:
            self.log.close()


# --- The client ----------------------------------------------------------------------------------


class Client:
    """One person's keep-alive connection and cookies."""

    def __init__(self, port: int, user: User | None):
        self.port = port
        self.user = user
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str]:
        headers = {"Host": f"127.0.0.1:{self.port}", "Connection": "keep-alive"}
        if self.user and self.user.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.user.cookies.items())
        payload = None
        if body is not None:
            payload = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, payload, headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # gunicorn's sync workers close the connection after each response
                self.connection.close()
                if attempt == 2:
                    raise
        if response.will_close:
            self.connection.close()
        if self.user is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(header)
                for name, morsel in jar.items():
                    if morsel["expires"] and "1970" in morsel["expires"] or morsel.value == "":
                        self.user.cookies.pop(name, None)
                    else:
                        self.user.cookies[name] = morsel.value
        return response.status, data.decode("utf-8", "replace")

    def close(self) -> None:
        self.connection.close()


def log_in(port: int, user: User) -> None:
    client = Client(port, user)
    try:
        status, page = client.request("GET", "/login")
        token = CSRF_RE.search(page)
        if status != 200 or not token:
            raise RuntimeError(f"GET /login: {status}, no CSRF token")
        status, page = client.request(
            "POST",
            "/login",
            {
                "csrf_token": html.unescape(token.group(1)),
                "email": user.email,
                "password": rounds_password(),
            },
        )
        if status != 302:
            raise RuntimeError(f"log-in of {user.email} failed: {status}")
        status, _ = client.request("GET", "/dashboard")
        if status != 200:
            raise RuntimeError(f"{user.email}: GET /dashboard after log-in gave {status}")
    finally:
        client.close()


def rounds_password() -> str:
    from mentor_match.demo.roster import DEMO_PASSWORD

    return DEMO_PASSWORD  # rounds.seed gives every seeded person this password's hash


@dataclass
class Stats:
    latencies: dict = field(default_factory=lambda: defaultdict(list))  # route -> [seconds]
    errors: dict = field(default_factory=lambda: defaultdict(int))  # route -> count
    client_errors: dict = field(default_factory=lambda: defaultdict(int))  # 4xx
    booked: int = 0
    refused: int = 0
    error_samples: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, route: str, seconds: float, status: int | None, note: str = "") -> None:
        with self.lock:
            self.latencies[route].append(seconds)
            if status is None or status >= 500:
                self.errors[route] += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"{route}: {status or note}")
            elif status >= 400:
                self.client_errors[route] += 1
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"{route}: {status} {note}")


def timed(
    stats: Stats, route: str, client: Client, method: str, path: str, body: dict | None = None
) -> tuple[int | None, str]:
    started = time.perf_counter()
    try:
        status, page = client.request(method, path, body)
    except (OSError, http.client.HTTPException) as problem:
        stats.add(route, time.perf_counter() - started, None, type(problem).__name__)
        client.close()
        return None, ""
    stats.add(route, time.perf_counter() - started, status, path)
    return status, page


def next_month() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year + today.month // 12}-{today.month % 12 + 1:02d}"


def one_step(scenario: str, client: Client, stats: Stats, rng: random.Random) -> None:
    if scenario == "ceiling":
        timed(stats, f"GET {CEILING_PATH}", client, "GET", CEILING_PATH)
        return
    if scenario == "dashboard":
        timed(stats, "GET /dashboard", client, "GET", "/dashboard")
        return
    if scenario == "floor":
        timed(stats, "GET /account/password", client, "GET", "/account/password")
        return
    user = client.user
    route = rng.choices(list(MIX), list(MIX.values()))[0]
    if route == "book" and not user.master_ids:
        route = "profile"
    if route == "dashboard":
        timed(stats, "GET /dashboard", client, "GET", "/dashboard")
    elif route == "diary":
        timed(stats, "GET /sessions", client, "GET", "/sessions")
    elif route == "month":
        timed(stats, "GET /sessions?view=month", client, "GET", "/sessions?view=month")
    elif route == "availability":
        timed(stats, "GET /availability", client, "GET", "/availability")
    elif route == "profile":
        person = rng.choice(user.master_ids) if user.master_ids else user.person_id
        timed(stats, "GET /people/<id>", client, "GET", f"/people/{person}")
    else:
        master = rng.choice(user.master_ids)
        path = f"/book/{master}?month={next_month()}"
        status, page = timed(stats, "GET /book/<id> (slots)", client, "GET", path)
        if status != 200:
            return
        token = CSRF_RE.search(page)
        slots = SLOT_RE.findall(page)
        modes = MODE_RE.findall(page)
        body = {
            "csrf_token": html.unescape(token.group(1)) if token else "",
            # no slot offered: a time the master cannot host, which the site refuses
            "starts_at": html.unescape(rng.choice(slots[:20]))
            if slots
            else f"{next_month()}-01T03:00:00+00:00",
            "hours": "1",
            "mode": modes[0] if modes else "virtual",
        }
        status, _ = timed(stats, "POST /book/<id>", client, "POST", path, body)
        with stats.lock:
            if status == 302:
                stats.booked += 1
            elif status == 200:
                stats.refused += 1


def run_scenario(
    scenario: str, port: int, users: list[User], duration: float, think: float, rng_seed: int
) -> tuple[Stats, float]:
    stats = Stats()
    start_gate = threading.Barrier(len(users) + 1)
    stop_at = [0.0]

    def worker(index: int, user: User) -> None:
        rng = random.Random(rng_seed * 1000 + index)
        client = Client(port, None if scenario == "ceiling" else user)
        start_gate.wait()
        try:
            while time.perf_counter() < stop_at[0]:
                one_step(scenario, client, stats, rng)
                if think:
                    time.sleep(rng.expovariate(1 / think))
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, args=(i, u), daemon=True) for i, u in enumerate(users)
    ]
    for thread in threads:
        thread.start()
    stop_at[0] = time.perf_counter() + duration
    started = time.perf_counter()
    start_gate.wait()
    for thread in threads:
        thread.join()
    return stats, time.perf_counter() - started


# --- Where the CPU goes ---------------------------------------------------------------------------


def _process_cpu(pid: int) -> tuple[float, int, str]:
    """(user + system seconds, process group, command name) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as handle:
        text = handle.read()
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, int(fields[2]), name


@dataclass
class CpuUse:
    """CPU seconds used so far by the server (gunicorn's process group), PostgreSQL's
    processes, this load generator, and the whole machine."""

    server: float
    database: float
    client: float
    machine: float

    @classmethod
    def now(cls, server_group: int) -> CpuUse:
        server = database = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                seconds, group, name = _process_cpu(int(entry))
            except (OSError, ValueError, IndexError):
                continue  # ended meanwhile
            if group == server_group:
                server += seconds
            elif name == "postgres":
                database += seconds
        mine = os.times()
        with open("/proc/stat") as handle:
            jiffies = [int(n) for n in handle.readline().split()[1:]]
        # All the time counted, less idle and iowait.
        busy = sum(jiffies) - jiffies[3] - (jiffies[4] if len(jiffies) > 4 else 0)
        return cls(server, database, mine.user + mine.system, busy / os.sysconf("SC_CLK_TCK"))

    def __sub__(self, other: CpuUse) -> CpuUse:
        return CpuUse(
            self.server - other.server,
            self.database - other.database,
            self.client - other.client,
            self.machine - other.machine,
        )

    def per_request(self, requests: int) -> str:
        n = max(requests, 1)
        return (
            f"  CPU per request: server {self.server / n * 1000:.2f} ms, PostgreSQL "
            f"{self.database / n * 1000:.2f} ms, load generator "
            f"{self.client / n * 1000:.2f} ms; "
            f"machine {self.machine / n * 1000:.2f} ms (all cores, kernel included)"
        )


# --- The report ----------------------------------------------------------------------------------


def percentile(ordered: list[float], share: float) -> float:
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


@dataclass
class Row:
    name: str
    requests: int
    rps: float
    p50: float
    p95: float
    p99: float
    errors: int
    client_errors: int


def summarise(
    name: str, latencies: list[float], errors: int, client_errors: int, elapsed: float
) -> Row:
    ordered = sorted(latencies)
    return Row(
        name,
        len(ordered),
        len(ordered) / elapsed,
        percentile(ordered, 0.5) * 1000,
        percentile(ordered, 0.95) * 1000,
        percentile(ordered, 0.99) * 1000,
        errors,
        client_errors,
    )


def table(rows: list[Row]) -> list[str]:
    header = (
        f"  {'route':<28} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7} {'4xx':>5}"
    )
    lines = [header, "  " + "-" * (len(header) - 2)]
    for row in rows:
        lines.append(
            f"  {row.name:<28} {row.requests:>9,} {row.rps:>8.1f} {row.p50:>8.1f} "
            f"{row.p95:>8.1f} {row.p99:>8.1f} {row.errors:>7} {row.client_errors:>5}"
        )
    return lines


def report_scenario(title: str, stats: Stats, elapsed: float) -> tuple[list[str], Row]:
    every = [s for values in stats.latencies.values() for s in values]
    total = summarise(
        "all", every, sum(stats.errors.values()), sum(stats.client_errors.values()), elapsed
    )
    rows = [
        summarise(
            route, stats.latencies[route], stats.errors[route], stats.client_errors[route], elapsed
        )
        for route in sorted(stats.latencies)
    ]
    lines = [f"{title} ({elapsed:.1f} s)"]
    lines += table(rows + [total] if len(rows) > 1 else rows)
    if stats.booked or stats.refused:
        lines.append(
            f"  bookings: {stats.booked} made (302), {stats.refused} refused with a "
            "flash (200, counted as successes)"
        )
    for sample in stats.error_samples:
        lines.append(f"  error sample: {sample}")
    return lines, total


def wrk_ceiling(port: int, users: int, duration: float) -> str | None:
    """wrk on the same endpoint, for information, when wrk is installed."""
    from shutil import which

    if not which("wrk"):
        return None
    result = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{users}",
            f"-d{int(duration)}s",
            "--latency",
            f"http://127.0.0.1:{port}{CEILING_PATH}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 30,
        check=False,
    )
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=50, help="concurrent people (default 50)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per scenario")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean think time between a person's requests, ms (default 0)",
    )
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_URL))
    parser.add_argument(
        "--reuse", action="store_true", help="keep an organisation of the same size already seeded"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-wrk", action="store_true", help="skip the wrk ceiling run")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    print(
        f"preparing {args.people:,} people in "
        f"{make_url(args.database_url).render_as_string(hide_password=True)} ...",
        flush=True,
    )
    version, seeded_note, seed_seconds = seed_or_reuse(args)
    print(seeded_note + (f" in {seed_seconds:.1f} s" if seed_seconds else ""), flush=True)
    users = pick_users(args.database_url, args.users, args.seed)
    if len(users) < args.users:
        raise SystemExit(f"only {len(users)} apprentices to log in as, not {args.users}")

    log_path = Path("/tmp") / f"mentor-match-load-gunicorn-{os.getpid()}.log"
    server = Server(args.database_url, args.workers, log_path)
    sections: list[str] = []
    results: dict[str, Row] = {}
    mixed_rows: dict[str, Row] = {}
    wrk_output = None
    try:
        server.wait_ready()
        gunicorn_version = subprocess.run(
            [server.command[0], "--version"], capture_output=True, text=True, check=False
        ).stdout.strip()
        print(
            f"gunicorn ready on port {server.port}; logging in {len(users)} people ...", flush=True
        )
        for user in users:
            log_in(server.port, user)
        # a short warm-up so each worker has imported, connected and cached templates
        run_scenario("mixed", server.port, users, 3.0, 0.0, args.seed + 99)
        for scenario, title in (
            ("ceiling", f"1. ceiling: GET {CEILING_PATH}, no cookie"),
            ("floor", "2. signed-in floor: GET /account/password, the cheapest signed-in page"),
            ("dashboard", "3. dashboards: GET /dashboard, each person signed in"),
            ("mixed", "4. mixed browsing and booking, each person signed in"),
        ):
            print(f"running {scenario} for {args.duration:g} s ...", flush=True)
            before = CpuUse.now(server.process.pid)
            stats, elapsed = run_scenario(
                scenario, server.port, users, args.duration, args.think / 1000, args.seed
            )
            used = CpuUse.now(server.process.pid) - before
            lines, total = report_scenario(title, stats, elapsed)
            sections += lines + [used.per_request(total.requests), ""]
            results[scenario] = total
            if scenario == "mixed":
                mixed_rows = {
                    route: summarise(
                        route,
                        stats.latencies[route],
                        stats.errors[route],
                        stats.client_errors[route],
                        elapsed,
                    )
                    for route in stats.latencies
                }
        if not args.no_wrk:
            print("wrk on the ceiling endpoint ...", flush=True)
            wrk_output = wrk_ceiling(server.port, args.users, min(args.duration, 15))
    finally:
        server.stop()
    server_errors = 0
    with contextlib.suppress(OSError):
        server_errors = log_path.read_text().count("Traceback")

    ceiling, dashboard = results["ceiling"], results["dashboard"]
    ratio = dashboard.rps / ceiling.rps if ceiling.rps else 0.0
    load_after = os.getloadavg()
    lines = [
        (
            f"== Load benchmark: {args.people:,} people, {args.users} concurrent, "
            f"{args.duration:g} s per scenario =="
        ),
        (
            f"machine      {os.cpu_count()} cores; Python {sys.version.split()[0]}; load average "
            f"{load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min; other work on the "
            "machine competes too)"
        ),
        f"PostgreSQL   {version}",
        (
            f"server       {gunicorn_version}: -w {args.workers} --threads 1 (sync workers: a "
            "connection per request), on 127.0.0.1"
        ),
        f"organisation {seeded_note}",
        (
            f"clients      {args.users} distinct seeded apprentices, logged in through POST "
            f"/login; one Python thread each, closed loop, think time {args.think:g} ms"
        ),
        (
            "caveat       the load generator, gunicorn and PostgreSQL share the same "
            f"{os.cpu_count()} cores: every figure is lower than a dedicated server would give, "
            "and the Python client (GIL) costs the most on the cheap ceiling endpoint"
        ),
        (
            f"ceiling      GET {CEILING_PATH} (the health check: every hook and the access log "
            "line, no database, no session)"
        ),
        "",
    ]
    lines += sections
    if wrk_output:
        lines += [
            (
                "wrk on the ceiling endpoint, for information (C client, less CPU than the "
                "Python one; the ratio below uses the Python client for both):"
            )
        ]
        lines += ["  " + line for line in wrk_output.splitlines()] + [""]
    lines.append(
        "note         a closed loop queues: by Little's law a request waits about "
        f"{args.users} people / req/s in all (e.g. {args.users / dashboard.rps * 1000:.0f} ms at "
        f"the dashboard's {dashboard.rps:.1f} req/s), so p95 < {P95_TARGET_MS:.0f} ms with "
        f"{args.users} people and no think time needs the server to answer over "
        f"{args.users / (P95_TARGET_MS / 1000):.0f} req/s"
        if not args.think
        else "note         with think time the offered load is paced, so req/s shows the pace, not "
        "the server's capacity: the ratio to the ceiling means little in this mode"
    )
    lines.append("")
    if server_errors:
        lines.append(f"gunicorn log {log_path}: {server_errors} tracebacks")
    verdicts = []

    def verdict(name: str, *, ok: bool, detail: str) -> None:
        verdicts.append(ok)
        lines.append(f"  {'PASS' if ok else 'FAIL'}  {name}: {detail}")

    lines.append("targets")
    for scenario in ("dashboard", "mixed"):
        row = results[scenario]
        verdict(
            f"p95 < {P95_TARGET_MS:.0f} ms ({scenario})",
            ok=row.p95 < P95_TARGET_MS,
            detail=f"{row.p95:.1f} ms",
        )
    worst = max(mixed_rows.values(), key=lambda r: r.p95) if mixed_rows else None
    if worst is not None:
        verdict(
            f"p95 < {P95_TARGET_MS:.0f} ms (slowest mixed route)",
            ok=worst.p95 < P95_TARGET_MS,
            detail=f"{worst.name} {worst.p95:.1f} ms",
        )
    errors = sum(row.errors for row in results.values())
    verdict(
        "no errors",
        ok=errors == 0,
        detail=f"{errors} (status >= 500 or connection errors, all scenarios)",
    )
    if args.think:
        lines.append(
            f"  n/a   dashboard req/s >= 1/3 of ceiling: {dashboard.rps:.1f} / "
            f"{ceiling.rps:.1f} = {ratio:.3f}, but both are paced by the think time; "
            "run without --think to measure it"
        )
    else:
        verdict(
            "dashboard req/s >= 1/3 of ceiling",
            ok=ratio >= RATIO_TARGET,
            detail=f"{dashboard.rps:.1f} / {ceiling.rps:.1f} = {ratio:.3f}",
        )
    print()
    print("\n".join(lines))
    return 0 if all(verdicts) else 2


if __name__ == "__main__":
    sys.exit(main())
