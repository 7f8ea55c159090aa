"""Request logs: JSON lines, one access line per request, the request id on every line of the
request and of the jobs it queued (in a thread, and in a real `flask rounds worker`), and
the error page that shows the id whose traceback was logged once."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mentor_match import create_app, templating
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.logs import (
    REQUEST_ID_HEADER,
    JsonFormatter,
    TextFormatter,
    chosen_request_id,
    request_id_context,
)
from mentor_match.rounds.queue import QUEUE_NAME, dispatch, wait_for_background_jobs

from .conftest import REDIS_URL
from .factories import make_apprentice

REPO_ROOT = Path(__file__).resolve().parents[1]
FLASK = REPO_ROOT / ".venv" / "bin" / "flask"
JOB_LOGGER = "tests.request_logs"


def log_a_line(text: str) -> None:
    """A job: it writes one line, which must carry the id of the request that queued it."""
    logging.getLogger(JOB_LOGGER).info(text)


class Captured(logging.Handler):
    """Every record, and the JSON line the site's formatter makes of it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.records: list[logging.LogRecord] = []
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(json.loads(self.format(record)))

    def of_request(self, request_id: str) -> list[dict]:
        return [line for line in self.lines if line["request_id"] == request_id]


@pytest.fixture
def captured():
    """The records logged during the test. At INFO, as create_app sets it: the suite's
    `flask db upgrade` ran Alembic's logging file, which puts the root logger at WARNING."""
    handler = Captured()
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.INFO)
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


class WithRaisingRoutes(TestConfig):
    # As in production: an error becomes the 500 page, not an exception in the test.
    PROPAGATE_EXCEPTIONS = False


@pytest.fixture(scope="module")
def site():
    """The site with three routes of the tests' own: one fails, one logs, one queues a job."""
    app = create_app(WithRaisingRoutes)

    @app.get("/test/fails")
    def fails():
        raise RuntimeError("the test's own failure")

    @app.get("/test/logs")
    def logs():
        logging.getLogger(JOB_LOGGER).info("working on it")
        return "done"

    @app.get("/test/queues")
    def queues():
        dispatch(log_a_line, "the job ran")
        return "queued"

    yield app
    with app.app_context():
        db.engine.dispose()


# The formatter and the id ------------------------------------------------------------------


@pytest.mark.database_independent
def test_a_json_line_holds_the_record_its_fields_and_traceback():
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "failed for %s", ("Ada",), sys.exc_info()
        )
    record.fields = {"status": 500}
    with request_id_context("req-00000001"):
        line = json.loads(JsonFormatter().format(record))
    assert line["level"] == "ERROR"
    assert line["logger"] == "x"
    assert line["message"] == "failed for Ada"
    assert line["request_id"] == "req-00000001"
    assert line["status"] == 500
    assert line["time"].endswith("+00:00")
    assert "ValueError: bad value" in line["traceback"]
    text = TextFormatter().format(record)
    assert " ERROR x [-] failed for Ada status=500\nTraceback" in text
    assert not hasattr(record, "request_id")  # left as it was for the next handler


@pytest.mark.database_independent
@pytest.mark.parametrize(
    ("incoming", "kept"),
    [
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),  # a UUID
        ("3b4a1c2d9e8f7a6b5c4d3e2f1a0b9c8d", True),  # nginx's $request_id
        ("short", False),
        ("x" * 129, False),
        ("abc def ghi jkl", False),
        ('abcdefgh"},{"level":"ERROR', False),
        ("abcdefgh\nforged line", False),
    ],
)
def test_a_proxys_request_id_is_kept_only_when_sane(incoming, kept):
    assert (chosen_request_id(incoming, trust_proxy=True) == incoming) is kept
    assert chosen_request_id(incoming, trust_proxy=False) != incoming


@pytest.mark.database_independent
def test_the_id_comes_from_a_trusted_proxy_only(client, app, monkeypatch):
    proxied = {REQUEST_ID_HEADER: "0f8fad5b-d9cb-469f-a165-70867728950e"}
    direct = client.get("/healthz", headers=proxied)
    assert direct.headers[REQUEST_ID_HEADER] != proxied[REQUEST_ID_HEADER]
    assert len(direct.headers[REQUEST_ID_HEADER]) == 32
    monkeypatch.setitem(app.config, "PROXY_HOPS", 1)
    behind_proxy = client.get("/healthz", headers=proxied)
    assert behind_proxy.headers[REQUEST_ID_HEADER] == proxied[REQUEST_ID_HEADER]
    assert client.get("/healthz").headers[REQUEST_ID_HEADER] != proxied[REQUEST_ID_HEADER]


# Access lines ------------------------------------------------------------------------------


def test_one_access_line_per_request_names_the_route_not_the_path(client, login, captured):
    person = make_apprentice("Ada Apprentice")
    login(person)
    captured.lines.clear()
    response = client.get(f"/people/{person.id}")
    assert response.status_code == 200
    request_id = response.headers[REQUEST_ID_HEADER]
    access = [line for line in captured.lines if line["logger"] == "mentor_match.access"]
    assert len(access) == 1
    line = access[0]
    assert line["request_id"] == request_id
    assert {key: line[key] for key in ("level", "message", "method", "route", "status")} == {
        "level": "INFO",
        "message": "GET /people/<int:person_id> 200",
        "method": "GET",
        "route": "/people/<int:person_id>",
        "status": 200,
    }
    assert line["person_id"] == person.id
    assert 0 < line["duration_ms"] < 60_000


