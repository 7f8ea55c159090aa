"""`flask rounds ...`: the job worker, runs from a terminal, mail delivery and the stale check.

flask rounds worker [--burst]      run queued runs and round mail (needs REDIS_URL)
flask rounds run MONTH [--fill]    run a round here, with a progress bar; Ctrl-C cancels
flask rounds deliver-mail          send the notification mails still pending
flask rounds reap                  fail runs whose worker stopped (the worker does too)
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable
from typing import NoReturn

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..availability.expansion import Month, MonthError
from ..errors import Refusal
from ..extensions import db
from ..logs import request_id_context
from ..models import RoundRun, RunKind, RunStatus, utcnow
from ..optimizer.interrupts import BackgroundWork, Interrupts, wait_for
from ..optimizer.solution import gap
from . import jobs
from .notices import deliver_pending_mail
from .opening import round_for
from .queue import QUEUE_NAME, REQUEST_ID_META
from .runs import cancel_run, reap_stale_runs, start_run
from .solving import perform_run

log = logging.getLogger(__name__)

rounds_cli = AppGroup(
    "rounds",
    help="Matching rounds: the job worker, running a round from here, mail and stale runs.",
)

# How often `flask rounds run` reads the run's row to redraw its progress bar.
POLL_SECONDS = 0.5
# RQ's worker_ttl: an idle worker writes its heartbeat every WORKER_TTL_SECONDS - 15 s (a busy
# one every 30 s), so /readyz, which wants one within the last minute, sees a live worker.
# RQ's default (420 s) would leave an idle worker silent for almost seven minutes.
WORKER_TTL_SECONDS = 45


@rounds_cli.command("worker")
@click.option(
    "--burst", is_flag=True, help="Stop once the queue is empty instead of waiting for jobs."
)
def worker_command(*, burst: bool) -> None:
    """Run queued round runs and round mail from the job queue (RQ on REDIS_URL)."""
    # Loaded only here: a site without Redis never imports RQ.
    from redis import Redis
    from redis.exceptions import RedisError
    from rq import Queue, Worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException(
            "REDIS_URL is not set, so there is no job queue to work on: without it the site runs "
            "rounds and mail in a background thread itself. Set REDIS_URL (for example "
            "redis://127.0.0.1:6379/0) to use a worker."
        )
    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisError as error:
        raise click.ClickException(f"The job queue at {url} cannot be reached: {error}") from None
    # Jobs run in a work horse that RQ forks from this process for each one; they use this app.
    jobs.use_app_in_worker(current_app._get_current_object())
    queue = Queue(QUEUE_NAME, connection=connection)

    class ReapingWorker(Worker):
        """RQ's worker, whose upkeep (at start, then every few minutes) also records dead runs,
        and whose lines about a job carry the id of the request that queued it."""

        def run_maintenance_tasks(self) -> None:
            super().run_maintenance_tasks()
            _reap_stale_runs_logged()

        def execute_job(self, job, queue) -> None:
            # Set before RQ forks the work horse, which inherits it: the job's own lines and
            # the worker's about it (done, failed) are the request's.
            with request_id_context(job.meta.get(REQUEST_ID_META)):
                super().execute_job(job, queue)

        def handle_warm_shutdown_request(self) -> None:
            """Stop after the job in hand, as RQ does, but never wait on a round run.

            A run may solve for minutes, and RQ's work horse is in a process group of its own:
            whatever asks this worker to stop (Ctrl-C under `make serve`, systemd, a platform)
            kills it soon after, and would leave the horse solving alone. It goes now; the
            reaper records the run as failed, and it can be run again.
            """
            super().handle_warm_shutdown_request()
            if any(
                execution.job_id.startswith("round-run-")  # runs.run_job_id
                for execution in self.executions.values()
            ):
                self.log.warning("stopping: the round run in hand is abandoned")
                self.kill_horse()

    worker = ReapingWorker([queue], connection=connection, worker_ttl=WORKER_TTL_SECONDS)
    click.echo(
        f"Working on the {QUEUE_NAME!r} queue at {url}" + (" until it is empty." if burst else ".")
    )
    worker.work(burst=burst, logging_level="INFO")


def _reap_stale_runs_logged() -> None:
    """Record dead runs as failed; a database hiccup is logged and left for the next upkeep."""
    try:
        reap_stale_runs()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("the worker could not record stale round runs as failed")


@rounds_cli.command("run")
@click.argument("month")
@click.option(
    "--time-limit",
    type=float,
    default=None,
    metavar="SECONDS",
    help="How long the optimizer may search (default: ROUND_TIME_LIMIT).",
)
@click.option(
    "--fill",
    is_flag=True,
    help="A fill run: re-use capacity freed by declines in a published round.",
)
def run_command(month: str, time_limit: float | None, *, fill: bool) -> None:
    """Run the round of MONTH (YYYY-MM) in this process, showing its progress; Ctrl-C cancels."""
    try:
        month = str(Month.parse(month))
    except MonthError as error:
        raise click.ClickException(str(error)) from None
    round_ = round_for(month)
    if round_ is None:
        raise click.ClickException(f"No round for {month}; create it on /admin/rounds")
    kind = RunKind.FILL if fill else RunKind.FULL
    try:
        run = start_run(round_, None, kind=kind, time_limit=time_limit)
    except Refusal as refusal:
        raise click.ClickException(str(refusal)) from None
    run_id, limit = run.id, run.time_limit
    click.echo(
        f"Run {run_id}: a {kind.value} run of the {month} round, for up to {limit:g} s.", err=True
    )

    worker = BackgroundWork(
        _performing(current_app._get_current_object(), run_id), name=f"round-run-{run_id}"
    )
    with click.progressbar(
        length=max(1, int(limit * 10)),
        label="Solving",
        file=sys.stderr,
        item_show_func=lambda text: text,
        show_eta=False,
    ) as bar:

        def show_progress() -> None:
            row = _fresh(run_id)
            elapsed = _elapsed(row)
            shown = bar.length if not row.status.is_active else min(bar.length, int(elapsed * 10))
            bar.update(shown - bar.pos, _progress_text(row, elapsed, limit))

        def cancel() -> None:
            click.echo(
                "\nCancelling the run; waiting for it to stop (Ctrl-C again to leave)...", err=True
            )
            with contextlib.suppress(Refusal):  # it finished meanwhile
                cancel_run(_fresh(run_id))

        with Interrupts(_leave_run) as interrupts:
            wait_for(
                worker, interrupts, every=POLL_SECONDS, tick=show_progress, on_interrupt=cancel
            )
        show_progress()  # as the run ended: a full bar
    if worker.failure is not None:
        db.session.rollback()
        raise click.ClickException(f"The run stopped with an error: {worker.failure}")
    row = _fresh(run_id)
    if row.status is not RunStatus.SUCCEEDED:
        raise click.ClickException(f"Run {run_id} {row.status.value}: {row.error or 'no result'}")
    click.echo(_result_text(row))


def _performing(app: Flask, run_id: int) -> Callable[[], bool]:
    """The run performed with its own app context (and so its own database session)."""

    def perform() -> bool:
        with app.app_context():
            try:
                return perform_run(run_id)
            finally:
                db.session.remove()

    return perform


def _leave_run(signum: int) -> NoReturn:
    """A second Ctrl-C: leave the run to its heartbeat, which stops without this process."""
    click.echo(
        "\nLeaving without waiting; the run is marked failed once its heartbeat stops.", err=True
    )
    raise SystemExit(1)


def _fresh(run_id: int) -> RoundRun:
    """The run's row as the database has it now, not as this session last saw it."""
    db.session.rollback()  # end the previous read so the next one sees committed changes
    return db.session.execute(
        select(RoundRun).where(RoundRun.id == run_id).execution_options(populate_existing=True)
    ).scalar_one()


