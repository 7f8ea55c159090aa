"""sqlmap: its targets (our crawl, the uploads, the anonymous forms and the API), one run
per target within the overall limit, and what its logs say."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.load import User
from benchmarks.security.api import api_targets
from benchmarks.security.crawl import anonymous_targets, crawl_site, pattern_of
from benchmarks.security.processes import run_logged
from benchmarks.security.scope import CSRF_PARAMETERS
from benchmarks.security.targets import Target, request_text
from benchmarks.security.uploads import Uploads, upload_targets

# Not given to sqlmap: (method, path) -> why.
SQLMAP_LEFT_OUT = {
    ("POST", "/account/tokens"): "each request makes a token and the page lists them all, so "
    "sqlmap's page comparison never settles (it stalled 8 min on one parameter); wapiti "
    "attacks it",
}


def sqlmap_targets(
    port: int, user: User, token: str, workdir: Path, uploads: Uploads
) -> tuple[list, dict]:
    """Our crawl's links and forms, the uploads, the anonymous forms and the API; notes."""
    crawl = crawl_site(port, user, ["/dashboard", "/"])
    uploading = upload_targets(port, user, uploads)
    found = crawl.targets + uploading + anonymous_targets(port) + api_targets(port, token)
    covered = {pattern_of(target.path) for target in uploading}
    left_out = {
        pattern_of(path): "a file upload with no valid file to send: see the notes"
        for path in crawl.file_forms
        if pattern_of(path) not in covered
    }
    targets = []
    for target in found:
        path = urlsplit(target.path).path
        if (target.method, path) in SQLMAP_LEFT_OUT:
            left_out[path] = SQLMAP_LEFT_OUT[target.method, path]
        else:
            targets.append(target)
    (workdir / "crawl.json").write_text(
        json.dumps(
            {
                "pages": crawl.pages,
                "statuses": dict(crawl.statuses),
                "excluded": sorted(crawl.excluded),
                "left_out": left_out,
                "targets": [asdict(target) for target in targets],
            },
            indent=1,
        )
    )
    return targets, {
        "pages_crawled": len(crawl.pages),
        "left_out": left_out,
        "target_sources": dict(Counter(target.source for target in targets)),
    }


