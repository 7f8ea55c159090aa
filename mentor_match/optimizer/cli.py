"""mentor-match-solve: solve a round problem file offline, within a time limit for the whole run.

    mentor-match-solve PROBLEM.json --time-limit SECONDS [--output SOLUTION.json] [--seed N]

Progress goes to stderr; the solution (mentor-match/solution@1) goes to --output, or to
stdout. Exit status: 0 with a solution, 2 for input the optimizer cannot use (the message
names the file, the line and column, or the field at fault), 130 when interrupted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import NoReturn, TextIO

from .interrupts import BackgroundWork, Interrupts, wait_for
from .problem import Problem, ProblemError, load_problem
from .solution import gap
from .solve import Cancelled, Progress, solve

PROGRAM = "mentor-match-solve"
EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# How long the solver may take to notice the cancel event (it looks between phases; a long
# flow computation on a large round runs to its end) before the process leaves without it.
CANCEL_GRACE_SECONDS = 2.0
HEARTBEAT_SECONDS = 5.0
MAX_SEED = 2**30 - 1


class BadInput(Exception):
    """Input a person can fix; the message says what and where."""


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as BadInput instead of exiting."""

    def error(self, message: str):
        raise BadInput(f"{message} (see {PROGRAM} --help)")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, not {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    # Kept within a 32-bit range, as CP-SAT and most tools take seeds.
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and {MAX_SEED}, not {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog=PROGRAM,
        description="Pair apprentices with masters and schedule their sessions for one round.",
        epilog="Exit status: 0 solved, 2 bad input, 130 interrupted. Progress goes to stderr.",
    )
    parser.add_argument(
        "problem",
        metavar="PROBLEM.json",
        help="round problem (mentor-match/round@1); - reads stdin",
    )
    parser.add_argument(
        "--time-limit",
        metavar="SECONDS",
        type=_seconds,
        required=True,
        help="wall-clock limit for the whole run, reading and writing included",
    )
    parser.add_argument(
        "--output",
        "-o",
        metavar="SOLUTION.json",
        help="where to write the solution (default: stdout)",
    )
    parser.add_argument(
        "--seed", type=_seed, default=0, help="random seed for the search (default 0)"
    )
    return parser


def process_started() -> float:
    """time.monotonic() at which this process started, so start-up counts against the limit."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat") as handle:
            # Field 22 (after the parenthesised command name) is the start in clock ticks.
            fields = handle.read().rsplit(")", 1)[1].split()
        started_ticks = int(fields[19])
        with open("/proc/uptime") as handle:
            uptime = float(handle.read().split()[0])
        age = uptime - started_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return now
    return now - min(max(age, 0.0), 60.0)


def _reject_constant(name: str):
    raise BadInput(f"{name} is not a number JSON allows")


def read_problem(path: str) -> Problem:
    """Read, parse and validate the problem file; BadInput says what is wrong and where."""
    label = "stdin" if path == "-" else path
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as failure:
        raise BadInput(f"cannot read {label}: {failure.strerror or failure}") from None
    try:
        text = raw.decode("utf-8-sig")  # JSON files are UTF-8 (RFC 8259); a BOM is tolerated
    except UnicodeDecodeError as failure:
        raise BadInput(
            f"{label}: not UTF-8 text ({failure.reason} at byte {failure.start})"
        ) from None
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as failure:
        raise BadInput(
            f"{label}: invalid JSON at line {failure.lineno}, column {failure.colno}: {failure.msg}"
        ) from None
    except BadInput as failure:
        raise BadInput(f"{label}: invalid JSON: {failure}") from None
    except RecursionError:
        raise BadInput(f"{label}: invalid JSON: nested too deeply") from None
    try:
        return load_problem(document)
    except ProblemError as failure:
        raise BadInput(f"{label}: {failure}") from None


def read_reserve_seconds(problem: Problem) -> float:
    """Time start-up and reading the problem are expected to take, from its size alone.

    Measured on 2 cores: 0.3 s for 80 people, 0.4 s for 1,200, 1.8 s for 12,000.
    """
    people = len(problem.apprentices) + len(problem.masters)
    return 0.4 + 120e-6 * people


def write_reserve_seconds(problem: Problem) -> float:
    """Time to keep back for turning the solution into JSON, writing it, and exiting.

    Measured on 2 cores: about 0.35 s for 10,000 apprentices and 2,000 masters.
    """
    people = len(problem.apprentices) + len(problem.masters)
    return 0.15 + 40e-6 * people


class ProgressPrinter:
    """Progress lines on stderr: every phase change, and at most one a second in between."""

    def __init__(self, stream: TextIO, clock_started: float, interval: float = 1.0):
        self.stream = stream
        self.clock_started = clock_started
        self.interval = interval
        self.lock = threading.Lock()
        self.phase: str | None = None
        self.hours: float | None = None
        self.bound: float | None = None
        self.last_line = -math.inf
        self.pending = False

    def elapsed(self) -> float:
        return time.monotonic() - self.clock_started

    def _line(self) -> str:
        parts = [f"{PROGRAM}: {self.elapsed():7.1f} s  {self.phase:<15}"]
        if self.hours is not None:
            parts.append(f"best {self.hours:g} h")
        if self.bound is not None:
            parts.append(f"bound {self.bound:g} h")
        share = gap(self.hours, self.bound)
        if share is not None:
            parts.append(f"gap {share:.1%}")
        return "  ".join(parts).rstrip()

    def _emit(self) -> None:
        print(self._line(), file=self.stream, flush=True)
        self.last_line = time.monotonic()
        self.pending = False

    def message(self, text: str) -> None:
        """A free-form line (reading, writing, warnings)."""
        with self.lock:
            print(f"{PROGRAM}: {self.elapsed():7.1f} s  {text}", file=self.stream, flush=True)
            self.last_line = time.monotonic()

    def __call__(self, progress: Progress) -> None:
        """The solver's on_progress callback (called from the solver thread)."""
        with self.lock:
            changed = progress.phase != self.phase
            self.phase = progress.phase
            if progress.observation_hours is not None:
                # Best so far: the exact search reports its own incumbents, which may start
                # below the heuristic's schedule that solve() keeps anyway.
                self.hours = max(self.hours or 0.0, progress.observation_hours)
            if progress.upper_bound is not None:
                self.bound = progress.upper_bound
            self.pending = True
            if changed or time.monotonic() - self.last_line >= self.interval:
                self._emit()

    def tick(self) -> None:
        """From the waiting thread: flush news held back by the throttle, or show we are alive."""
        with self.lock:
            if self.phase is None:
                return
            quiet_for = time.monotonic() - self.last_line
            if (self.pending and quiet_for >= self.interval) or quiet_for >= HEARTBEAT_SECONDS:
                self._emit()


def _open_output(path: str | None):
    """A temporary file beside --output (so a half-written solution never appears), or None."""
    if path is None:
        return None
    target = Path(path)
    if target.is_dir():
        raise BadInput(f"cannot write {path}: it is a directory")
    if target.exists() and not target.is_file():
        # A device or a pipe (/dev/null, a FIFO): written into, since renaming a file over it
        # would replace it (as root, even /dev/null itself).
        try:
            return target.open("wb")
        except OSError as failure:
            raise BadInput(f"cannot write {path}: {failure.strerror or failure}") from None
    try:
        # Kept open until the solution is written (or discarded): no context manager.
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "wb", dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        )
    except OSError as failure:
        raise BadInput(f"cannot write {path}: {failure.strerror or failure}") from None
    return handle


