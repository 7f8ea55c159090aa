"""One person's scan: a fresh demo database and server, a log-in per scanner, each scanner
in turn, then whether the session survived and what tracebacks the app left in the log."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from benchmarks.common import prepare_database
from benchmarks.load import PROJECT_ROOT, Client, Server, User, log_in
from benchmarks.security.api import api_get, make_api_token
from benchmarks.security.scope import PEOPLE
from benchmarks.security.sqlmap import run_sqlmap, sqlmap_targets
from benchmarks.security.uploads import prepare_uploads
from benchmarks.security.wapiti import run_wapiti


def demo_database(url: str | None, workdir: Path) -> str:
    """A fresh database with the demo organisation; its URL. A new SQLite file in the
    workdir, or the scratch PostgreSQL database given, its schema dropped and made again."""
    if url is None:
        path = workdir / "demo.sqlite"
        path.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    else:
        prepare_database(url, benchmark="security")
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY="security-scan-not-secret",
        SITE_URL="http://127.0.0.1",
    )
    flask = PROJECT_ROOT / ".venv" / "bin" / "flask"
    if not flask.exists():
        flask = Path(sys.executable).parent / "flask"
    for command in (["db", "upgrade"], ["seed-demo"]):
        result = subprocess.run(
            [str(flask), "--app", "wsgi", *command],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise SystemExit(f"flask {' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return url


def dbms_of(url: str) -> str:
    """The back end's name as sqlmap's --dbms takes it."""
    return "PostgreSQL" if make_url(url).get_backend_name().startswith("postgresql") else "SQLite"


def session_alive(port: int, cookie: dict, token: str | None) -> tuple[bool, bool | None]:
    """Whether the log-in's cookie still opens the dashboard, and the API token still works."""
    probe = User("probe", 0, [], dict(cookie))
    client = Client(port, probe)
    try:
        status, _ = client.request("GET", "/dashboard")
    finally:
        client.close()
    api_ok = None
    if token:
        api_ok = api_get(port, token, "/api/v1/me")[0] == 200
    return status == 200, api_ok


def app_tracebacks(log_path: Path) -> list[str]:
    """Each traceback through the app in gunicorn's log: its exception and deepest app line."""
    try:
        log = log_path.read_text(errors="replace")
    except OSError:
        return []
    errors = []
    for block in log.split("Traceback (most recent call last):")[1:]:
        frames = re.findall(r'File "[^"]*/(mentor_match/[^"]+)", line (\d+)', block)
        if frames:
            lines = [line for line in block.splitlines() if line and not line.startswith(" ")]
            errors.append(f"{lines[0] if lines else '?'} (at {':'.join(frames[-1])})")
    return errors


def scan_as(role: str, args, out: Path) -> dict:
    """One person's scan (see the module): each scanner in turn on a fresh demo site."""
    workdir = out / role
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"[{role}] building a fresh demo database ...", flush=True)
    url = demo_database(args.database_url, workdir)
    # Rate limits would answer a scanner with 429s, and hide what the pages do.
    server = Server(url, 2, workdir / "gunicorn.log", {"RATELIMIT_ENABLED": "0"})
    report = {
        "role": role,
        "email": PEOPLE[role],
        "database": make_url(url).render_as_string(hide_password=True),
        "scans": [],
    }
    try:
        server.wait_ready()
        print(f"[{role}] gunicorn on port {server.port}", flush=True)
        preparer = User(PEOPLE[role], 0, [])
        log_in(server.port, preparer)
        uploads = prepare_uploads(server.port, preparer, workdir)
        report["uploads"] = {
            "files": {name: str(path) for name, path in uploads.files.items()},
            "notes": uploads.notes,
        }
        if uploads.files:
            print(f"[{role}] files to upload: {', '.join(sorted(uploads.files))}", flush=True)
        for scanner in args.scanners:
            # a fresh log-in per scanner: the idle limit (30 min) runs from the log-in
            user = User(PEOPLE[role], 0, [])
            log_in(server.port, user)
            cookie = dict(user.cookies)
            token = None
            if scanner == "wapiti":
                print(
                    f"[{role}] wapiti: crawl up to {args.crawl_seconds} s, then up to "
                    f"{args.attack_seconds} s per module ({args.wapiti_modules}) ...",
                    flush=True,
                )
                result = run_wapiti(args, server.port, cookie, workdir, uploads)
            else:
                token = make_api_token(server.port, user)
                targets, notes = sqlmap_targets(server.port, user, token, workdir, uploads)
                print(
                    f"[{role}] sqlmap: {len(targets)} targets from {notes['pages_crawled']} "
                    f"pages crawled, up to {args.sqlmap_target_seconds:g} s each and "
                    f"{args.sqlmap_minutes:g} min in all ...",
                    flush=True,
                )
                result = run_sqlmap(args, server.port, dbms_of(url), targets, workdir)
                result.update(notes)
                if result["timed_out"] or result["not_tested"]:
                    result["error"] = (
                        f"{len(result['timed_out'])} targets stopped at their "
                        f"limit, {len(result['not_tested'])} not tested"
                    )
            alive, api_alive = session_alive(server.port, cookie, token)
            result["session_survived"] = alive
            if token:
                result["token_survived"] = api_alive
            if not alive or api_alive is False:
                result.setdefault("error", "the scan's session or token was ended mid-scan")
            print(f"[{role}] {scanner} done in {result['seconds'] / 60:.1f} min", flush=True)
            report["scans"].append(result)
    finally:
        server.stop()
    report["server_errors"] = app_tracebacks(workdir / "gunicorn.log")
    report["seconds"] = time.monotonic() - started
    return report
