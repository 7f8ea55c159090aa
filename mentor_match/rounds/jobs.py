"""Where background work happens (round runs, mail): an RQ worker when Redis is configured,
else a thread.

A run never happens inside a web request. With `REDIS_URL` set, jobs go on the
`mentor-match` queue of RQ and `make worker` (`flask rounds worker`) runs them. With
none, the site starts a background thread, so `make demo` works with no other service.
Both call the same functions, which are safe to run twice (see `perform_run`).
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask, current_app

log = logging.getLogger(__name__)

QUEUE_NAME = "mentor-match"
# RQ stops a job that runs longer than this; runs are limited to minutes by their time limit.
JOB_TIMEOUT_SECONDS = 3600

_threads: list[threading.Thread] = []
_worker_app: Flask | None = None
_worker_pid: int | None = None


class QueueUnavailable(Exception):
    """Redis is configured but cannot be reached; the caller tells the admin."""


def queue(app: Flask | None = None):
    """The RQ queue named in the settings, or None when runs use a thread."""
    app = app or current_app
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    from redis import Redis
    from rq import Queue

    return Queue(QUEUE_NAME, connection=Redis.from_url(url), default_timeout=JOB_TIMEOUT_SECONDS)


def dispatch_run(run_id: int) -> None:
    """Start the run in the background; it does its own bookkeeping from there."""
    _dispatch(run_round_job, run_id, job_id=f"round-run-{run_id}")


def dispatch_mail() -> None:
    """Send every pending notification mail in the background."""
    _dispatch(deliver_mail_job)


def dispatch_password_reset(email: str) -> None:
    """Look the address up and mail it a reset link, away from the request that asked.

    The page then answers in the same time whether or not the address has an account, and
    never waits for the mail server. With the queue unreachable the mail goes out at once.
    """
    _dispatch_or_run_now(password_reset_job, email)


def dispatch_sign_up_mail(email: str) -> None:
    """Mail a new address its confirmation link, or a known one that someone tried (in the
    background, so the sign-up page answers alike either way)."""
    _dispatch_or_run_now(sign_up_mail_job, email)


def _dispatch_or_run_now(function, *args) -> None:
    """A person's own mail is not lost when the queue is down: it goes out at once instead."""
    try:
        _dispatch(function, *args)
    except QueueUnavailable:
        log.exception("the job queue is down: running %s now", function.__name__)
        function(*args)


def _dispatch(function, *args, job_id: str | None = None) -> None:
    app = current_app._get_current_object()
    rq_queue = queue(app)
    if rq_queue is None:
        thread = threading.Thread(
            target=_in_app_context,
            args=(app, function, *args),
            daemon=True,
            name=f"mentor-match-{function.__name__}",
        )
        _threads[:] = [running for running in _threads if running.is_alive()]
        _threads.append(thread)
        thread.start()
        return
    from redis.exceptions import RedisError

    try:
        rq_queue.enqueue(function, *args, job_id=job_id, failure_ttl=86400)
    except RedisError as error:
        raise QueueUnavailable(
            f"The job queue at {app.config['REDIS_URL']} cannot be reached: {error}"
        ) from error


def run_job_is_lost(run_id: int) -> bool:
    """Whether a queued run's job can no longer reach a worker (gone from Redis, or failed)."""
    rq_queue = queue()
    if rq_queue is None:
        return False
    from redis.exceptions import RedisError
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    try:
        job = Job.fetch(f"round-run-{run_id}", connection=rq_queue.connection)
        return job.get_status() in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)
    except NoSuchJobError:
        return True
    except RedisError:
        return False  # the queue is unreachable: say nothing until it is back


def _in_app_context(app: Flask, function, *args) -> None:
    with app.app_context():
        try:
            function(*args)
        except Exception:
            log.exception("background job %s%r failed", function.__name__, args)


def wait_for_background_jobs(timeout: float = 120) -> None:
    """Join the background threads started so far (tests and the CLI use this)."""
    while _threads:
        _threads.pop(0).join(timeout)


# Job functions: what RQ imports by name and calls in the worker. -----------------------------


def _app() -> Flask:
    """The worker's app: the one `flask rounds worker` set, else one built from the environment."""
    global _worker_app
    try:
        return current_app._get_current_object()
    except RuntimeError:
        pass
    if _worker_app is None:
        from .. import create_app

        _worker_app = create_app()
    return _worker_app


def use_app_in_worker(app: Flask) -> None:
    """Called by `flask rounds worker` before RQ forks a work horse for each job."""
    global _worker_app, _worker_pid
    _worker_app = app
    _worker_pid = os.getpid()


def _fresh_pool_after_fork() -> None:
    """In RQ's forked work horse, stop sharing the parent's database connections.

    SQLAlchemy's advice for multiprocessing: dispose of the pool without closing the
    parent's connections, so the child opens its own.
    """
    from ..extensions import db

    if _worker_pid is not None and os.getpid() != _worker_pid:
        db.engine.dispose(close=False)


def run_round_job(run_id: int) -> bool:
    """Run a queued round run; False when it had already been taken (a duplicate delivery)."""
    from .services import perform_run

    with _app().app_context():
        _fresh_pool_after_fork()
        return perform_run(run_id)


def password_reset_job(email: str) -> None:
    """Mail a reset link to the address if it has an account (see dispatch_password_reset)."""
    from ..accounts.services import send_password_reset

    with _app().app_context():
        _fresh_pool_after_fork()
        send_password_reset(email)


def sign_up_mail_job(email: str) -> None:
    """Mail what a sign-up means to its address (see dispatch_sign_up_mail)."""
    from ..accounts.registration import send_sign_up_mail

    with _app().app_context():
        _fresh_pool_after_fork()
        send_sign_up_mail(email)


def deliver_mail_job() -> int:
    """Send the mail of every notification not yet mailed."""
    from .notices import deliver_pending_mail

    with _app().app_context():
        _fresh_pool_after_fork()
        return deliver_pending_mail()
