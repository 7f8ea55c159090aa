"""Real processes for tests: start one with its environment, wait until it is ready, stop it.

A test that needs the site as production runs it (gunicorn, `flask rounds worker`) starts it
with `StartedProcess`. Each one runs in a session of its own, so stopping it reaches every
process it started, even those that left its process group (RQ's work horses do), and its
output goes to a log file whose tail failure messages quote. Stopping waits for every
process and closes the log, so pytest (which turns warnings into errors) sees no
ResourceWarning. Linux only: the processes of a session are found through /proc.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# How long a stopped process may take to finish what it is doing before it is killed.
STOP_GRACE_SECONDS = 10.0
POLL_SECONDS = 0.1


class ProcessNotReady(RuntimeError):
    """A process exited, or did not become ready in time; the message quotes its log."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on now, for a server to bind next."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def session_members(session_id: int) -> list[int]:
    """The live processes (zombies left out) of a session, read from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # it ended while we looked
        # After the command name (which may hold spaces and parentheses): state ppid pgrp session
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[3]) == session_id:
            members.append(int(entry))
    return members


class StartedProcess:
    """One command running in its own session, its output in `log_path`."""

    def __init__(
        self,
        name: str,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        try:
            self.process = subprocess.Popen(
                list(command),
                cwd=cwd,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError:
            self._log.close()
            raise
        self.pid = self.process.pid
        self._stopped = False

    def __enter__(self) -> StartedProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log(self, tail: int = 4000) -> str:
        """The end of what the process wrote, for failure messages."""
        return self.log_path.read_text(errors="replace")[-tail:]

    def log_size(self) -> int:
        """Where the log ends now, for `log_since`."""
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        """What the process wrote after the log was `offset` bytes long."""
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def _refuse(self, what: str) -> ProcessNotReady:
        return ProcessNotReady(f"{self.name} {what}. Its log ends:\n{self.log()}")

    def _check_running(self) -> None:
        if self.process.poll() is not None:
            raise self._refuse(f"exited with status {self.process.returncode}")

    def wait_for_http(
        self, host: str, port: int, *, path: str = "/", timeout: float = 30.0
    ) -> None:
        """Return once an HTTP request to host:port gets any answer; raise if the process ends
        or none comes within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            self._check_running()
            connection = http.client.HTTPConnection(host, port, timeout=2)
            try:
                connection.request("GET", path)
                connection.getresponse().read()
                return
            except OSError:
                pass  # not listening yet
            finally:
                connection.close()
            if time.monotonic() > deadline:
                raise self._refuse(f"did not answer HTTP on {host}:{port} within {timeout:g} s")
            time.sleep(POLL_SECONDS)

    def wait_for_log(self, text: str, *, timeout: float = 30.0) -> None:
        """Return once the log holds `text`; raise if the process ends or it takes too long."""
        deadline = time.monotonic() + timeout
        while text not in self.log_path.read_text(errors="replace"):
            self._check_running()
            if time.monotonic() > deadline:
                raise self._refuse(f"did not write {text!r} within {timeout:g} s")
            time.sleep(POLL_SECONDS)

    def wait_until_done(self, *, timeout: float = 60.0) -> None:
        """For a command that finishes (a migration): wait for it, and raise unless it succeeded."""
        try:
            status = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise self._refuse(f"did not finish within {timeout:g} s") from None
        self.stop()
        if status != 0:
            raise self._refuse(f"exited with status {status}")

    def terminate(self) -> None:
        """Ask the process group to stop (SIGTERM) without waiting; `stop` waits."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)

    def stop(self, *, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the process group (a graceful stop), SIGKILL whatever of the session is left
        after `grace` seconds, and wait for all of it. Safe to call twice: the second time does
        nothing (the session's id, once free, may be another process's)."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.terminate()
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=grace)
        # Processes that left the group (into a group of their own) are still in the session.
        # They are not our children, so none can be waited for: wait until /proc lets them go.
        deadline = time.monotonic() + grace
        while members := session_members(self.pid):
            for pid in members:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            if time.monotonic() > deadline:
                break
            time.sleep(POLL_SECONDS)
        self._log.close()


def stop_all(processes: Sequence[StartedProcess]) -> None:
    """Stop several processes, asking all of them first, so their graceful stops overlap."""
    for process in processes:
        process.terminate()
    for process in processes:
        process.stop()
