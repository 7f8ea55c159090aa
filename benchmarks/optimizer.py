"""Benchmark the optimizer against a greedy matcher and one direct CP-SAT model.

    .venv/bin/python -m benchmarks.optimizer [--sizes small,medium,large] [--seed N]
        [--time-limit SECONDS | --time-limit small=5,large=120] [--slot-minutes 60|30|15]
        [--out DIR]

For each size a round is generated (generator.generate_round, fixed seed), then each
method runs in a fresh Python process of its own, with the same time limit and its address
space capped, so wall time and peak memory belong to that run alone. Peak memory is the
child's own VmHWM (reported by the child, and polled by the parent in case it dies); the
ru_maxrss that wait4 returns would include the parent's peak, which Linux carries into a
child across fork and exec. Every solution is checked by ../shared/verify_round.py, and the table
shows what each method reached: hours, the bound it proves, the gap, apprentices paired.
The direct CP-SAT model of a large round may run out of memory or find nothing in time;
the table says so instead of a number.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.baselines import greedy_solution
from mentor_match.optimizer import load_problem, solve
from mentor_match.optimizer.exact import solve_exact
from mentor_match.optimizer.generator import generate_round
from mentor_match.optimizer.heuristic import Scheduler
from mentor_match.optimizer.model import build_arrays, find_candidates
from mentor_match.optimizer.solution import gap, solution_document, unmatched_reasons

REPO_ROOT = Path(__file__).resolve().parents[1]
VERIFY = REPO_ROOT.parent / "shared" / "verify_round.py"
SIZES = {  # name: (apprentices, masters, time limit in seconds)
    "small": (60, 20, 10.0),
    "medium": (1000, 200, 60.0),
    "large": (10000, 2000, 90.0),
}
METHODS = {
    "ours": "mentor_match.optimizer.solve",
    "greedy": "greedy (skill score, earliest slots)",
    "cp-sat": "direct CP-SAT, whole round, 2 workers",
}
GIB = 1024**3
SLOT_CHOICES = (60, 30, 15)


def generate_problem(n_apprentices: int, n_masters: int, *, seed: int, slot_minutes: int) -> dict:
    """The generator's realistic round with its time cut into `slot_minutes` slots: the
    generator adds people in zones that need the finer grid and draws windows on it."""
    return generate_round(n_apprentices, n_masters, seed=seed, slot_minutes=slot_minutes)


# --- One run, in its own process ------------------------------------------------------------


_CHILD_STARTED = time.monotonic()


def peak_rss_kib(pid: int | str) -> int | None:
    """VmHWM: the peak resident memory of this process image since it started (exec).

    Not ru_maxrss from wait4: Linux folds the high-water mark of the image an exec replaces
    into it, so a child spawned by a big parent would report the parent's peak as its own.
    """
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _phase(text: str) -> None:
    """A line for the parent's log, so a killed run can say what it was doing."""
    print(f"[{time.monotonic() - _CHILD_STARTED:8.1f} s] {text}", file=sys.stderr, flush=True)


def _run_cp_sat(
    document: dict, time_limit: float, seed: int, started: float
) -> tuple[dict | None, dict]:
    """The whole round as one CP-SAT model, no hint: what a direct model reaches alone."""
    arrays = build_arrays(load_problem(document))
    candidates = find_candidates(arrays)
    scheduler = Scheduler(arrays, candidates)
    favour = np.zeros(len(arrays.observing_slots), dtype=np.int64)
    remaining = max(0.1, time_limit - (time.monotonic() - started))
    _phase(
        f"{len(candidates.apprentice)} candidate pairs; building the CP-SAT model "
        f"(search limit {remaining:.1f} s once built)"
    )
    first_solution: list[float] = []

    def on_solution(slots: int, bound: int) -> None:
        if not first_solution:
            first_solution.append(time.monotonic() - started)
            _phase(f"first solution: {slots * arrays.slot_hours:g} h")

    result = solve_exact(
        scheduler, None, remaining, seed, favour, on_solution=on_solution, workers=2
    )
    info = {
        "session_variables": result.variables,
        "first_solution_seconds": first_solution[0] if first_solution else None,
        "proven_optimal": result.optimal,
    }
    if result.schedule is None:
        info["bound_hours"] = (
            None if result.bound_slots is None else result.bound_slots * arrays.slot_hours
        )
        return None, info
    bound = result.bound_slots if result.bound_slots is not None else result.schedule.slots
    stats = {
        "solve_seconds": round(time.monotonic() - started, 3),
        "method": METHODS["cp-sat"],
        "proven_optimal": result.optimal,
        "session_variables": result.variables,
    }
    unmatched = unmatched_reasons(arrays, candidates, result.schedule)
    return solution_document(arrays, candidates, result.schedule, bound, unmatched, stats), info


