"""The bounds every input is held to: ids, page numbers, dates, JSON and request bodies.

A value outside them never reaches the database (its ids are 32-bit on PostgreSQL) or the date
arithmetic (which stops at year 9999): an id is not found (404), a date or a JSON document
is refused with a message naming the field, and a page number falls back to the first page.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, UnicodeConverter

# Years a date anyone types may fall in, the months people plan for: far from year 1 and
# 9999, where converting between time zones leaves what Python's datetime can hold.
from .availability.expansion import FIRST_YEAR, LAST_YEAR

if TYPE_CHECKING:
    from flask import Flask

# The largest id: ids are 32-bit integer columns on PostgreSQL (SQLite's hold 64 bits).
MAX_ID = 2**31 - 1
# Beyond any list's last page, and small enough that page × page size fits in a query.
MAX_PAGE = 1_000_000
# Room for a multipart body's other fields and boundaries beside an upload's own limit.
UPLOAD_FORM_OVERHEAD = 64 * 1024
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


class DatabaseIdConverter(IntegerConverter):
    """The `int` URL converter, matching only what an id column can hold (else a 404)."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class TextWithoutNulConverter(UnicodeConverter):
    """The default URL converter, not matching a NUL (which PostgreSQL text cannot hold): a 404."""

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


def query_int(name: str, default: int | None, low: int = 1, high: int = MAX_ID) -> int | None:
    """The whole number from `low` to `high` in query argument `name`, else `default`.

    Like a page link someone edited by hand, a value that is not such a number (``?page=abc``,
    ``?page=99999999999999999999``) is ignored rather than refused.
    """
    raw = (request.args.get(name) or "").strip()
    # At most 19 digits: turning thousands of digits into an int is itself refused.
    if not _WHOLE_NUMBER.fullmatch(raw) or not low <= int(raw) <= high:
        return default
    return int(raw)


def page_arg() -> int:
    """The page number asked for in ``?page=`` (1 if absent), bounded so its offset fits a query."""
    return query_int("page", 1, 1, MAX_PAGE) or 1


def year_in_range(moment: date | datetime) -> bool:
    """Whether a typed date or instant falls in the years people may use (FIRST_YEAR..LAST_YEAR)."""
    return FIRST_YEAR <= moment.year <= LAST_YEAR


def year_range_message(label: str) -> str:
    return f"{label} must be in the years {FIRST_YEAR} to {LAST_YEAR}."


class JSONInputError(ValueError):
    """A JSON document we will not read; the message is the reason, to put after "not JSON: ".

    Not an `errors.Refusal`, though a client can correct it: its message is a fragment that each
    caller words into its own refusal, and Flask's `request.get_json` (which reads with
    `parse_json`) turns only a ValueError into its 400.
    """


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise JSONInputError("a number is too large")
    return value


def _no_constant(name: str) -> float:
    raise JSONInputError(f"{name} is not a number JSON allows")


def parse_json(text: str | bytes) -> Any:
    """The document in `text`, or JSONInputError: not JSON, nested too deep, numbers too long."""
    try:
        return json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except JSONInputError:
        raise
    except RecursionError:
        raise JSONInputError("it is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise JSONInputError(f"{error.msg} at line {error.lineno}, column {error.colno}") from None
    except UnicodeDecodeError:
        raise JSONInputError("it is not UTF-8 text") from None
    except ValueError:
        # Python refuses to turn more than 4,300 digits into an int (sys.int_info).
        raise JSONInputError("a number has too many digits") from None


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, reading request bodies with `parse_json` (so Flask-WTF's too)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


def allows_upload(max_bytes: int) -> Callable:
    """Let a view that takes a file accept a body up to `max_bytes` (others: the default)."""

    def decorate(view: Callable) -> Callable:
        view.max_content_length = max_bytes  # type: ignore[attr-defined]
        return view

    return decorate


def _apply_upload_allowance() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    allowance = getattr(view, "max_content_length", None)
    if allowance is not None:
        request.max_content_length = allowance


def init_inputs(app: Flask) -> None:
    """Install the id converter, the JSON reader and per-view body limits on the app."""
    app.url_map.converters["int"] = DatabaseIdConverter
    app.url_map.converters["default"] = app.url_map.converters["string"] = TextWithoutNulConverter
    app.json = BoundedJSONProvider(app)
    # Registered before any hook that reads the form (CSRF, the NUL check), so an upload
    # view's allowance is in place before its body is read.
    app.before_request(_apply_upload_allowance)
