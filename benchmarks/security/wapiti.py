"""wapiti: its crawl and attacks with the session cookie, through a shim that mends Debian's
wapiti 3.0.4, and its findings as the summary shows them."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections import Counter, defaultdict
from pathlib import Path

from benchmarks.security.processes import run_logged
from benchmarks.security.scope import EXCLUDED
from benchmarks.security.uploads import Uploads

WAPITI_MODULES = "common,-ssrf,crlf,csrf"
# Not attacked by wapiti: the observation form has one micro_skills checkbox per micro skill
# (49 in the demo), each an integer checked against the list of skills, and wapiti attacks
# every copy: that one form took most of each module's time. sqlmap still tests it.
WAPITI_SKIPPED_PARAMETERS = ["micro_skills"]
# Replaces wapiti 3.0.4's wildcard_translate, whose trailing (?ms) Python 3.11 refuses, and
# mends its multipart forms: it sends their text fields as file parts named after the field,
# so the CSRF token never arrives as a field; they go as fields, and each file field named in
# MM_SCAN_UPLOADS uploads that real file in place of wapiti's GIF (under the file name wapiti
# attacks).
WAPITI_SHIM = """
import re, sys
import wapitiCore.net.crawler as crawler
crawler.wildcard_translate = lambda pattern: re.compile(
    "(?ms)" + ".*".join(re.escape(part) for part in pattern.split("*")) + r"\\Z")
import json, os, requests
samples = {name: open(path, "rb").read()
           for name, path in json.loads(os.environ.get("MM_SCAN_UPLOADS", "{}")).items()}
session_post = requests.Session.post
def post(self, url, data=None, **kwargs):
    if kwargs.get("files"):
        kwargs["files"] = [
            (name, (None, value) if isinstance(value, str)
             else (value[0], samples[name], *value[2:]) if name in samples else value)
            for name, value in kwargs["files"]]
    return session_post(self, url, data=data, **kwargs)
requests.Session.post = post
from wapitiCore.main.wapiti import wapiti_main
sys.argv[0] = "wapiti"
sys.exit(wapiti_main())
"""
WAPITI_LEVELS = {0: "info", 1: "low", 2: "medium", 3: "high", 4: "critical"}
HIGH = 3


def wapiti_interpreter() -> str:
    """The Python that Debian's wapiti script runs under (its #! line)."""
    script = shutil.which("wapiti")
    if script is None:
        raise SystemExit("wapiti is not installed (apt-get install wapiti)")
    first = Path(script).read_text().splitlines()[0]
    return first[2:].strip() if first.startswith("#!") else "/usr/bin/python3"


