"""`flask scheduler`: queue the recurring jobs on time, with RQ's cron scheduler.

One scheduler per site is enough (the Procfile's `scheduler:` line); a second would queue each
job twice, which the jobs survive but need not do. The workers run what it queues.
"""

from __future__ import annotations

import click
from flask import current_app

from .schedule import ScheduleError, read_schedule, register_schedule


@click.command("scheduler")
def scheduler_command() -> None:
    """Queue reminders, round mail and the reaping of dead runs on schedule; Ctrl-C stops."""
    # Loaded only here: a site without Redis never imports RQ.
    from redis import Redis
    from redis.exceptions import RedisError

    from .scheduler import PatientCronScheduler

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException(
            "REDIS_URL is not set, so there is no job queue to put the recurring jobs on. Set "
            "REDIS_URL (for example redis://127.0.0.1:6379/0), the same as the workers'."
        )
    try:
        schedule = read_schedule()
    except ScheduleError as error:
        raise click.ClickException(str(error)) from None
    connection = Redis.from_url(url)
    try:
        connection.ping()
    except RedisError as error:
        connection.close()
        raise click.ClickException(f"The job queue at {url} cannot be reached: {error}") from None
    scheduler = PatientCronScheduler(connection=connection, logging_level="INFO")
    register_schedule(scheduler, schedule)
    for job in schedule:
        click.echo(f"Every {job.every_seconds} s: {job.what} ({job.name}).")
    try:
        # RQ's own loop: it installs handlers so SIGINT and SIGTERM end it after the current
        # step, and records the scheduler's start and end in Redis; a Redis outage is waited
        # out (PatientCronScheduler).
        scheduler.start()
    finally:
        connection.close()
