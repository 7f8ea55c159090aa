"""A round's runs as admins handle them: start, cancel, watch, and record the ones that died.

A run is queued here and performed by a job (`solving.perform_run`); pages read how it
stands with `run_state`, which never writes, and `reap_stale_runs` records the runs whose
worker or job is gone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Refusal
from ..extensions import db
from ..models import Person, Round, RoundRun, RoundStatus, RunKind, RunStatus, utcnow
from .queue import job_is_lost

log = logging.getLogger(__name__)

MIN_TIME_LIMIT, MAX_TIME_LIMIT = 5, 600

# A run that can no longer finish: pages show it failed at once, the reaper records it.
SILENT_WORKER = "The worker running this stopped responding; nothing was published. Run it again."
LOST_JOB = "This run never reached a worker (its job was lost). Run it again."


def run_job_id(run_id: int) -> str:
    """The queue's name for a run's job: one run is one job, however often it is dispatched."""
    return f"round-run-{run_id}"


def start_run(
    round_: Round,
    requested_by: Person | None,
    kind: RunKind = RunKind.FULL,
    time_limit: float | None = None,
) -> RoundRun:
    """Queue a run; refused while another run of this round is under way."""
    reap_stale_runs()
    if kind is RunKind.FULL and round_.status is not RoundStatus.OPEN:
        raise Refusal(
            "Open the round before running it."
            if round_.status is RoundStatus.DRAFT
            else "This round is published; run a fill to use capacity freed by declines."
        )
    if kind is RunKind.FILL and round_.status is not RoundStatus.PUBLISHED:
        raise Refusal("A fill run re-uses freed capacity after publication; publish first.")
    limit = float(time_limit or current_app.config["ROUND_TIME_LIMIT"])
    if not MIN_TIME_LIMIT <= limit <= MAX_TIME_LIMIT:
        raise Refusal(f"Choose a time limit from {MIN_TIME_LIMIT} to {MAX_TIME_LIMIT} seconds.")
    run = RoundRun(
        round_id=round_.id,
        kind=kind,
        time_limit=limit,
        requested_by_id=requested_by.id if requested_by else None,
    )
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:
        # The partial unique index: another admin's run of this round got in first.
        db.session.rollback()
        raise Refusal("A run of this round is already under way; watch it or cancel it.") from None
    return run


def cancel_run(run: RoundRun) -> None:
    """Stop a queued run at once, or ask a running one to stop (it does within seconds)."""
    stopped = db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run.id, RoundRun.status == RunStatus.QUEUED)
        .values(
            status=RunStatus.CANCELLED, finished_at=utcnow(), error="Cancelled before it started."
        )
    ).rowcount
    if not stopped:
        asked = db.session.execute(
            update(RoundRun)
            .where(RoundRun.id == run.id, RoundRun.status == RunStatus.RUNNING)
            .values(cancel_requested=True)
        ).rowcount
        if not asked:
            db.session.rollback()
            raise Refusal("This run has already finished.")
    db.session.commit()


def fail_undispatched(run: RoundRun, reason: str) -> None:
    """A run that never reached a worker: failed at once, so Run can be pressed again."""
    db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run.id, RoundRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.FAILED, finished_at=utcnow(), error=reason)
    )
    db.session.commit()


@dataclass(frozen=True)
class RunState:
    """A run as pages show it: failed once its worker or job is gone, written or not yet."""

    run: RoundRun
    status: RunStatus
    error: str
    elapsed: float  # seconds; counted to the moment asked while the run is running


def _elapsed(run: RoundRun, now: datetime) -> float:
    """Seconds the run has worked: between heartbeats the clock still moves on the page."""
    if run.status is RunStatus.RUNNING and run.started_at is not None:
        return max(run.elapsed, (now - run.started_at).total_seconds())
    return run.elapsed


def _stale_after() -> timedelta:
    return timedelta(seconds=current_app.config["ROUND_RUN_STALE_SECONDS"])


def run_state(run: RoundRun, now: datetime | None = None) -> RunState:
    """How the run stands, read only: GET pages must not write, and still tell the truth."""
    now = now or utcnow()
    stale_since = now - _stale_after()
    if (
        run.status is RunStatus.RUNNING
        and run.heartbeat_at is not None
        and run.heartbeat_at < stale_since
    ):
        return RunState(run, RunStatus.FAILED, SILENT_WORKER, run.elapsed)
    if (
        run.status is RunStatus.QUEUED
        and run.created_at < stale_since
        and job_is_lost(run_job_id(run.id))
    ):
        return RunState(run, RunStatus.FAILED, LOST_JOB, run.elapsed)
    return RunState(run, run.status, run.error, _elapsed(run, now))


def run_states(round_: Round) -> list[RunState]:
    """The round's runs, newest first, as pages show them."""
    now = utcnow()
    return [run_state(run, now) for run in round_.runs]


def reap_stale_runs() -> int:
    """Record as failed the runs that can no longer finish, so the round can be run again.

    A running run whose worker stopped sending heartbeats, and a queued run whose job
    was lost (Redis flushed, a thread's process restarted) before any worker claimed it.
    Called before a run starts, by the worker's maintenance and by `flask rounds reap`;
    never on a GET, where `run_state` shows the same verdict without writing it.
    """
    now = utcnow()
    stale_since = now - _stale_after()
    reaped = db.session.execute(
        update(RoundRun)
        .where(RoundRun.status == RunStatus.RUNNING, RoundRun.heartbeat_at < stale_since)
        .values(status=RunStatus.FAILED, finished_at=now, error=SILENT_WORKER)
    ).rowcount
    waiting = db.session.scalars(
        select(RoundRun.id).where(
            RoundRun.status == RunStatus.QUEUED, RoundRun.created_at < stale_since
        )
    ).all()
    for run_id in waiting:
        if job_is_lost(run_job_id(run_id)):
            reaped += db.session.execute(
                update(RoundRun)
                .where(RoundRun.id == run_id, RoundRun.status == RunStatus.QUEUED)
                .values(status=RunStatus.FAILED, finished_at=now, error=LOST_JOB)
            ).rowcount
    db.session.commit()
    if reaped:
        log.warning("marked %d round runs as failed: their workers or jobs are gone", reaped)
    return reaped


def active_run(round_: Round) -> RoundRun | None:
    """The round's queued or running run, unless its worker or job is gone."""
    run = db.session.scalar(
        select(RoundRun).where(
            RoundRun.round_id == round_.id,
            RoundRun.status.in_([RunStatus.QUEUED, RunStatus.RUNNING]),
        )
    )
    return run if run is not None and run_state(run).status.is_active else None


def latest_result(round_: Round, kind: RunKind | None = None) -> RoundRun | None:
    """The newest run with a solution, to review or publish.

    Read afresh: the same page may have loaded this run moments ago as still running, and the
    worker that finished it since wrote its figures on another connection.
    """
    query = (
        select(RoundRun)
        .where(RoundRun.round_id == round_.id, RoundRun.status == RunStatus.SUCCEEDED)
        .execution_options(populate_existing=True)
    )
    if kind is not None:
        query = query.where(RoundRun.kind == kind)
    return db.session.scalar(query.order_by(RoundRun.id.desc()).limit(1))


def can_publish(run: RoundRun) -> bool:
    if run.status is not RunStatus.SUCCEEDED or run.published_at is not None:
        return False
    if run.kind is RunKind.FULL:
        return run.round.status is RoundStatus.OPEN
    return run.round.status is RoundStatus.PUBLISHED
