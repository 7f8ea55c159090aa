"""The recurring jobs: what `flask scheduler` registers with RQ's cron scheduler, and the jobs."""

import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq.cron import CronScheduler
from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import Notification, OutboxMessage, RoundRun, RunStatus, utcnow
from mentor_match.operations.schedule import ScheduleError, read_schedule, register_schedule
from mentor_match.operations.scheduler import PatientCronScheduler
from mentor_match.rounds import jobs
from mentor_match.rounds.runs import SILENT_WORKER

from .database import count
from .factories import make_apprentice, make_master, make_round
from .test_calendars import make_session


def registered(environ: dict) -> list[tuple]:
    # The client never connects: registering a job only records it in the scheduler.
    scheduler = CronScheduler(connection=Redis())
    register_schedule(scheduler, read_schedule(environ))
    return [
        (
            job.name,
            job.func_name,
            job.queue_name,
            job.interval,
            job.kwargs,
            job.job_options["job_timeout"],
            job.job_options["ttl"],
        )
        for job in scheduler.get_jobs()
    ]


@pytest.mark.database_independent
def test_reminders_mail_and_the_reaper_are_scheduled_at_their_default_intervals():
    assert registered({}) == [
        (
            "mentor-match-reminders",
            "mentor_match.rounds.jobs.send_reminders_job",
            "mentor-match",
            300,
            {"hours": 24.0},
            600,
            360,
        ),
        (
            "mentor-match-mail",
            "mentor_match.rounds.jobs.deliver_mail_job",
            "mentor-match",
            60,
            {},
            600,
            120,
        ),
        (
            "mentor-match-reap",
            "mentor_match.rounds.jobs.reap_stale_runs_job",
            "mentor-match",
            60,
            {},
            120,
            120,
        ),
        (
            "mentor-match-webhooks",
            "mentor_match.rounds.jobs.deliver_webhooks_job",
            "mentor-match",
            60,
            {},
            600,
            120,
        ),
        (
            "mentor-match-calendars",
            "mentor_match.rounds.jobs.refresh_calendars_job",
            "mentor-match",
            1800,
            {},
            120,
            1860,
        ),
    ]


@pytest.mark.database_independent
def test_the_environment_sets_each_interval_and_the_reminder_horizon():
    environ = {
        "REMINDERS_EVERY_SECONDS": "2",
        "REMINDER_HORIZON_HOURS": "48",
        "MAIL_EVERY_SECONDS": "3",
        "REAP_EVERY_SECONDS": "1",
        "WEBHOOKS_EVERY_SECONDS": "4",
        "CALENDARS_EVERY_SECONDS": "4",
    }
    assert [(name, every, kwargs) for name, _, _, every, kwargs, _, _ in registered(environ)] == [
        ("mentor-match-reminders", 2, {"hours": 48.0}),
        ("mentor-match-mail", 3, {}),
        ("mentor-match-reap", 1, {}),
        ("mentor-match-webhooks", 4, {}),
        ("mentor-match-calendars", 4, {}),
    ]
    assert read_schedule(environ)[0].what == "remind sessions starting within 48 h, and mail them"


@pytest.mark.database_independent
def test_an_unusable_interval_is_named():
    with pytest.raises(ScheduleError) as refused:
        read_schedule({"REAP_EVERY_SECONDS": "-5", "MAIL_EVERY_SECONDS": "1.5"})
    assert refused.value.problems == [
        "MAIL_EVERY_SECONDS='1.5' is not a whole number of seconds of 1 or more.",
        "REAP_EVERY_SECONDS='-5' is not a whole number of seconds of 1 or more.",
    ]


@pytest.mark.database_independent
def test_the_scheduler_needs_a_reachable_queue(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "")
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 1
    assert (
        "REDIS_URL is not set, so there is no job queue to put the recurring jobs on. Set "
        "REDIS_URL (for example redis://127.0.0.1:6379/0), the same as the workers'."
    ) in result.output

    # Port 1 on the loopback: nothing listens there, so the connection is refused at once.
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    result = runner.invoke(args=["scheduler"])
    assert result.exit_code == 1
    assert "The job queue at redis://127.0.0.1:1/0 cannot be reached:" in result.output


@pytest.mark.database_independent
def test_the_scheduler_waits_out_a_redis_outage_instead_of_exiting(caplog):
    # Port 1 on the loopback: nothing listens there, as while Redis restarts.
    connection = Redis(port=1, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    scheduler = PatientCronScheduler(connection=connection)
    scheduler.retry_seconds = 0
    register_schedule(scheduler, read_schedule({}))

    assert scheduler.enqueue_jobs() == []
    scheduler.heartbeat()
    scheduler.register_death()
    # Nothing was queued, so every job is still due and goes on the next try.
    assert all(job.should_run() for job in scheduler.get_jobs())
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert errors[0].startswith(f"CronScheduler {scheduler.name}: Redis did not answer (")
    assert errors[0].endswith("); trying again in 0 s")
    assert len(errors) == 3
    connection.close()


def test_the_reminder_job_reminds_sessions_within_its_horizon_and_mails_them(sent_mail):
    master = make_master("Amara Okafor")
    apprentice = make_apprentice("Tom Gallagher")
    soon = make_session(master, utcnow() + timedelta(hours=5), observers=[apprentice])
    later = make_session(master, utcnow() + timedelta(hours=30), observers=[apprentice])

    assert jobs.send_reminders_job(24) == 1
    assert jobs.send_reminders_job(24) == 0  # each session is reminded once
    db.session.refresh(soon)
    db.session.refresh(later)
    assert soon.reminded_at is not None and later.reminded_at is None
    # Both are in London: the subject names the day and time there.
    london = ZoneInfo("Europe/London")
    starts = soon.starts_at.astimezone(london)
    day = "today" if starts.date() == utcnow().astimezone(london).date() else "tomorrow"
    assert sorted((mail.recipient, mail.subject) for mail in sent_mail) == sorted(
        (person.email, f"Reminder: shadowing {day} at {starts:%H:%M}")
        for person in (master, apprentice)
    )
    assert count(OutboxMessage) == 2
    assert db.session.scalar(select(Notification).where(Notification.mailed_at.is_(None))) is None


def _silent_run(app, month: str) -> RoundRun:
    """A run of the month's round, still marked running, whose heartbeat stopped longer ago
    than the stale limit (a round has one active run at most, hence a month each)."""
    run = RoundRun(
        round_id=make_round(month).id,
        status=RunStatus.RUNNING,
        time_limit=60,
        started_at=utcnow() - timedelta(minutes=5),
        heartbeat_at=utcnow() - timedelta(seconds=app.config["ROUND_RUN_STALE_SECONDS"] + 5),
    )
    db.session.add(run)
    db.session.commit()
    return run


def test_the_reaper_job_fails_a_run_whose_worker_went_silent(app):
    run = _silent_run(app, "2031-01")

    assert jobs.reap_stale_runs_job() == 1
    db.session.refresh(run)
    assert run.status is RunStatus.FAILED and run.error == SILENT_WORKER
    assert jobs.reap_stale_runs_job() == 0


def test_two_reaper_jobs_at_once_fail_each_run_once(app):
    stale = [_silent_run(app, "2031-01"), _silent_run(app, "2031-02")]
    barrier = threading.Barrier(2)
    reaped, errors = [], []

    def reap() -> None:
        with app.app_context():
            try:
                barrier.wait()
                reaped.append(jobs.reap_stale_runs_job())
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=reap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(reaped) == 2
    db.session.rollback()
    for run in stale:
        db.session.refresh(run)
        assert run.status is RunStatus.FAILED
