"""Running a scanner: in its own process group, logged, and stopped at its time limit."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def run_logged(
    command: list[str], log_path: Path, timeout: float, env: dict | None = None
) -> tuple[int | None, float]:
    """Run a scanner in its own process group; (exit status or None if timed out, seconds)."""
    started = time.monotonic()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command,
            cwd=log_path.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "TERM": "dumb", **(env or {})},
            start_new_session=True,
        )
        try:
            status = process.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            if process.poll() is None:
                for sig, grace in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
                    try:
                        os.killpg(process.pid, sig)
                    except ProcessLookupError:
                        break
                    try:
                        process.wait(grace)
                        break
                    except subprocess.TimeoutExpired:
                        continue
    return status, time.monotonic() - started