@pytest.mark.database_independent
def test_a_visitor_and_an_unknown_address_are_logged_too(client, captured):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    (line,) = captured.of_request(response.headers[REQUEST_ID_HEADER])
    assert (line["route"], line["status"], line["person_id"]) == (None, 404, None)


@pytest.mark.database_independent
def test_every_line_of_a_request_carries_its_id(site, captured):
    response = site.test_client().get("/test/logs")
    request_id = response.headers[REQUEST_ID_HEADER]
    lines = captured.of_request(request_id)
    assert [(line["logger"], line["message"]) for line in lines] == [
        (JOB_LOGGER, "working on it"),
        ("mentor_match.access", "GET /test/logs 200"),
    ]
    # The next request, in the same thread, does not inherit it.
    site.test_client().get("/test/logs")
    assert len(captured.of_request(request_id)) == 2


# The error page ----------------------------------------------------------------------------


@pytest.mark.database_independent
def test_an_error_shows_the_id_whose_traceback_was_logged_once(site, captured):
    response = site.test_client().get("/test/fails")
    assert response.status_code == 500
    request_id = response.headers[REQUEST_ID_HEADER]
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side. It has been logged." in page
    assert f'quote this reference: <code class="reference">{request_id}</code>' in page
    with_traceback = [record for record in captured.records if record.exc_info]
    assert len(with_traceback) == 1
    (line,) = [line for line in captured.lines if "traceback" in line]
    assert line["request_id"] == request_id
    assert "RuntimeError: the test's own failure" in line["traceback"]
    access = [line for line in captured.of_request(request_id) if line.get("route")]
    assert [(line["route"], line["status"]) for line in access] == [("/test/fails", 500)]


@pytest.mark.database_independent
def test_an_error_page_that_cannot_be_drawn_still_gives_the_reference(site, captured, monkeypatch):
    def no_page(*args, **kwargs):
        raise RuntimeError("the database is down as well")

    monkeypatch.setattr(templating, "render_template", no_page)
    response = site.test_client().get("/test/fails")
    assert response.status_code == 500
    request_id = response.headers[REQUEST_ID_HEADER]
    assert response.get_data(as_text=True) == (
        "Something went wrong on our side. It has been logged.\n"
        f"If you tell us about it, quote this reference: {request_id}\n"
    )
    assert [line["message"] for line in captured.of_request(request_id) if "traceback" in line] == [
        "Exception on /test/fails [GET]",
        "the error page could not be drawn; a plain one was sent",
    ]


# Jobs --------------------------------------------------------------------------------------


@pytest.mark.database_independent
def test_a_job_in_a_thread_logs_with_the_id_of_the_request_that_queued_it(site, captured):
    response = site.test_client().get("/test/queues")
    wait_for_background_jobs()
    request_id = response.headers[REQUEST_ID_HEADER]
    job_lines = [line for line in captured.lines if line["logger"] == JOB_LOGGER]
    assert [(line["message"], line["request_id"]) for line in job_lines] == [
        ("the job ran", request_id)
    ]


@pytest.fixture
def job_queue(site, monkeypatch, redis_connection):
    """This worker's empty Redis database (conftest), as the site's queue."""
    monkeypatch.setitem(site.config, "REDIS_URL", REDIS_URL)
    return redis_connection


def test_a_job_run_by_the_worker_logs_with_the_id_of_the_request_that_queued_it(
    site, job_queue, tmp_path
):
    from rq import Queue

    response = site.test_client().get("/test/queues")
    request_id = response.headers[REQUEST_ID_HEADER]
    (job,) = Queue(QUEUE_NAME, connection=job_queue).get_jobs()
    assert job.meta == {"request_id": request_id}

    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": site.config["SQLALCHEMY_DATABASE_URI"],
            "REDIS_URL": REDIS_URL,
            "SECRET_KEY": "worker-test-secret",
            "SITE_URL": site.config["SITE_URL"],
            "LOG_FORMAT": "json",
        }
    )
    env.pop("FLASK_DEBUG", None)
    worker = subprocess.run(
        [str(FLASK), "--app", "wsgi", "rounds", "worker", "--burst"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    lines = [json.loads(line) for line in worker.stderr.splitlines() if line.startswith("{")]
    of_request = [line for line in lines if line["request_id"] == request_id]
    assert (JOB_LOGGER, "the job ran") in [(line["logger"], line["message"]) for line in of_request]
    assert any("Job OK" in line["message"] for line in of_request), worker.stderr[-3000:]
    # The worker's own lines outside the job carry no request's id.
    assert any(line["request_id"] is None for line in lines)


@pytest.mark.database_independent
def test_an_unknown_log_format_stops_the_site_naming_the_choices():
    with pytest.raises(
        ValueError, match=r"^LOG_FORMAT='xml': use json \(for a log collector\) or text\.$"
    ):
        create_app(type("Xml", (TestConfig,), {"LOG_FORMAT": "xml"}))
