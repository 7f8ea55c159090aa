"""What runs on a schedule, how often, and its registration with RQ's cron scheduler.

Five jobs, each queued on the job queue for the workers (`flask rounds worker`) to run:
reminders of the sessions starting within the horizon (and their mail), the notification mail
still pending, the webhook deliveries that are due, the reaping of round runs whose
worker died, and the fetching of the calendars people keep (their busy times). The
intervals come from the environment, so an operator (or a test) can change them
without touching code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rq.cron import CronJob, CronScheduler

# The settings, with their defaults: reminders every 5 minutes for sessions starting within a
# day; mail and the reaper every minute.
REMINDERS_EVERY = ("REMINDERS_EVERY_SECONDS", 300)
REMINDER_HORIZON = ("REMINDER_HORIZON_HOURS", 24)
MAIL_EVERY = ("MAIL_EVERY_SECONDS", 60)
REAP_EVERY = ("REAP_EVERY_SECONDS", 60)
WEBHOOKS_EVERY = ("WEBHOOKS_EVERY_SECONDS", 60)
# People's calendar feeds (mentor_match/busy): every 30 minutes, as calendar apps poll them.
CALENDARS_EVERY = ("CALENDARS_EVERY_SECONDS", 1800)
# A scheduled job still waiting this long after its next copy was due is dropped from the
# queue: the next copy does the same work, so a queue left without workers does not fill up.
WAITING_GRACE_SECONDS = 60


class ScheduleError(ValueError):
    """Settings of the schedule that are not usable, each named in `problems`."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ScheduledJob:
    """One recurring job: its name in RQ, the job function, and how often it is queued."""

    name: str
    what: str  # for people: the scheduler's start-up message
    function: str  # the job function's name in mentor_match.rounds.jobs
    every_seconds: int
    timeout_seconds: int
    kwargs: Mapping[str, Any] = field(default_factory=dict)


def read_schedule(environ: Mapping[str, str] | None = None) -> tuple[ScheduledJob, ...]:
    """The recurring jobs at the intervals the environment sets; ScheduleError names bad ones."""
    environ = os.environ if environ is None else environ
    problems: list[str] = []

    def number(setting: tuple[str, int], *, unit: str) -> int:
        name, default = setting
        text = environ.get(name, "").strip()
        if not text:
            return default
        if not text.isdigit() or int(text) < 1:
            problems.append(f"{name}={text!r} is not a whole number of {unit} of 1 or more.")
            return default
        return int(text)

    reminders_every = number(REMINDERS_EVERY, unit="seconds")
    horizon = number(REMINDER_HORIZON, unit="hours")
    mail_every = number(MAIL_EVERY, unit="seconds")
    reap_every = number(REAP_EVERY, unit="seconds")
    webhooks_every = number(WEBHOOKS_EVERY, unit="seconds")
    calendars_every = number(CALENDARS_EVERY, unit="seconds")
    if problems:
        raise ScheduleError(problems)
    return (
        ScheduledJob(
            "mentor-match-reminders",
            f"remind sessions starting within {horizon} h, and mail them",
            "send_reminders_job",
            every_seconds=reminders_every,
            timeout_seconds=600,
            kwargs={"hours": float(horizon)},
        ),
        ScheduledJob(
            "mentor-match-mail",
            "send the notification mail still pending",
            "deliver_mail_job",
            every_seconds=mail_every,
            timeout_seconds=600,
        ),
        ScheduledJob(
            "mentor-match-reap",
            "fail the round runs whose worker died",
            "reap_stale_runs_job",
            every_seconds=reap_every,
            timeout_seconds=120,
        ),
        ScheduledJob(
            "mentor-match-webhooks",
            "post the webhook deliveries that are due (retries included)",
            "deliver_webhooks_job",
            every_seconds=webhooks_every,
            timeout_seconds=600,
        ),
        ScheduledJob(
            "mentor-match-calendars",
            "fetch the calendars people keep, for their busy times",
            "refresh_calendars_job",
            every_seconds=calendars_every,
            timeout_seconds=120,  # it only queues one fetch job per feed
        ),
    )


def register_schedule(
    scheduler: CronScheduler, schedule: tuple[ScheduledJob, ...]
) -> list[CronJob]:
    """Register each job with RQ's cron scheduler, on the queue the workers take jobs from."""
    # Imported here: the settings check reads the schedule, and needs none of the site's code.
    from ..rounds import jobs
    from ..rounds.queue import FAILURE_TTL_SECONDS, QUEUE_NAME

    return [
        scheduler.register(
            getattr(jobs, job.function),
            QUEUE_NAME,
            kwargs=dict(job.kwargs),
            interval=job.every_seconds,
            job_timeout=job.timeout_seconds,
            ttl=job.every_seconds + WAITING_GRACE_SECONDS,
            failure_ttl=FAILURE_TTL_SECONDS,
            name=job.name,
        )
        for job in schedule
    ]
