"""The job queue: work handed to an RQ worker when Redis is configured, else to a thread.

Knows nothing of what the jobs do (round runs, mail: see `jobs`); it dispatches a function
with its arguments, says whether a job can still reach a worker, and lets tests and the CLI
wait for the threads it started.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

from ..logs import current_request_id, request_id_context

log = logging.getLogger(__name__)

QUEUE_NAME = "mentor-match"
# RQ stops a job that runs longer than this; runs are limited to minutes by their time limit.
JOB_TIMEOUT_SECONDS = 3600
# How long RQ keeps a failed job, so a lost one can be told from one still waiting.
FAILURE_TTL_SECONDS = 86400
# The job's meta entry that holds the id of the request that queued it (rounds.cli's worker
# logs the job's lines with it).
REQUEST_ID_META = "request_id"

_threads: list[threading.Thread] = []


class QueueUnavailable(Exception):
    """Redis is configured but cannot be reached; the caller tells the admin."""


def redis_queue(app: Flask | None = None):
    """The RQ queue named in the settings, or None when jobs run in a thread."""
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    # Loaded only when a queue is configured: a site without Redis never imports RQ.
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(url), default_timeout=JOB_TIMEOUT_SECONDS)


def dispatch(function: Callable[..., Any], *args: Any, job_id: str | None = None) -> None:
    """Run `function(*args)` in the background: on the RQ queue, or in a thread of this process.

    On the queue the job goes by `job_id` (RQ picks one when None), which `job_is_lost` asks
    about. The job logs with the id of the request that queued it (logs.py). Raises
    QueueUnavailable when Redis is configured but cannot be reached.
    """
    app = current_app._get_current_object()
    request_id = current_request_id()
    rq_queue = redis_queue(app)
    if rq_queue is None:
        thread = threading.Thread(
            target=_in_app_context,
            args=(app, request_id, function, *args),
            daemon=True,
            name=f"mentor-match-{function.__name__}",
        )
        _threads[:] = [running for running in _threads if running.is_alive()]
        _threads.append(thread)
        thread.start()
        return
    from redis.exceptions import RedisError

    try:
        rq_queue.enqueue(
            function,
            *args,
            job_id=job_id,
            failure_ttl=FAILURE_TTL_SECONDS,
            meta={REQUEST_ID_META: request_id},
        )
    except RedisError as error:
        raise QueueUnavailable(
            f"The job queue at {app.config['REDIS_URL']} cannot be reached: {error}"
        ) from error


def dispatch_or_run_now(function: Callable[..., Any], *args: Any) -> None:
    """A person's own mail is not lost when the queue is down: it goes out at once instead."""
    try:
        dispatch(function, *args)
    except QueueUnavailable:
        log.exception("the job queue is down: running %s now", function.__name__)
        function(*args)


def job_is_lost(job_id: str) -> bool:
    """Whether a job dispatched a while ago can no longer reach a worker.

    With a thread, a job starts within moments: one not started by then went away with its
    process. With Redis it may be waiting its turn: only a job gone from Redis, or failed,
    is lost, and while Redis cannot be reached nothing is said to be.
    """
    rq_queue = redis_queue()
    if rq_queue is None:
        return True
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        job = Job.fetch(job_id, connection=rq_queue.connection)
        return job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    except NoSuchJobError:
        return True
    except RedisError:
        return False  # the queue is unreachable: say nothing until it is back


def _in_app_context(
    app: Flask, request_id: str | None, function: Callable[..., Any], *args: Any
) -> None:
    with app.app_context(), request_id_context(request_id):
        try:
            function(*args)
        except Exception:
            log.exception("background job %s%r failed", function.__name__, args)


def wait_for_background_jobs(timeout: float = 120) -> None:
    """Join the background threads started so far (tests and the CLI use this)."""
    while _threads:
        _threads.pop(0).join(timeout)