def _elapsed(run: RoundRun) -> float:
    if run.started_at is None:
        return 0.0
    if run.finished_at is not None:
        return (run.finished_at - run.started_at).total_seconds()
    return max(run.elapsed or 0.0, (utcnow() - run.started_at).total_seconds())


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:g} h"


def _progress_text(run: RoundRun, elapsed: float, limit: float) -> str:
    if run.status is RunStatus.QUEUED:
        return "waiting to start"
    share = gap(run.best_hours, run.bound)
    parts = [
        f"{elapsed:.0f}/{limit:g} s",
        run.phase or run.status.value,
        f"best {_hours(run.best_hours)}",
        f"bound {_hours(run.bound)}",
        "gap -" if share is None else f"gap {share:.1%}",
    ]
    if run.cancel_requested:
        parts.append("cancelling")
    return "  ".join(parts)


def _result_text(run: RoundRun) -> str:
    solution = json.loads(run.solution_json)
    paired = len({pairing["apprentice"] for pairing in solution["pairings"]})
    left_out = len(solution.get("unmatched", []))
    share = run.gap
    return (
        f"Run {run.id} succeeded in {_elapsed(run):.1f} s: {_hours(run.observation_hours)} of "
        f"observation, bound {_hours(run.upper_bound)}, gap {share or 0:.1%}; "
        f"{paired} apprentices paired, {left_out} left out. Review it on /admin/rounds."
    )


@rounds_cli.command("deliver-mail")
def deliver_mail_command() -> None:
    """Send the mail of every notification not yet mailed, and every mail due another attempt."""
    sent = deliver_pending_mail()
    click.echo(f"Sent {sent} notification mail{'' if sent == 1 else 's'}.")


@rounds_cli.command("reap")
def reap_command() -> None:
    """Mark as failed every running run whose worker stopped sending heartbeats."""
    reaped = reap_stale_runs()
    click.echo(f"Marked {reaped} stale run{'' if reaped == 1 else 's'} as failed.")
