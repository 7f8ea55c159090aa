"""Runs through a real Redis queue and real `flask rounds worker` processes, and `flask rounds run`.

The worker is a separate process (`.venv/bin/flask --app wsgi rounds worker`) on the test
database, so what these tests prove is what happens in production: a job delivered twice
runs once, and a worker killed mid-run publishes nothing and is noticed by its silence.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from mentor_match.extensions import db
from mentor_match.models import (
    Pairing,
    RoundRun,
    RoundStatus,
    RunStatus,
    ShadowingSession,
    utcnow,
)
from mentor_match.rounds import jobs, runs
from mentor_match.rounds import queue as job_queue

from .conftest import REDIS_URL
from .database import count
from .factories import (
    make_big_round_organisation,
    make_round,
    make_small_round_organisation,
)

REPO_ROOT = Path(__file__).resolve().parents[1]
FLASK = REPO_ROOT / ".venv" / "bin" / "flask"
# The worker processes fail a run whose heartbeat is this old; the test app uses the same.
STALE_SECONDS = 3.0
# Production's heartbeat interval (Config.ROUND_HEARTBEAT_SECONDS), which the workers use.
WORKER_HEARTBEAT_SECONDS = 2.0
# Runs a command with Ctrl-C's default action: a shell without job control starts background
# jobs with SIGINT ignored, which children inherit, and the CLI must see Ctrl-C as in a terminal.
DEFAULT_SIGINT = [
    sys.executable,
    "-c",
    (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
        "os.execv(sys.argv[1], sys.argv[1:])"
    ),
]


# Fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def redis_queue(app, monkeypatch, redis_connection):
    """This worker's empty Redis database (conftest) for the queue; the app dispatches to it
    for this test."""
    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    monkeypatch.setitem(app.config, "ROUND_RUN_STALE_SECONDS", STALE_SECONDS)
    return redis_connection


class WorkerProcess:
    """One `flask rounds worker` in its own session, with its log kept for failure messages."""

    def __init__(self, app, log_path: Path) -> None:
        env = dict(os.environ)
        env.update(
            {
                "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                "REDIS_URL": REDIS_URL,
                "ROUND_RUN_STALE_SECONDS": str(STALE_SECONDS),
                "SECRET_KEY": "worker-test-secret",
                "SITE_URL": app.config["SITE_URL"],
                "PYTHONUNBUFFERED": "1",
            }
        )
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [str(FLASK), "--app", "wsgi", "rounds", "worker"],
            cwd=REPO_ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.pid = self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def session_pids(self) -> list[int]:
        """Every process of the worker's session: the worker and the work horse it forked.

        RQ puts each work horse in a process group of its own (os.setpgrp), so killing the
        worker's process group would leave the horse running; the session holds both.
        """
        return [pid for pid, _, sid in _processes() if sid == self.pid]

    def horse_pids(self) -> list[int]:
        return [pid for pid, ppid, _ in _processes() if ppid == self.pid]

    def kill_all(self) -> None:
        """SIGKILL the worker and its horse at once, as a machine or container dying would."""
        for pid in self.session_pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        # The horse is not our child, so nothing here waits for it; a killed process runs no
        # more code but takes a moment to be torn down (a large solve's memory, on a busy
        # machine), and until then /proc still lists it.
        deadline = time.monotonic() + 5
        while self.session_pids() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None or self.session_pids():
            self.kill_all()
        self._log.close()


def _processes() -> list[tuple[int, int, int]]:
    """(pid, parent pid, session id) of every process, read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces): state ppid pgrp session ...
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z":
            found.append((int(entry), int(fields[1]), int(fields[3])))
    return found


@pytest.fixture
def start_worker(app, redis_queue, tmp_path):
    """start_worker() starts a real worker process; every one is killed after the test."""
    if not sys.platform.startswith("linux"):
        pytest.skip("the worker tests find work horses through /proc")
    started: list[WorkerProcess] = []

    def _start() -> WorkerProcess:
        worker = WorkerProcess(app, tmp_path / f"worker-{len(started) + 1}.log")
        started.append(worker)
        return worker

    yield _start
    for worker in started:
        worker.stop()


