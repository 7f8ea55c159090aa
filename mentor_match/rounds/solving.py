"""Performing a queued run in a worker: claim it, snapshot the round, solve, save the result.

A heartbeat thread writes the run's progress while the optimizer works and stops it when
an admin cancels; the result is saved only if the run is still this worker's.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import RoundRun, RunKind, RunStatus, utcnow
from ..optimizer.solve import Cancelled, Progress, solve
from .encoder import encode_fill, encode_round

log = logging.getLogger(__name__)


def perform_run(run_id: int, on_progress: Callable[[Progress], None] | None = None) -> bool:
    """Snapshot and solve a queued run; False when another delivery of the job already took it.

    Claiming the run is one conditional update, so a job delivered twice runs once. The
    solution is saved in one transaction at the end, only if the run is still ours: a
    worker killed at any point leaves at most a run that the heartbeat check fails.
    """
    now = utcnow()
    claimed = db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run_id, RoundRun.status == RunStatus.QUEUED)
        .values(status=RunStatus.RUNNING, started_at=now, heartbeat_at=now, phase="snapshot")
    ).rowcount
    db.session.commit()
    if not claimed:
        log.info("round run %s was already taken or stopped; this delivery does nothing", run_id)
        return False
    run = db.session.get(RoundRun, run_id)
    heartbeat = _Heartbeat(run_id, current_app.config["ROUND_HEARTBEAT_SECONDS"], on_progress)
    heartbeat.start()
    try:
        problem = encode_fill(run.round) if run.kind is RunKind.FILL else encode_round(run.round)
        _save_if_running(run_id, problem_json=json.dumps(problem), phase="solving")
        solution = solve(
            problem,
            time_limit=run.time_limit,
            on_progress=heartbeat.record,
            cancel=heartbeat.cancel,
        )
    except Cancelled:
        _finish(run_id, RunStatus.CANCELLED, error="Cancelled by an admin; nothing was published.")
    except Exception as failure:
        log.exception("round run %s failed", run_id)
        db.session.rollback()
        _finish(run_id, RunStatus.FAILED, error=f"The run failed: {failure}")
    else:
        _finish(
            run_id,
            RunStatus.SUCCEEDED,
            solution_json=json.dumps(solution),
            observation_hours=solution["observation_hours"],
            upper_bound=solution["upper_bound"],
            best_hours=solution["observation_hours"],
            bound=solution["upper_bound"],
        )
    finally:
        heartbeat.stop()
    return True


def _save_if_running(run_id: int, **values) -> bool:
    saved = db.session.execute(
        update(RoundRun)
        .where(RoundRun.id == run_id, RoundRun.status == RunStatus.RUNNING)
        .values(**values)
    ).rowcount
    db.session.commit()
    return bool(saved)


def _finish(run_id: int, status: RunStatus, **values) -> None:
    if not _save_if_running(run_id, status=status, finished_at=utcnow(), phase="", **values):
        log.warning("round run %s was stopped elsewhere; its result is discarded", run_id)


class _Heartbeat(threading.Thread):
    """Writes the run's progress and heartbeat every few seconds and watches for Cancel.

    It uses its own connection from the engine's pool, never the job's session, and
    stops the solver when the run is cancelled or has been failed by the stale check.
    """

    def __init__(
        self, run_id: int, every: float, on_progress: Callable[[Progress], None] | None
    ) -> None:
        super().__init__(name=f"round-run-{run_id}-heartbeat", daemon=True)
        self.run_id = run_id
        self.every = every
        self.engine = db.engine
        self.cancel = threading.Event()
        self._halt = threading.Event()
        self._latest: Progress | None = None
        self._forward = on_progress
        self._started_at = datetime.now(UTC)

    def record(self, progress: Progress) -> None:
        self._latest = progress
        if self._forward is not None:
            self._forward(progress)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        while not self._halt.wait(self.every):
            self.beat()

    def beat(self) -> None:
        progress = self._latest
        # The run's own clock, from its claim: the optimizer's counts only from its start and
        # stands still between its reports.
        values = {
            "heartbeat_at": utcnow(),
            "elapsed": (datetime.now(UTC) - self._started_at).total_seconds(),
        }
        if progress is not None:
            values |= {
                "phase": progress.phase[:40],
                "best_hours": progress.observation_hours,
                "bound": progress.upper_bound,
            }
        try:
            with self.engine.begin() as connection:
                alive = connection.execute(
                    update(RoundRun)
                    .where(RoundRun.id == self.run_id, RoundRun.status == RunStatus.RUNNING)
                    .values(**values)
                ).rowcount
                wanted_stop = connection.scalar(
                    select(RoundRun.cancel_requested).where(RoundRun.id == self.run_id)
                )
        except Exception:
            log.exception("heartbeat of round run %s failed", self.run_id)
            return
        if not alive or wanted_stop:
            self.cancel.set()