def run_wapiti(args, port: int, cookie: dict, workdir: Path, uploads: Uploads) -> dict:
    """wapiti's crawl and attacks with the session cookie; its findings and what limited it."""
    base = f"http://127.0.0.1:{port}"
    cookie_file = workdir / "wapiti-cookies.json"
    cookie_file.write_text(
        json.dumps(
            {
                "127.0.0.1": {
                    "/": {
                        name: {
                            "value": value,
                            "expires": None,
                            "secure": False,
                            "port": None,
                            "version": 0,
                        }
                        for name, value in cookie.items()
                    }
                }
            }
        )
    )
    report = workdir / "wapiti.json"
    command = [
        wapiti_interpreter(),
        "-c",
        WAPITI_SHIM,
        "-u",
        f"{base}/",
        "--scope",
        "folder",
        "-s",
        f"{base}/dashboard",
        "-c",
        str(cookie_file),
        "-m",
        args.wapiti_modules,
        "--max-scan-time",
        str(args.crawl_seconds),
        "--max-attack-time",
        str(args.attack_seconds),
        # sneaky: a form that posts back to its own page with a fresh CSRF token (a new value
        # each second) is otherwise crawled up to 30 times, and each copy attacked
        "-S",
        "sneaky",
        "--max-files-per-dir",
        "30",
        "-t",
        "20",
        "--flush-session",
        "--store-session",
        str(workdir / "wapiti-session"),
        "-f",
        "json",
        "-o",
        str(report),
        "--no-bugreport",
        "-v",
        "1",
    ]
    for pattern in EXCLUDED:
        command += ["-x", base + pattern]
    for parameter in WAPITI_SKIPPED_PARAMETERS:
        command += ["--skip", parameter]
    # wapiti keeps its own limits, but a module checks its limit only between pages: this is
    # a safety net, for about 11 modules and slack
    budget = args.crawl_seconds + args.attack_seconds * 16 + 120
    files = {name: str(path) for name, path in uploads.files.items()}
    status, seconds = run_logged(
        command, workdir / "wapiti.log", budget, {"MM_SCAN_UPLOADS": json.dumps(files)}
    )
    result = {"scanner": "wapiti", "status": status, "seconds": seconds, "report": str(report)}
    if not report.exists():
        result["error"] = (
            f"no report (exit {status}, {'timed out' if status is None else 'see wapiti.log'})"
        )
        return result
    data = json.loads(report.read_text())
    findings = []
    for kind in ("vulnerabilities", "anomalies", "additionals"):
        for category, items in (data.get(kind) or {}).items():
            for item in items:
                level = int(item.get("level", 0))
                findings.append(
                    {
                        "kind": kind,
                        "category": category,
                        "level": level,
                        "severity": WAPITI_LEVELS.get(level, str(level)),
                        "method": item.get("method"),
                        "path": item.get("path"),
                        "parameter": item.get("parameter"),
                        "info": item.get("info"),
                    }
                )
    log = (workdir / "wapiti.log").read_text(errors="replace")
    result["findings"] = findings
    result["time_limited_modules"] = re.findall(
        r"Max attack time was reached for module (\w+)", log
    )
    result["crawl_time_limited"] = "Max scan time was reached" in log
    result["crawled"] = crawled_by_wapiti(workdir / "wapiti-session")
    return result


def crawled_by_wapiti(session_dir: Path) -> int | None:
    """How many resources wapiti's crawl stored (its session database), if it can be read."""
    for database in session_dir.glob("*.db"):
        try:
            with sqlite3.connect(database) as connection:
                return connection.execute("SELECT count(*) FROM paths").fetchone()[0]
        except sqlite3.Error:
            return None
    return None


def wapiti_lines(scan: dict, lines: list[str]) -> bool:
    """Add the wapiti scan's lines to the summary; whether it found anything high."""
    lines.append(
        f"  wapiti  {scan['seconds'] / 60:.1f} min, exit {scan['status']}, "
        f"{scan.get('crawled', '?')} resources crawled"
        + (" (crawl time limit reached)" if scan.get("crawl_time_limited") else "")
    )
    if "findings" not in scan:
        return False
    findings = scan["findings"]
    by_level = Counter(finding["severity"] for finding in findings)
    lines.append(
        "    by severity: "
        + (
            ", ".join(
                f"{WAPITI_LEVELS[level]} {by_level[WAPITI_LEVELS[level]]}"
                for level in sorted(WAPITI_LEVELS, reverse=True)
            )
            if findings
            else "nothing found"
        )
    )
    if scan.get("time_limited_modules"):
        lines.append(
            "    modules stopped at their time limit: " + ", ".join(scan["time_limited_modules"])
        )
    grouped = defaultdict(list)
    for finding in findings:
        grouped[(finding["level"], finding["kind"], finding["category"])].append(finding)
    for (level, kind, category), items in sorted(grouped.items(), key=lambda g: -g[0][0]):
        lines.append(f"    [{WAPITI_LEVELS.get(level, level)}] {category} ({kind}): {len(items)}")
        for item in items[:8]:
            where = f"{item['method']} {item['path']}"
            if item.get("parameter"):
                where += f" [{item['parameter']}]"
            info = " ".join((item.get("info") or "").split())
            lines.append(f"        {where}: {info[:150]}")
        if len(items) > 8:
            lines.append(f"        ... and {len(items) - 8} more in wapiti.json")
    return any(finding["level"] >= HIGH for finding in findings)