@pytest.fixture
def organisation():
    """Two masters of anchoring and three apprentices, free on Tuesday and Thursday mornings."""
    return make_small_round_organisation("Worker HQ")


@pytest.fixture
def big_organisation():
    """20 masters and 80 apprentices: a run is still solving when a test kills its worker."""
    make_big_round_organisation()


# Helpers -----------------------------------------------------------------------------------


def fresh_run(run_id: int) -> RoundRun:
    """The run as the database has it now (the worker writes it from another process)."""
    db.session.rollback()
    db.session.expire_all()
    return db.session.get(RoundRun, run_id)


def wait_for(
    condition, timeout: float, what: str, every: float = 0.1, worker: WorkerProcess | None = None
):
    """Poll condition() until it returns something truthy; fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            log = f"\nworker log:\n{worker.log()}" if worker is not None else ""
            pytest.fail(f"Waited {timeout:g} s for {what}{log}")
        time.sleep(every)


def wait_until_finished(
    run_id: int, timeout: float, worker: WorkerProcess | None = None
) -> RoundRun:
    return wait_for(
        lambda: (run := fresh_run(run_id)) and not run.status.is_active and run,
        timeout,
        f"run {run_id} to finish",
        worker=worker,
    )


def wait_until_solving(run_id: int, timeout: float, worker: WorkerProcess) -> RoundRun:
    """Wait until the worker has claimed the run and saved its problem snapshot."""

    def solving():
        run = fresh_run(run_id)
        assert run.status in (RunStatus.QUEUED, RunStatus.RUNNING), (run.status, run.error)
        return run if run.status is RunStatus.RUNNING and run.problem_json else None

    return wait_for(solving, timeout, f"run {run_id} to be solving", worker=worker)


def rq_job(connection, job_id: str):
    from rq.job import Job

    return Job.fetch(job_id, connection=connection)


# a. A dispatched run is done by the worker -------------------------------------------------


def latest_result(job, seconds: float):
    """The job's result once it has one, polled with a deadline.

    RQ's own blocking wait holds a Redis read open longer than the client's socket
    timeout, which fails on a busy machine; polling does not.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = job.latest_result()
        if result is not None:
            return result
        time.sleep(0.2)
    raise AssertionError(f"job {job.id} gave no result within {seconds} s")


def test_dispatched_run_is_performed_by_the_worker(
    app, organisation, start_worker, redis_queue, verify_round
):
    round_ = make_round()
    run = runs.start_run(round_, None, time_limit=5)
    jobs.dispatch_run(run.id)
    assert redis_queue.exists(f"rq:job:round-run-{run.id}")  # on the queue, not in a thread
    assert not job_queue._threads

    worker = start_worker()
    done = wait_until_finished(run.id, 40, worker)
    assert done.status is RunStatus.SUCCEEDED, f"{done.error}\n{worker.log()}"
    problem, solution = json.loads(done.problem_json), json.loads(done.solution_json)
    assert verify_round(problem, solution)["valid"]
    assert done.observation_hours == 12 and done.heartbeat_at is not None
    result = latest_result(rq_job(redis_queue, f"round-run-{run.id}"), 30)
    assert result is not None and result.return_value is True, worker.log()


# b. The same job delivered twice runs once --------------------------------------------------


def test_a_job_delivered_twice_runs_once(app, big_organisation, start_worker, redis_queue):
    run = runs.start_run(make_round(), None, time_limit=5)
    queue = job_queue.redis_queue(app)
    # The first delivery under the job id the site gives it, so the workers' upkeep, which
    # fails a queued run whose job is gone, sees it waiting.
    first = queue.enqueue(jobs.run_round_job, run.id, job_id=f"round-run-{run.id}")
    second = queue.enqueue(jobs.run_round_job, run.id, job_id=f"delivery-2-of-{run.id}")
    assert first.id != second.id
    # Two workers, so the two deliveries can race for the run, as after a redelivery.
    workers = [start_worker(), start_worker()]

    started_at = wait_until_solving(run.id, 30, workers[0]).started_at
    results = [latest_result(job, 60) for job in (first, second)]
    logs = "\n".join(worker.log() for worker in workers)
    assert all(result is not None for result in results), logs
    assert [result.type.name for result in results] == ["SUCCESSFUL", "SUCCESSFUL"], logs
    assert sorted(result.return_value for result in results) == [False, True], logs
    # The solve takes its whole 5 s, so the idle worker took the second delivery meanwhile.
    names = {rq_job(redis_queue, job.id).worker_name for job in (first, second)}
    assert len(names) == 2, logs

    done = wait_until_finished(run.id, 10)
    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.started_at == started_at
    assert db.session.scalar(select(func.count()).select_from(RoundRun)) == 1


