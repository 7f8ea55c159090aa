"""Background jobs (round runs, mail): what the site hands to the queue, and what RQ calls.

A run never happens inside a web request. With `REDIS_URL` set, jobs go on the
`mentor-match` queue of RQ and `make worker` (`flask rounds worker`) runs them. With
none, the site starts a background thread, so `make demo` works with no other service.
Both call the same functions, which are safe to run twice (see `perform_run`).
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from flask import Flask, current_app

from .. import create_app
from ..accounts.registration import send_sign_up_mail
from ..accounts.services import send_password_reset
from ..busy.services import feed_owners, refresh_feed
from ..calendars.reminders import send_reminders
from ..extensions import db
from ..webhooks.delivery import deliver_due_webhooks
from .notices import deliver_pending_mail
from .queue import QueueUnavailable, dispatch, dispatch_or_run_now
from .runs import reap_stale_runs, run_job_id
from .solving import perform_run

log = logging.getLogger(__name__)

_worker_app: Flask | None = None
_worker_pid: int | None = None


def dispatch_run(run_id: int) -> None:
    """Start the run in the background; it does its own bookkeeping from there."""
    dispatch(run_round_job, run_id, job_id=run_job_id(run_id))


def dispatch_mail() -> None:
    """Send every pending notification mail in the background."""
    dispatch(deliver_mail_job)


def dispatch_webhooks() -> None:
    """Post the webhook deliveries just committed, on the worker. With the queue unreachable
    they wait for the scheduled pass (deliver_webhooks_job, every minute)."""
    try:
        dispatch(deliver_webhooks_job)
    except QueueUnavailable:
        log.exception("the job queue is down: webhooks go out with the next scheduled pass")


def dispatch_password_reset(email: str) -> None:
    """Look the address up and mail it a reset link, away from the request that asked.

    The page then answers in the same time whether or not the address has an account, and
    never waits for the mail server. With the queue unreachable the mail goes out at once.
    """
    dispatch_or_run_now(password_reset_job, email)


def dispatch_calendar_refresh(person_id: int) -> None:
    """Fetch a person's calendar feed in the background, once they have saved its address.

    Raises QueueUnavailable when Redis is configured but cannot be reached; the scheduled
    refresh then fetches it later.
    """
    dispatch(refresh_calendar_job, person_id)


def dispatch_sign_up_mail(email: str) -> None:
    """Mail a new address its confirmation link, or a known one that someone tried (in the
    background, so the sign-up page answers alike either way)."""
    dispatch_or_run_now(sign_up_mail_job, email)


# Job functions: what RQ imports by name and calls in the worker. -----------------------------


def _app() -> Flask:
    """The worker's app: the one `flask rounds worker` set, else one built from the environment."""
    global _worker_app
    try:
        return current_app._get_current_object()
    except RuntimeError:
        pass
    if _worker_app is None:
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
    if _worker_pid is not None and os.getpid() != _worker_pid:
        db.engine.dispose(close=False)


def run_round_job(run_id: int) -> bool:
    """Run a queued round run; False when it had already been taken (a duplicate delivery)."""
    with _app().app_context():
        _fresh_pool_after_fork()
        return perform_run(run_id)


def password_reset_job(email: str) -> None:
    """Mail a reset link to the address if it has an account (see dispatch_password_reset)."""
    with _app().app_context():
        _fresh_pool_after_fork()
        send_password_reset(email)


def sign_up_mail_job(email: str) -> None:
    """Mail what a sign-up means to its address (see dispatch_sign_up_mail)."""
    with _app().app_context():
        _fresh_pool_after_fork()
        send_sign_up_mail(email)


def deliver_mail_job() -> int:
    """Send the mail of every notification not yet mailed."""
    with _app().app_context():
        _fresh_pool_after_fork()
        return deliver_pending_mail()


# Jobs the scheduler queues (`flask scheduler`, mentor_match/operations/schedule.py). Each is
# safe when two copies run at once: every reminder, mail and reaped run is claimed by a
# conditional update first.


def send_reminders_job(hours: float) -> int:
    """Remind the sessions starting within `hours`, then send their mail; how many sessions."""
    with _app().app_context():
        _fresh_pool_after_fork()
        reminded = send_reminders(horizon=timedelta(hours=hours))
        deliver_pending_mail()
        return reminded


def reap_stale_runs_job() -> int:
    """Record as failed the runs whose worker or job is gone, so their round can run again."""
    with _app().app_context():
        _fresh_pool_after_fork()
        return reap_stale_runs()


def deliver_webhooks_job() -> int:
    """Post every webhook delivery that is due (new ones, and retries whose pause is over)."""
    with _app().app_context():
        _fresh_pool_after_fork()
        return deliver_due_webhooks()


def refresh_calendar_job(person_id: int) -> str:
    """Fetch one person's calendar feed and keep its busy times; the error in words, or ""."""
    with _app().app_context():
        _fresh_pool_after_fork()
        return refresh_feed(person_id)


def refresh_calendars_job() -> int:
    """Queue a fetch of every calendar feed, one job each, so a slow calendar server holds up
    only its own; how many were queued."""
    with _app().app_context():
        _fresh_pool_after_fork()
        owners = feed_owners()
        for person_id in owners:
            dispatch(refresh_calendar_job, person_id)
        return len(owners)