def _discard(handle) -> None:
    if handle is not None:
        handle.close()
        if _beside_output(handle):
            Path(handle.name).unlink(missing_ok=True)


def _beside_output(handle) -> bool:
    """Whether `handle` is the temporary file beside --output: a regular file, where an output
    written into in place is a device or a pipe (see `_open_output`)."""
    return Path(handle.name).is_file()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _leave_now(code: int) -> NoReturn:
    """Exit at once, for a solver thread that will not stop; no interpreter teardown under it."""
    sys.stderr.flush()
    os._exit(code)


def main(argv: list[str] | None = None, clock_started: float | None = None) -> int:
    """Run the command line; returns the exit status.

    From the command line (argv None) the clock starts when the process started, so
    interpreter start-up and imports count against --time-limit.
    """
    if clock_started is None:
        clock_started = process_started() if argv is None else time.monotonic()
    with Interrupts(_leave_signalled, signals=(signal.SIGINT, signal.SIGTERM)) as interrupts:
        return _run(argv, clock_started, interrupts)


def _leave_signalled(signum: int) -> NoReturn:
    """A second Ctrl-C (or SIGTERM): go now, whatever the solver is doing."""
    _leave_now(128 + signum)


def _run(argv: list[str] | None, clock_started: float, interrupts: Interrupts) -> int:
    stderr = sys.stderr
    printer = ProgressPrinter(stderr, clock_started)
    output = None
    try:
        args = _parser().parse_args(argv)
        output = _open_output(args.output)
        problem = read_problem(args.problem)
    except BadInput as failure:
        _discard(output)
        print(f"{PROGRAM}: error: {failure}", file=stderr)
        return EXIT_BAD_INPUT
    except SystemExit as done:  # --help
        return int(done.code or 0)
    if interrupts.received:
        _discard(output)
        return interrupts.exit_status

    # The work is planned from counts (the limit less the estimated start-up, reading and
    # writing), never from the clock, so the same input and seed give the same answer; the
    # clock only sets the deadline by which the solver must hand its answer back.
    work = args.time_limit - read_reserve_seconds(problem) - write_reserve_seconds(problem)
    deadline = clock_started + args.time_limit - write_reserve_seconds(problem)
    left = deadline - time.monotonic()
    printer.message(
        f"read {len(problem.apprentices)} apprentices and {len(problem.masters)} masters; "
        f"{max(left, 0):.1f} s left to solve"
    )
    if work < 0.1 * args.time_limit or left < 0.1 * args.time_limit:
        work = left = 0.1 * args.time_limit
        deadline = time.monotonic() + left
        printer.message(f"warning: too little time left; solving for {left:.1f} s, past the limit")

    worker = BackgroundWork(
        lambda: solve(
            problem,
            work,
            on_progress=printer,
            cancel=interrupts.cancel,
            seed=args.seed,
            deadline=deadline,
        ),
        name="mentor-match-solve",
    )
    printer(Progress("preparing", 0.0, None, None))
    wait_for(worker, interrupts, every=0.2, tick=printer.tick)
    if interrupts.received:
        printer.message("interrupted; stopping the solver")
        _discard(output)
        if not worker.done.wait(CANCEL_GRACE_SECONDS):
            _leave_now(interrupts.exit_status)
        return interrupts.exit_status
    if isinstance(worker.failure, Cancelled):  # cancelled by someone else; not expected here
        _discard(output)
        return 128 + signal.SIGINT
    if worker.failure is not None:
        _discard(output)
        raise worker.failure
    solution = worker.result
    assert solution is not None

    text = (json.dumps(solution, indent=2, ensure_ascii=False) + "\n").encode()
    try:
        if output is None:
            sys.stdout.buffer.write(text)
            sys.stdout.flush()
        else:
            with output:
                output.write(text)
            if _beside_output(output):
                os.chmod(output.name, 0o666 & ~_umask())  # as if opened plainly, not 0600
                os.replace(output.name, args.output)
    except OSError as failure:
        _discard(output)
        print(
            f"{PROGRAM}: error: cannot write {args.output or 'stdout'}: "
            f"{failure.strerror or failure}",
            file=stderr,
        )
        return EXIT_FAILED
    paired = len({pairing["apprentice"] for pairing in solution["pairings"]})
    hours, bound = solution["observation_hours"], solution["upper_bound"]
    share = gap(hours, bound) or 0.0
    printer.message(
        f"done: {hours:g} observation hours (bound {bound:g}, gap {share:.1%}), "
        f"{paired}/{len(problem.apprentices)} apprentices paired, "
        f"wrote {args.output or 'stdout'}"
    )
    return EXIT_OK


def cli() -> None:
    """The console script: run, then leave without interpreter teardown.

    Unloading OR-Tools and NumPy takes a few tenths of a second on a busy machine, time
    the limit has no room for; the solution is written and flushed by then.
    """
    code = main()
    sys.stdout.flush()
    _leave_now(code)