# c. A worker killed mid-run publishes nothing and is noticed --------------------------------


def test_a_killed_worker_leaves_no_partial_round_and_its_run_is_failed(
    app, big_organisation, start_worker, redis_queue, verify_round
):
    round_ = make_round()
    run = runs.start_run(round_, None, time_limit=60)
    jobs.dispatch_run(run.id)
    worker = start_worker()
    wait_until_solving(run.id, 30, worker)
    assert worker.horse_pids(), "the worker should be solving in a forked work horse"

    worker.kill_all()
    killed_at = time.monotonic()
    assert not worker.session_pids()

    # Nothing was written but the run's own row: no pairings, no sessions, the round still open.
    db.session.rollback()
    assert count(Pairing) == 0 and count(ShadowingSession) == 0
    assert fresh_run(run.id).status is RunStatus.RUNNING
    db.session.refresh(round_)
    assert round_.status is RoundStatus.OPEN

    # Silent for longer than the stale limit, the run shows as failed before anything writes
    # it down (pages read it so), then the check records it.
    wait_for(
        lambda: runs.run_state(fresh_run(run.id)).status is RunStatus.FAILED,
        STALE_SECONDS + WORKER_HEARTBEAT_SECONDS + 5,
        "the killed worker's run to show as failed",
        every=0.25,
    )
    assert time.monotonic() - killed_at <= STALE_SECONDS + WORKER_HEARTBEAT_SECONDS + 5
    assert fresh_run(run.id).status is RunStatus.RUNNING
    assert runs.reap_stale_runs() == 1
    failed = fresh_run(run.id)
    assert failed.status is RunStatus.FAILED
    assert "stopped responding" in failed.error and failed.finished_at is not None
    assert failed.solution_json is None

    # The round can be run again at once, and a new worker does it.
    again = runs.start_run(round_, None, time_limit=5)
    jobs.dispatch_run(again.id)
    fresh_worker = start_worker()
    done = wait_until_finished(again.id, 40, fresh_worker)
    assert done.status is RunStatus.SUCCEEDED, f"{done.error}\n{fresh_worker.log()}"
    assert verify_round(json.loads(done.problem_json), json.loads(done.solution_json))["valid"]
    db.session.refresh(round_)
    assert round_.status is RoundStatus.OPEN and count(Pairing) == 0


def test_a_starting_worker_records_a_dead_run_as_failed(
    app, organisation, start_worker, redis_queue
):
    """Pages only show a silent run as failed; the worker's upkeep writes it down."""
    round_ = make_round()
    long_ago = utcnow() - timedelta(minutes=5)
    dead = RoundRun(
        round_id=round_.id,
        status=RunStatus.RUNNING,
        time_limit=60,
        started_at=long_ago,
        heartbeat_at=long_ago,
    )
    db.session.add(dead)
    db.session.commit()
    dead_id = dead.id
    worker = start_worker()
    failed = wait_for(
        lambda: (run := fresh_run(dead_id)).status is RunStatus.FAILED and run,
        30,
        "the worker to record the dead run as failed",
        worker=worker,
    )
    assert "stopped responding" in failed.error and failed.finished_at is not None


# d. A work horse killed alone: RQ fails the job, the worker lives on ------------------------