def run_child(
    method: str,
    problem_path: Path,
    solution_path: Path,
    report_path: Path,
    time_limit: float,
    seed: int,
    memory_cap_gib: float,
) -> int:
    """Run one method on one problem, write its solution and a small report; exit status."""
    cap = int(memory_cap_gib * GIB)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    report: dict = {"method": method, "status": "failed"}
    try:
        _phase(f"{method}: reading {problem_path.name}")
        document = json.loads(problem_path.read_text())
        started = time.monotonic()
        _phase(f"{method}: solving, time limit {time_limit:g} s")
        if method == "cp-sat":
            solution, info = _run_cp_sat(document, time_limit, seed, started)
        elif method == "ours":
            solution, info = solve(document, time_limit, seed=seed), {}
        elif method == "greedy":
            solution, info = greedy_solution(document, time_limit), {}
        else:
            raise ValueError(f"unknown method {method!r}")
        report.update(info, solve_seconds=round(time.monotonic() - started, 3))
        if solution is None:
            report["status"] = "no_solution"
            _phase("no solution")
        else:
            solution_path.write_text(json.dumps(solution, indent=1))
            report["status"] = "solved"
            _phase(f"solved: {solution['observation_hours']:g} h")
    except MemoryError:
        report["status"] = "out_of_memory"
        _phase(f"out of memory (address space capped at {memory_cap_gib:g} GiB)")
    finally:
        report["peak_rss_kib"] = peak_rss_kib("self")
        report_path.write_text(json.dumps(report))
    return 0 if report["status"] in ("solved", "no_solution") else 3


# --- The parent: generate, run each method, verify, tabulate ----------------------------------


@dataclass
class Run:
    """One method on one round, as measured from outside."""

    method: str
    status: str  # solved, no_solution, out_of_memory, killed, failed
    wall_seconds: float
    peak_mib: float
    solve_seconds: float | None = None
    note: str = ""
    hours: float | None = None
    upper_bound: float | None = None
    paired: int | None = None
    apprentices: int | None = None
    pairings: int | None = None
    valid: bool | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        return gap(self.hours, self.upper_bound)


