"""Two web processes and two workers on one PostgreSQL and one Redis behave as one site.

The stack (tests/scale_stack.py) is started once for the module as production runs it:
`flask db upgrade`, then two `gunicorn wsgi:app` processes and two `flask rounds worker`
processes, each with its own memory, sharing only the database, Redis and the settings.
Every check goes through real HTTP: a session, a CSRF token and the log-in rate limit carry
from one web process to the other; a round run is performed once by one of the workers; round
mail goes out once although both workers deliver it.

The stack always runs on PostgreSQL (a scratch schema in TEST_POSTGRES_URL's database) and on
the Redis of TEST_REDIS_URL, whatever TEST_DATABASE_URL is, so the module is marked
database_independent: it runs in the first (SQLite) pass of .ci/run and is left out of the
second, which would only start the same stack again.
"""

from __future__ import annotations

import re
import sys
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from sqlalchemy import func, select

from mentor_match.availability.expansion import Month
from mentor_match.extensions import db
from mentor_match.models import Notification, OutboxMessage, RoundRun, RunStatus
from mentor_match.rounds import jobs
from mentor_match.rounds.queue import QUEUE_NAME
from mentor_match.rounds.runs import run_job_id

from .factories import DEFAULT_PASSWORD
from .scale_stack import LOGIN_LIMIT, MAIL_MONTH, RUN_MONTH, Stack, started_stack

pytestmark = [
    pytest.mark.database_independent,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="processes are found in /proc"),
]

WAIT_SECONDS = 30.0
# A form's token, whether WTForms wrote the field or a template did (attributes differ in order).
CSRF_FIELD = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    with started_stack(tmp_path_factory.mktemp("scale-out")) as running:
        yield running


@pytest.fixture(autouse=True)
def _each_test(stack):
    """Each test starts with no log-in counted (every test signs in, and the limit is low),
    and fails if any process of the site logged an error while it ran (a 500, a failed job)."""
    for key in stack.redis.scan_iter(match="*LIMITER/*"):
        stack.redis.delete(key)
    ends = [process.log_size() for process in stack.processes]
    yield
    for process, end in zip(stack.processes, ends, strict=True):
        written = process.log_since(end)
        assert "Traceback" not in written, f"{process.name} logged an error:\n{written[-4000:]}"


def new_browser() -> requests.Session:
    """A browser's cookie jar: a cookie set by one web process goes to the other (same host).

    Proxy settings of the environment are ignored: the site is on this machine.
    """
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with new_browser() as session:
        yield session