def test_a_killed_work_horse_fails_its_job_and_the_worker_takes_the_next_run(
    app, big_organisation, start_worker, redis_queue
):
    round_ = make_round()
    run = runs.start_run(round_, None, time_limit=60)
    jobs.dispatch_run(run.id)
    worker = start_worker()
    wait_until_solving(run.id, 30, worker)
    horses = wait_for(worker.horse_pids, 5, "the work horse", worker=worker)
    assert len(horses) == 1
    os.kill(horses[0], signal.SIGKILL)

    result = latest_result(rq_job(redis_queue, f"round-run-{run.id}"), 40)
    assert result is not None and result.type.name == "FAILED", worker.log()
    assert "Work-horse terminated unexpectedly" in result.exc_string
    assert worker.process.poll() is None, "the worker itself should survive its horse"

    assert fresh_run(run.id).status is RunStatus.RUNNING
    wait_for(
        lambda: runs.reap_stale_runs() == 1,
        STALE_SECONDS + WORKER_HEARTBEAT_SECONDS + 5,
        "the stale check to fail the killed horse's run",
        every=0.25,
    )
    assert fresh_run(run.id).status is RunStatus.FAILED
    assert count(Pairing) == 0

    again = runs.start_run(round_, None, time_limit=5)
    jobs.dispatch_run(again.id)
    done = wait_until_finished(again.id, 40, worker)
    assert done.status is RunStatus.SUCCEEDED, f"{done.error}\n{worker.log()}"


# e. `flask rounds run` ---------------------------------------------------------------------


def test_cli_run_solves_and_prints_the_result(app, organisation, runner):
    round_ = make_round()
    result = runner.invoke(args=["rounds", "run", round_.month, "--time-limit", "5"])
    assert result.exit_code == 0, result.output
    assert "succeeded" in result.stdout and "12 h of observation" in result.stdout
    assert "3 apprentices paired, 0 left out" in result.stdout
    run = db.session.scalars(select(RoundRun)).one()
    assert fresh_run(run.id).status is RunStatus.SUCCEEDED


def test_cli_run_is_refused_while_a_run_is_under_way(app, organisation, runner):
    round_ = make_round()
    runs.start_run(round_, None, time_limit=5)
    result = runner.invoke(args=["rounds", "run", round_.month, "--time-limit", "5"])
    assert result.exit_code == 1
    assert "already under way" in result.output
    assert count(RoundRun) == 1


def test_cli_run_of_a_month_without_a_round_says_how_to_make_one(app, runner):
    result = runner.invoke(args=["rounds", "run", "2031-12"])
    assert result.exit_code == 1
    assert "No round for 2031-12; create it on /admin/rounds" in result.output
    bad = runner.invoke(args=["rounds", "run", "December"])
    assert bad.exit_code == 1 and "not a month" in bad.output


def test_cli_run_interrupted_with_ctrl_c_cancels_the_run(app, big_organisation, tmp_path):
    """A real process: SIGINT (Ctrl-C) cancels the run, waits for it to stop, exits 1."""
    round_ = make_round()
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY="cli-test-secret",
        SITE_URL=app.config["SITE_URL"],
        REDIS_URL="",
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "run.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                *DEFAULT_SIGINT,
                str(FLASK),
                "--app",
                "wsgi",
                "rounds",
                "run",
                round_.month,
                "--time-limit",
                "60",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:

            def solving():
                db.session.rollback()
                run_id = db.session.scalar(select(RoundRun.id))
                return run_id is not None and fresh_run(run_id).problem_json is not None and run_id

            run_id = wait_for(solving, 30, "the CLI's run to be solving")
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=20) == 1, log_path.read_text()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    output = log_path.read_text()
    assert "Cancelling the run" in output and "cancelled" in output, output
    stopped = fresh_run(run_id)
    assert stopped.status is RunStatus.CANCELLED and stopped.solution_json is None
    assert count(Pairing) == 0


def test_cli_deliver_mail_and_reap_report_counts(app, runner):
    mail = runner.invoke(args=["rounds", "deliver-mail"])
    assert mail.exit_code == 0 and "Sent 0 notification mails." in mail.output
    reap = runner.invoke(args=["rounds", "reap"])
    assert reap.exit_code == 0 and "Marked 0 stale runs as failed." in reap.output


def test_cli_worker_refuses_without_redis(app, runner):
    assert not app.config["REDIS_URL"]
    result = runner.invoke(args=["rounds", "worker", "--burst"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output