def _last_line(path: Path) -> str:
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def run_method(
    method: str,
    problem_path: Path,
    work: Path,
    time_limit: float,
    seed: int,
    memory_cap_gib: float,
    kill_after: float,
) -> Run:
    """Run one method in a fresh process; wall time and peak memory are that process's alone."""
    solution_path = work / f"{method}.solution.json"
    report_path = work / f"{method}.report.json"
    log_path = work / f"{method}.log"
    for stale in (solution_path, report_path):
        stale.unlink(missing_ok=True)
    command = [
        sys.executable,
        "-m",
        "benchmarks.optimizer",
        "--child",
        method,
        "--problem",
        str(problem_path),
        "--solution",
        str(solution_path),
        "--report",
        str(report_path),
        "--time-limit",
        str(time_limit),
        "--seed",
        str(seed),
        "--memory-cap-gib",
        str(memory_cap_gib),
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    started = time.monotonic()
    with open(log_path, "w") as log:
        child = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
    timed_out = False
    peak_kib = 0
    while True:
        pid, status, _ = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        peak_kib = max(peak_kib, peak_rss_kib(child.pid) or 0)  # in case it dies unreported
        if time.monotonic() - started > kill_after:
            timed_out = True
            child.send_signal(signal.SIGKILL)
            pid, status, _ = os.wait4(child.pid, 0)
            break
        time.sleep(0.05)
    wall = time.monotonic() - started
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here; Popen must not wait again
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    peak_kib = max(peak_kib, report.get("peak_rss_kib") or 0)
    run = Run(method, "failed", wall, peak_kib / 1024)
    run.solve_seconds = report.get("solve_seconds")
    if timed_out:
        run.status = "killed"
        run.note = f"no solution in {kill_after:.0f} s; killed while: {_last_line(log_path)}"
    elif child.returncode < 0:
        name = signal.Signals(-child.returncode).name
        run.status = "killed"
        cause = "out of memory" if name in ("SIGKILL", "SIGABRT", "SIGSEGV") else "signal"
        run.note = f"killed by {name} ({cause}?) after: {_last_line(log_path)}"
    else:
        run.status = report.get("status", "failed")
        if run.status == "no_solution":
            run.note = f"no solution from a {time_limit:g} s search ({wall:.0f} s in all"
            if report.get("session_variables"):
                run.note += f"; the model has {report['session_variables']:,} session booleans"
            run.note += ")"
        elif run.status == "out_of_memory":
            run.note = f"out of memory under a {memory_cap_gib:g} GiB address-space cap"
        elif run.status == "failed":
            run.note = f"failed (exit {child.returncode}): {_last_line(log_path)}"
    if run.status == "solved":
        verify(run, problem_path, solution_path)
    return run


def verify(run: Run, problem_path: Path, solution_path: Path) -> None:
    """Check a solution with the independent checker and take its counts."""
    checked = subprocess.run(
        [sys.executable, str(VERIFY), str(problem_path), str(solution_path), "--json"],
        check=False,
        capture_output=True,
        text=True,
    )
    if checked.returncode not in (0, 1):
        run.valid = False
        run.errors = [f"verify_round.py failed: {checked.stderr.strip()}"]
        return
    report = json.loads(checked.stdout)
    solution = json.loads(solution_path.read_text())
    run.valid = report["valid"]
    run.errors = report["errors"]
    run.hours = report["observation_hours"]
    run.upper_bound = solution.get("upper_bound")
    run.paired = report["apprentices_paired"]
    run.apprentices = report["apprentices"]
    run.pairings = report["pairings"]


def _number(value, fmt: str = "{:,.0f}") -> str:
    return "-" if value is None else fmt.format(value)


def table(
    size: str, shape: tuple[int, int], time_limit: float, runs: list[Run], slot_minutes: int = 60
) -> str:
    """The side-by-side table for one size, with the ratios of ours to the others."""
    header = (
        f"{'method':<8} {'hours':>8} {'bound':>8} {'gap':>7} {'paired':>13} {'pairings':>8} "
        f"{'wall s':>7} {'solve s':>7} {'peak MiB':>8}  valid"
    )
    lines = [
        f"== {size}: {shape[0]} apprentices x {shape[1]} masters, {slot_minutes}-minute slots, "
        f"time limit {time_limit:g} s ==",
        header,
        "-" * len(header),
    ]
    for run in runs:
        paired = "-" if run.paired is None else f"{run.paired:,}/{run.apprentices:,}"
        valid = {True: "yes", False: "NO", None: "-"}[run.valid]
        lines.append(
            f"{run.method:<8} {_number(run.hours):>8} {_number(run.upper_bound):>8} "
            f"{_number(run.gap, '{:.1%}'):>7} {paired:>13} {_number(run.pairings):>8} "
            f"{run.wall_seconds:>7.1f} {_number(run.solve_seconds, '{:.1f}'):>7} "
            f"{run.peak_mib:>8.0f}  {valid}"
        )
        if run.note:
            lines.append(f"         {run.method}: {run.note}")
        for error in run.errors[:5]:
            lines.append(f"         {run.method} BROKEN: {error}")
    bounds = [r.upper_bound for r in runs if r.valid and r.upper_bound is not None]
    if bounds:
        best = min(bounds)
        gaps = ", ".join(
            f"{r.method} {(best - r.hours) / best:.1%}" for r in runs if r.valid and best
        )
        lines.append(f"best proven bound {best:,.0f} h; gap to it: {gaps}")
    by_method = {run.method: run for run in runs}
    ours = by_method.get("ours")
    for other in ("cp-sat", "greedy"):
        them = by_method.get(other)
        if ours is None or them is None:
            continue
        if not ours.valid:
            lines.append(f"ours/{other}: n/a (our solution is not valid)")
        elif not them.valid or them.hours is None:
            lines.append(
                f"ours/{other}: n/a ({other} has no valid solution: {them.note or them.status})"
            )
        else:
            hours = f"{ours.hours / them.hours:.2f}x" if them.hours else "inf"
            paired = f"{ours.paired / them.paired:.2f}x" if them.paired else "inf"
            lines.append(
                f"ours/{other}: hours {hours} ({ours.hours - them.hours:+,.0f} h), "
                f"apprentices paired {paired} ({ours.paired - them.paired:+,}), "
                f"peak memory {ours.peak_mib / them.peak_mib:.2f}x"
            )
    return "\n".join(lines)


def _time_limits(text: str | None, sizes: list[str]) -> dict[str, float]:
    limits = {size: SIZES[size][2] for size in sizes}
    if not text:
        return limits
    if "=" not in text:
        return {size: float(text) for size in sizes}
    for part in text.split(","):
        name, _, seconds = part.partition("=")
        if name not in SIZES:
            raise SystemExit(f"--time-limit: unknown size {name!r}")
        limits[name] = float(seconds)
    return limits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.optimizer", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sizes",
        default="small,medium,large",
        help="comma-separated, of "
        + ", ".join(f"{k}={v[0]}x{v[1]} ({v[2]:g} s)" for k, v in SIZES.items()),
    )
    parser.add_argument(
        "--methods", default="ours,greedy,cp-sat", help="comma-separated, of " + ", ".join(METHODS)
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="round generator and solver seed (default 0)"
    )
    parser.add_argument(
        "--time-limit", help="seconds for every size, or per size: small=5,large=120"
    )
    parser.add_argument(
        "--slot-minutes",
        type=int,
        choices=SLOT_CHOICES,
        default=60,
        help="slot size of the generated rounds, in minutes (default 60)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        help="directory for problems, solutions and logs (default: a new temporary one)",
    )
    parser.add_argument(
        "--memory-cap-gib",
        type=float,
        default=16.0,
        help="address-space cap for each run (default 16 GiB)",
    )
    parser.add_argument(
        "--kill-after",
        type=float,
        help="kill a run after this many seconds (default: 3x its limit, at least limit + 120 s)",
    )
    # The child side: one method, one problem (used by the parent; not for people).
    parser.add_argument("--child", choices=list(METHODS), help=argparse.SUPPRESS)
    parser.add_argument("--problem", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--solution", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        return run_child(
            args.child,
            args.problem,
            args.solution,
            args.report,
            float(args.time_limit),
            args.seed,
            args.memory_cap_gib,
        )

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    for name in sizes:
        if name not in SIZES:
            parser.error(f"unknown size {name!r}; choose from {', '.join(SIZES)}")
    for name in methods:
        if name not in METHODS:
            parser.error(f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    if not VERIFY.exists():
        parser.error(f"the independent checker is missing: {VERIFY}")
    limits = _time_limits(args.time_limit, sizes)
    out = args.out or Path(tempfile.mkdtemp(prefix="mentor-match-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    print(
        f"benchmark: sizes {', '.join(sizes)}; methods {', '.join(methods)}; seed {args.seed}; "
        f"{args.slot_minutes}-minute slots; "
        f"{os.cpu_count()} cores; files in {out}",
        flush=True,
    )
    tables, summary = [], []
    for size in sizes:
        n_apprentices, n_masters, _ = SIZES[size]
        limit = limits[size]
        kill_after = args.kill_after or max(3 * limit, limit + 120)
        work = out / size
        work.mkdir(exist_ok=True)
        problem_path = work / "problem.json"
        problem_path.write_text(
            json.dumps(
                generate_problem(
                    n_apprentices, n_masters, seed=args.seed, slot_minutes=args.slot_minutes
                )
            )
        )
        runs = []
        for method in methods:
            print(f"[{size}] {method}: running ({METHODS[method]}, {limit:g} s) ...", flush=True)
            run = run_method(
                method, problem_path, work, limit, args.seed, args.memory_cap_gib, kill_after
            )
            result = (
                f"{run.hours:,.0f} h, valid={run.valid}"
                if run.status == "solved"
                else run.note or run.status
            )
            print(
                f"[{size}] {method}: {result}; "
                f"{run.wall_seconds:.1f} s wall, {run.peak_mib:.0f} MiB peak",
                flush=True,
            )
            runs.append(run)
        text = table(size, (n_apprentices, n_masters), limit, runs, args.slot_minutes)
        print("\n" + text + "\n", flush=True)
        tables.append(text)
        summary.append(
            {
                "size": size,
                "apprentices": n_apprentices,
                "masters": n_masters,
                "time_limit": limit,
                "seed": args.seed,
                "slot_minutes": args.slot_minutes,
                "runs": [
                    {**run.__dict__, "gap": run.gap, "errors": run.errors[:20]} for run in runs
                ],
            }
        )
    final = "\n\n".join(tables)
    (out / "summary.txt").write_text(final + "\n")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print("=" * 30 + " final results " + "=" * 30)
    print(final)
    print(f"\n(problems, solutions, logs and summary.json in {out})")
    invalid = [run for entry in summary for run in entry["runs"] if run["valid"] is False]
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