def csrf_token(page: requests.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


def log_in(browser: requests.Session, form_from: str, post_to: str, email: str, password: str):
    """Get the log-in form from one web process and send it to another; the answer unfollowed."""
    token = csrf_token(browser.get(f"{form_from}/login"))
    return browser.post(
        f"{post_to}/login",
        data={"email": email, "password": password, "csrf_token": token},
        allow_redirects=False,
    )


def signed_in(stack: Stack, email: str, on: str) -> requests.Session:
    """A new browser session signed in as `email` through the web process at `on`."""
    session = new_browser()
    response = log_in(session, on, on, email, DEFAULT_PASSWORD)
    assert response.status_code == 302, response.text[:500]
    return session


def forged(token: str) -> str:
    """The token with the first character of its signature changed."""
    value, signature = token.rsplit(".", 1)
    return f"{value}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


# Sessions, CSRF, rate limits ---------------------------------------------------------------


def test_a_session_from_one_web_process_is_accepted_and_ended_by_the_other(stack, browser):
    web1, web2 = stack.web
    # Not signed in, web 2 sends the visitor to log in.
    assert browser.get(f"{web2}/dashboard", allow_redirects=False).status_code == 302

    response = log_in(browser, web1, web1, stack.apprentice_email, DEFAULT_PASSWORD)
    assert response.status_code == 302

    dashboard = browser.get(f"{web2}/dashboard", allow_redirects=False)
    assert dashboard.status_code == 200
    assert f"Hello, {stack.apprentice_name}" in dashboard.text

    # Logging out on web 2 ends the session on web 1 too: a copy of the cookie, accepted by
    # web 1 before, is refused after.
    copy = {"session": browser.cookies["session"]}
    with new_browser() as replay:
        before = replay.get(f"{web1}/dashboard", cookies=copy, allow_redirects=False)
        assert before.status_code == 200
        assert f"Hello, {stack.apprentice_name}" in before.text
        token = csrf_token(browser.get(f"{web1}/dashboard"))
        logged_out = browser.post(
            f"{web2}/logout", data={"csrf_token": token}, allow_redirects=False
        )
        assert logged_out.status_code == 302
        replayed = replay.get(f"{web1}/dashboard", cookies=copy, allow_redirects=False)
    assert replayed.status_code == 302
    assert "/login" in replayed.headers["Location"]


def test_a_csrf_token_from_one_web_process_is_accepted_by_the_other_and_a_forged_one_by_neither(
    stack, browser
):
    web1, web2 = stack.web
    token = csrf_token(browser.get(f"{web1}/login"))
    for web in (web1, web2):
        refused = browser.post(
            f"{web}/login",
            data={
                "email": stack.apprentice_email,
                "password": DEFAULT_PASSWORD,
                "csrf_token": forged(token),
            },
            allow_redirects=False,
        )
        assert refused.status_code == 400, web
        assert "The CSRF token is invalid." in refused.text
    assert browser.get(f"{web1}/dashboard", allow_redirects=False).status_code == 302

    accepted = browser.post(
        f"{web2}/login",
        data={"email": stack.apprentice_email, "password": DEFAULT_PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert accepted.status_code == 302
    assert browser.get(f"{web1}/dashboard", allow_redirects=False).status_code == 200


def test_the_log_in_rate_limit_is_counted_across_both_web_processes(stack, browser):
    web1, web2 = stack.web
    for attempt in range(LOGIN_LIMIT):
        web = stack.web[attempt % 2]
        failed = log_in(browser, web1, web, stack.apprentice_email, "not-the-password")
        assert failed.status_code == 200, (web, failed.status_code)
        assert "That email and password do not match an account." in failed.text

    for web in (web1, web2):
        refused = log_in(browser, web1, web, stack.apprentice_email, DEFAULT_PASSWORD)
        assert refused.status_code == 429, web
        assert "Too many attempts in a short time." in refused.text
        assert int(refused.headers["Retry-After"]) > 0


# Round runs and round mail -----------------------------------------------------------------


def _queue(stack: Stack):
    from rq import Queue

    return Queue(QUEUE_NAME, connection=stack.redis)


def _finished(job_ids: list[str], stack: Stack) -> list:
    """The jobs, once every one of them has finished (or fail the test, quoting a failure)."""
    from rq.job import Job, JobStatus

    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = [Job.fetch(job_id, connection=stack.redis) for job_id in job_ids]
        statuses = [job.get_status() for job in found]
        failed = [
            job for job, status in zip(found, statuses, strict=True) if status == JobStatus.FAILED
        ]
        assert not failed, failed[0].latest_result().exc_string
        if all(status == JobStatus.FINISHED for status in statuses):
            return found
        assert time.monotonic() < deadline, f"jobs not finished in {WAIT_SECONDS:g} s: {statuses}"
        time.sleep(0.1)


def _progress_until_done(browser: requests.Session, web: str, run_id: int) -> dict:
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        progress = browser.get(f"{web}/admin/rounds/{RUN_MONTH}/runs/{run_id}/progress").json()
        if progress["done"]:
            return progress
        assert time.monotonic() < deadline, f"run {run_id} still {progress['status']}"
        time.sleep(0.2)


def _start_run(browser: requests.Session, form_from: str, post_to: str) -> requests.Response:
    token = csrf_token(browser.get(f"{form_from}/admin/rounds/{RUN_MONTH}"))
    return browser.post(
        f"{post_to}/admin/rounds/{RUN_MONTH}/runs",
        data={"time_limit": "5", "kind": "full", "csrf_token": token},
        allow_redirects=False,
    )


def _run_id(response: requests.Response) -> int:
    found = re.search(r"[?&]run=(\d+)", response.headers.get("Location", ""))
    assert found, (response.status_code, response.headers.get("Location"))
    return int(found.group(1))


def test_a_run_started_on_one_web_process_is_performed_once_by_one_worker(stack):
    web1, web2 = stack.web
    with signed_in(stack, stack.admin_email, web1) as admin:
        started = _start_run(admin, web1, web1)
        assert started.status_code == 302
        run_id = _run_id(started)

        progress = _progress_until_done(admin, web2, run_id)
        assert progress["status"] == RunStatus.SUCCEEDED.value, progress
        assert progress["error"] == ""

    (job,) = _finished([run_job_id(run_id)], stack)
    assert job.return_value() is True  # this delivery claimed the run
    assert job.worker_name in stack.worker_names
    # The same run delivered again (as a redelivery would) does nothing.
    again = _queue(stack).enqueue(jobs.run_round_job, run_id)
    (again,) = _finished([again.id], stack)
    assert again.return_value() is False
    with stack.app.app_context():
        run = db.session.get_one(RoundRun, run_id)
        assert run.status is RunStatus.SUCCEEDED
        assert run.observation_hours is not None


def test_run_round_pressed_on_both_web_processes_at_once_starts_one_run(stack):
    web1, web2 = stack.web
    with stack.app.app_context():
        runs_before = db.session.scalar(select(func.count()).select_from(RoundRun))
    with (
        signed_in(stack, stack.admin_email, web1) as on_web1,
        signed_in(stack, stack.admin_email, web2) as on_web2,
    ):
        tokens = {
            web1: csrf_token(on_web1.get(f"{web1}/admin/rounds/{RUN_MONTH}")),
            web2: csrf_token(on_web2.get(f"{web2}/admin/rounds/{RUN_MONTH}")),
        }
        together = threading.Barrier(2)
        answers: dict[str, requests.Response] = {}

        def press(browser: requests.Session, web: str) -> None:
            together.wait(timeout=10)
            answers[web] = browser.post(
                f"{web}/admin/rounds/{RUN_MONTH}/runs",
                data={"time_limit": "5", "kind": "full", "csrf_token": tokens[web]},
                allow_redirects=False,
            )

        presses = [
            threading.Thread(target=press, args=(on_web1, web1)),
            threading.Thread(target=press, args=(on_web2, web2)),
        ]
        for thread in presses:
            thread.start()
        for thread in presses:
            thread.join(timeout=WAIT_SECONDS)
        assert [answer.status_code for answer in answers.values()] == [302, 302]
        started = [web for web, answer in answers.items() if "run=" in answer.headers["Location"]]
        assert len(started) == 1, {
            web: answer.headers["Location"] for web, answer in answers.items()
        }
        (refused_on,) = {web1, web2} - set(started)
        refused_browser = on_web1 if refused_on == web1 else on_web2
        page = refused_browser.get(f"{refused_on}/admin/rounds/{RUN_MONTH}")
        assert "A run of this round is already under way; watch it or cancel it." in page.text

        run_id = _run_id(answers[started[0]])
        progress = _progress_until_done(refused_browser, refused_on, run_id)
        assert progress["status"] == RunStatus.SUCCEEDED.value, progress
    with stack.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(RoundRun)) == runs_before + 1


def test_opening_a_round_mails_each_person_once_although_both_workers_deliver(stack):
    web1, _ = stack.web
    queue = _queue(stack)
    with signed_in(stack, stack.admin_email, web1) as admin:
        token = csrf_token(admin.get(f"{web1}/admin/rounds/{MAIL_MONTH}"))
        opened = admin.post(
            f"{web1}/admin/rounds/{MAIL_MONTH}/open",
            data={"csrf_token": token},
            allow_redirects=False,
        )
        assert opened.status_code == 302
        # The web process queued one delivery, which the worker waiting longest took; two more
        # at once (as a job delivered again, or `flask rounds deliver-mail`, would add) go first
        # to the other worker, as Redis serves waiting clients in turn, so both workers deliver,
        # most often while the first delivery is still sending.
        extra = queue.enqueue_many([queue.prepare_data(jobs.deliver_mail_job) for _ in range(2)])
        page = admin.get(f"{web1}/admin/rounds/{MAIL_MONTH}")
        asked = len(stack.people_asked)
        assert f"Round opened: {asked} people were asked to confirm by mail" in page.text

    # The web's delivery job and ours, queued, running or finished.
    deadline = time.monotonic() + WAIT_SECONDS
    while len(deliveries := _delivery_job_ids(stack)) < 3:
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.1)
    finished = _finished(deliveries, stack)
    assert {job.id for job in extra} <= set(deliveries)
    assert {job.worker_name for job in finished} == stack.worker_names
    assert sum(job.return_value() for job in finished) == asked

    subject = f"Confirm your availability for {Month.parse(MAIL_MONTH).label}"
    with stack.app.app_context():
        mailed = dict(
            db.session.execute(
                select(OutboxMessage.recipient, func.count())
                .where(OutboxMessage.subject == subject)
                .group_by(OutboxMessage.recipient)
            ).all()
        )
        unmailed = db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.mail_subject == subject, Notification.mailed_at.is_(None))
        )
    assert mailed == dict.fromkeys(stack.people_asked, 1)
    assert unmailed == 0


def _delivery_job_ids(stack: Stack) -> list[str]:
    """Every deliver_mail_job RQ holds, queued, running or finished."""
    from rq.job import Job

    queue = _queue(stack)
    ids = set(queue.job_ids) | set(queue.started_job_registry.get_job_ids())
    ids |= set(queue.finished_job_registry.get_job_ids())
    found = Job.fetch_many(sorted(ids), connection=stack.redis)
    return [
        job.id for job in found if job is not None and job.func_name.endswith("deliver_mail_job")
    ]
