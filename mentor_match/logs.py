"""Logs: one JSON line per record, a request id on every line, one access line per request.

Every request gets an id: the X-Request-ID a trusted proxy sent (behind PROXY_HOPS proxies,
when it is a sane token), else a fresh one. It is sent back in the X-Request-ID header, shown
on the error page, carried by every log line written while the request runs, and handed to
the jobs it queues (rounds.queue.dispatch), whose lines carry it too. So one id finds, in the
logs of every process, all that a click caused.

LOG_FORMAT=json writes one JSON object per line for a log collector; LOG_FORMAT=text writes
lines for a person. Unset, it is text in debug or when stderr is a terminal (`make demo`),
and json otherwise: under Gunicorn, a process manager or a container, and in tests.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's id may look like to be kept: UUIDs, nginx's $request_id (32 hex digits),
# Heroku's and most others. Anything else (too long, spaces, quotes, newlines) is replaced,
# so no client can write into the log lines or the header that carry it.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:+=/-]{7,127}")
ACCESS_LOGGER = "mentor_match.access"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
access_log = logging.getLogger(ACCESS_LOGGER)


def current_request_id() -> str | None:
    """The id of the request (or of the job it queued) being handled here, if any."""
    return _request_id.get()


@contextmanager
def request_id_context(request_id: str | None):
    """Log with `request_id` inside the block (a job run for the request that queued it)."""
    token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(token)


def new_request_id() -> str:
    return secrets.token_hex(16)


def chosen_request_id(incoming: str | None, *, trust_proxy: bool) -> str:
    """A trusted proxy's id when it is sane, else a new one."""
    if trust_proxy and incoming and SANE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return new_request_id()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and the record's
    `fields` (extra={"fields": {...}}) and traceback when it has them."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": _record_request_id(record),
        }
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["traceback"] = self.formatException(record.exc_info)
        elif record.stack_info:
            line["traceback"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """Lines for a terminal, with the request id in brackets and the fields after the message."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        # A copy: other handlers (a JSON one) format the same record after this one.
        shown = logging.makeLogRecord(record.__dict__)
        shown.request_id = _record_request_id(record) or "-"
        text = super().format(shown)
        fields = getattr(record, "fields", None)
        if fields:
            first, newline, rest = text.partition("\n")
            described = " ".join(f"{key}={value}" for key, value in fields.items())
            text = f"{first} {described}{newline}{rest}"
        return text


def _record_request_id(record: logging.LogRecord) -> str | None:
    # Read as the record is formatted: a stream handler formats in the thread that logged,
    # while the request (or job) that wrote the record is still being handled.
    return getattr(record, "request_id", None) or _request_id.get()


class _SiteHandler(logging.StreamHandler):
    """The root logger's handler that create_app installs (and replaces, when run again)."""


def init_logging(app: Flask) -> None:
    """Send every logger's records (the site's, Flask's, RQ's, the libraries') to stderr, in
    LOG_FORMAT, at INFO; Gunicorn's own loggers keep their own handlers."""
    choice = (app.config.get("LOG_FORMAT") or _default_format(app)).lower()
    if choice not in {"json", "text"}:
        raise ValueError(f"LOG_FORMAT={choice!r}: use json (for a log collector) or text.")
    handler = _SiteHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if choice == "json" else TextFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _SiteHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Flask gives its logger a handler of its own when none is found above it; the root's now
    # is, and a copy of each error in another format would only be noise.
    from flask.logging import default_handler

    app.logger.removeHandler(default_handler)
    _init_request_logs(app)


def _default_format(app: Flask) -> str:
    return "text" if app.debug or sys.stderr.isatty() else "json"


def _init_request_logs(app: Flask) -> None:
    @app.before_request
    def start_request_log() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER)
        g.request_id = chosen_request_id(incoming, trust_proxy=app.config["PROXY_HOPS"] > 0)
        g.request_started = time.perf_counter()
        _request_id.set(g.request_id)

    @app.after_request
    def write_access_line(response: Response) -> Response:
        request_id = g.get("request_id") or new_request_id()
        response.headers[REQUEST_ID_HEADER] = request_id
        started = g.get("request_started")
        duration_ms = None if started is None else (time.perf_counter() - started) * 1000
        rule = request.url_rule.rule if request.url_rule is not None else None
        access_log.info(
            "%s %s %s",
            request.method,
            rule or "(no route)",
            response.status_code,
            extra={
                "request_id": request_id,
                "fields": {
                    "method": request.method,
                    "route": rule,
                    "status": response.status_code,
                    "duration_ms": None if duration_ms is None else round(duration_ms, 2),
                    "person_id": _person_id(),
                },
            },
        )
        return response

    @app.teardown_request
    def end_request_log(error: BaseException | None) -> None:
        # Threads serve one request after another: the next must not carry this one's id.
        _request_id.set(None)


def _person_id() -> int | None:
    """Who made the request, if the request looked them up; never a lookup of its own, so a
    health check or a static file costs no query for its log line."""
    person = g.get("_login_user")  # where Flask-Login keeps whoever it loaded
    if person is None or not getattr(person, "is_authenticated", False):
        return None
    return person.id
