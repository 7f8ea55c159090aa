"""The summary of every person's scan: the lines to print and the verdict."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks.security.sqlmap import sqlmap_lines
from benchmarks.security.wapiti import wapiti_lines


def summarise(reports: list[dict], out: Path) -> tuple[list[str], bool, bool]:
    """Lines to print; whether there is a high finding; whether every scan completed."""
    lines, high, complete = [], False, True
    for report in reports:
        lines.append(
            f"== as {report['role']} ({report['email']}), {report['database']}, "
            f"{report['seconds'] / 60:.1f} min =="
        )
        uploads = report.get("uploads", {})
        if uploads.get("files") or uploads.get("notes"):
            lines.append(
                "  upload forms given a real file: "
                + (", ".join(sorted(uploads["files"])) or "none")
            )
            lines += [f"    {note}" for note in uploads["notes"]]
        for scan in report["scans"]:
            if scan.get("error"):
                complete = False
            if scan["scanner"] == "wapiti":
                high |= wapiti_lines(scan, lines)
            else:
                high |= sqlmap_lines(scan, lines)
            lines.append(
                f"  session still valid after the scan: {scan['session_survived']}"
                + (
                    f"; API token still valid: {scan['token_survived']}"
                    if "token_survived" in scan
                    else ""
                )
            )
            if scan.get("error"):
                lines.append(f"  INCOMPLETE: {scan['error']}")
        errors = Counter(report["server_errors"])
        lines.append(
            f"  server errors (tracebacks from the app in gunicorn.log): {sum(errors.values())}"
        )
        lines += [f"    {count} x {error[:160]}" for error, count in errors.most_common()]
        lines.append("")
    lines.append(f"reports in {out}")
    verdict = "FAIL: high findings" if high else "PASS: no high findings"
    if not complete:
        verdict += " (but a scan did not complete)"
    lines.append(verdict)
    return lines, high, complete