def run_sqlmap(args, port: int, dbms: str, targets: list[Target], workdir: Path) -> dict:
    """sqlmap on each target in turn, each with its own time limit, within the overall one."""
    if shutil.which("sqlmap") is None:
        raise SystemExit("sqlmap is not installed (apt-get install sqlmap)")
    requests_dir, logs_dir = workdir / "sqlmap-requests", workdir / "sqlmap-logs"
    for directory in (requests_dir, logs_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
    started = time.monotonic()
    outcomes = []
    for number, target in enumerate(targets, 1):
        name = f"{number:02d}-{re.sub(r'[^A-Za-z0-9]+', '_', target.path.split('?')[0]).strip('_')}"
        outcome = {
            "target": f"{target.method} {target.path}",
            "source": target.source,
            "log": str(logs_dir / f"{name}.log"),
        }
        outcomes.append(outcome)
        left = args.sqlmap_minutes * 60 - (time.monotonic() - started)
        if left < 10:
            outcome["status"] = "not tested: out of time"
            continue
        request_file = requests_dir / f"{name}.txt"
        request_file.write_text(request_text(target, port))
        command = [
            "sqlmap",
            "-r",
            str(request_file),
            "--batch",
            f"--level={args.level}",
            f"--risk={args.risk}",
            f"--dbms={dbms}",
            f"--param-exclude={CSRF_PARAMETERS}",
            "--skip=session,user-agent,referer",
            "--drop-set-cookie",
            "--flush-session",
            "--output-dir",
            str(workdir / "sqlmap"),
            "--disable-coloring",
            "--skip-waf",
            "--timeout=30",
            "-v",
            "1",
            "--ignore-stdin",  # else, with no terminal, sqlmap reads its targets from stdin
        ]
        status, seconds = run_logged(
            command, Path(outcome["log"]), min(args.sqlmap_target_seconds, left)
        )
        outcome.update(read_sqlmap_log(Path(outcome["log"])))
        outcome["seconds"] = round(seconds, 1)
        outcome["status"] = "timed out" if status is None else f"exit {status}"
    (workdir / "sqlmap-results.json").write_text(json.dumps(outcomes, indent=1))
    return {
        "scanner": "sqlmap",
        "seconds": time.monotonic() - started,
        "targets": len(targets),
        "report": str(workdir / "sqlmap-results.json"),
        "tested": sum(1 for o in outcomes if o["status"].startswith("exit")),
        "timed_out": [o["target"] for o in outcomes if o["status"] == "timed out"],
        "not_tested": [o["target"] for o in outcomes if o["status"].startswith("not tested")],
        "injectable": [
            f"{o['target']}: {point}" for o in outcomes for point in o.get("injectable", [])
        ],
        "not_injectable": sum(o.get("not_injectable", 0) for o in outcomes),
        "no_parameters": [o["target"] for o in outcomes if o.get("no_parameters")],
        "heuristic_hints": [
            f"{o['target']}: {hint}" for o in outcomes for hint in o.get("heuristic_hints", [])
        ],
        "errors": [f"{o['target']}: {error}" for o in outcomes for error in o.get("errors", [])],
    }


def read_sqlmap_log(path: Path) -> dict:
    """What sqlmap said about one target: injection points, parameters cleared, hints."""
    log = path.read_text(errors="replace") if path.exists() else ""
    injectable = []
    for block in re.findall(
        r"sqlmap identified the following injection point.*?\n---\n(.*?)\n---", log, re.S
    ):
        for parameter, place in re.findall(r"^Parameter: (.+?) \((.+?)\)$", block, re.M):
            titles = re.findall(r"^\s+Title: (.+)$", block, re.M)
            injectable.append(f"{place} parameter '{parameter}' ({'; '.join(titles)})")
    return {
        "injectable": injectable,
        "not_injectable": len(re.findall(r"parameter '[^']+' does not seem to be injectable", log)),
        "no_parameters": "no parameter(s) found for testing" in log,
        "heuristic_hints": sorted(
            set(
                re.findall(
                    r"heuristic \(basic\) test shows that (\S+ parameter '[^']+') "
                    r"might be injectable",
                    log,
                )
            )
        ),
        "errors": sorted(
            {
                message
                for message in re.findall(r"\[CRITICAL\] (.+)", log)
                if not message.startswith("all tested parameters do not appear to be injectable")
            }
        ),
    }


def sqlmap_lines(scan: dict, lines: list[str]) -> bool:
    """Add the sqlmap scan's lines to the summary; whether a parameter was injectable."""
    sources = ", ".join(f"{n} {source}" for source, n in scan.get("target_sources", {}).items())
    lines.append(
        f"  sqlmap  {scan['seconds'] / 60:.1f} min, {scan['targets']} targets "
        f"({sources}) from {scan.get('pages_crawled', '?')} pages crawled: "
        f"{scan['tested']} tested, {scan['not_injectable']} parameters not injectable"
    )
    injectable = scan["injectable"]
    lines.append(f"    injectable parameters: {len(injectable)}")
    lines += [f"        [high] {point}" for point in injectable]
    for label, items in (
        ("stopped at the per-target limit", scan["timed_out"]),
        ("not tested (out of time)", scan["not_tested"]),
        ("nothing to test", scan["no_parameters"]),
        ("heuristic hint only, not confirmed", scan["heuristic_hints"]),
        ("sqlmap said", scan["errors"]),
    ):
        lines += [f"    {label}: {item[:170]}" for item in items]
    for path, reason in scan.get("left_out", {}).items():
        lines.append(f"    left out: {path} ({reason})")
    return bool(injectable)
