"""Security scan: wapiti and sqlmap against a signed-in local server on a fresh demo database.

    make scan [SCAN_AS=admin] [SCAN_OUT=test-artifacts/security-scan] [SCAN_ARGS=...]
    .venv/bin/python -m benchmarks.security [--as apprentice|master|admin ...] [--out DIR]

README.md, "Security scans", is the manual: what each step does, what is not attacked and
why, and the findings that are not faults.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
from pathlib import Path

from benchmarks.security.scan import scan_as
from benchmarks.security.scope import PEOPLE
from benchmarks.security.summary import summarise
from benchmarks.security.wapiti import WAPITI_MODULES


def main(argv: list[str] | None = None) -> int:
    """Scan as each person asked for, write the reports and summary; the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.security", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--as",
        dest="roles",
        action="append",
        choices=sorted(PEOPLE),
        help="whom to scan as; repeat for several (default: apprentice)",
    )
    parser.add_argument("--out", type=Path, help="where reports go (default: a new temp dir)")
    parser.add_argument(
        "--database-url", help="a scratch PostgreSQL database (default: a new SQLite file)"
    )
    parser.add_argument(
        "--scanners",
        default="wapiti,sqlmap",
        help="which to run, in order (default: wapiti,sqlmap)",
    )
    parser.add_argument("--wapiti-modules", default=WAPITI_MODULES)
    parser.add_argument("--crawl-seconds", type=int, default=120, help="wapiti's crawl limit")
    parser.add_argument(
        "--attack-seconds",
        type=int,
        default=90,
        help="wapiti's limit per attack module (default 90)",
    )
    parser.add_argument(
        "--sqlmap-minutes",
        type=float,
        default=12.0,
        help="sqlmap's limit for all targets (default 12)",
    )
    parser.add_argument(
        "--sqlmap-target-seconds",
        type=float,
        default=120.0,
        help="sqlmap's limit per target (default 120)",
    )
    parser.add_argument("--level", type=int, default=2, help="sqlmap --level (default 2)")
    parser.add_argument("--risk", type=int, default=2, help="sqlmap --risk (default 2)")
    args = parser.parse_args(argv)
    # a SIGTERM unwinds like Ctrl-C, so the scanner's and gunicorn's process groups are stopped
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    args.scanners = [name.strip() for name in args.scanners.split(",") if name.strip()]
    if not set(args.scanners) <= {"wapiti", "sqlmap"}:
        parser.error("--scanners takes wapiti and/or sqlmap")
    out = args.out or Path(tempfile.mkdtemp(prefix="mentor-match-security-"))
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    print(f"reports go to {out}", flush=True)

    reports = [scan_as(role, args, out) for role in (args.roles or ["apprentice"])]
    (out / "report.json").write_text(json.dumps(reports, indent=1, default=str))
    lines, high, complete = summarise(reports, out)
    (out / "summary.txt").write_text("\n".join(lines) + "\n")
    print()
    print("\n".join(lines))
    if high:
        return 1
    return 0 if complete else 2
