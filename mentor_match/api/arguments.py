"""What the API reads from a request: query arguments and the booking body, within their bounds.

Each value that is missing, malformed or out of bounds is a 422 `ApiError` naming its field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import request

from ..booking.rules import MAX_SESSION_HOURS
from ..extensions import db
from ..inputs import MAX_ID, JSONInputError, parse_json, year_in_range, year_range_message
from ..models import Person, SessionMode
from .failures import ApiError

MAX_PER_PAGE = 100
MAX_EVENTS = 500
BOOKING_FIELDS = ("master_id", "starts_at", "hours", "mode")


def int_arg(name: str, default: int, low: int, high: int) -> int:
    """The whole number from `low` to `high` in query argument `name` (`default` if absent)."""
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(422, "invalid", f"{name} must be a whole number.", name) from None
    if not low <= value <= high:
        raise ApiError(422, "invalid", f"{name} must be from {low} to {high}.", name)
    return value


def date_arg(name: str) -> date | None:
    """The YYYY-MM-DD date in query argument `name`, or None if absent."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if len(raw) != 10:
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(422, "invalid", f"{name} must be a date written YYYY-MM-DD.", name) from None
    if not year_in_range(day):
        raise ApiError(422, "invalid", year_range_message(name), name)
    return day


def json_body() -> object:
    """The request's JSON body (None if it sends none), or a 422 saying why it cannot be read."""
    if not request.is_json:
        return None
    try:
        return parse_json(request.get_data())
    except JSONInputError as error:
        raise ApiError(422, "invalid", f"The body is not JSON: {error}.", "body") from None


def booking_body() -> tuple[Person, datetime, int, SessionMode]:
    """The master, start (UTC), hours and mode a booking request asks for."""
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(
            422, "invalid", "Send a JSON object: {master_id, starts_at, hours, mode}.", "body"
        )
    for name in body:
        if name not in BOOKING_FIELDS:
            raise ApiError(422, "invalid", f"Unknown field {name!r}.", name)
    for name in BOOKING_FIELDS:
        if name not in body:
            raise ApiError(422, "required", f"{name} is required.", name)
    master_id, starts_raw, hours, mode_raw = (body[name] for name in BOOKING_FIELDS)
    if type(master_id) is not int or not 1 <= master_id <= MAX_ID:
        raise ApiError(422, "invalid", "master_id must be the id of a person.", "master_id")
    if not isinstance(starts_raw, str):
        raise ApiError(
            422,
            "invalid",
            "starts_at must be an ISO 8601 date and time with an offset.",
            "starts_at",
        )
    try:
        starts_at = datetime.fromisoformat(starts_raw)
    except ValueError:
        raise ApiError(
            422,
            "invalid",
            "starts_at must be an ISO 8601 date and time with an offset, "
            "e.g. 2026-11-03T10:00:00+00:00.",
            "starts_at",
        ) from None
    if starts_at.tzinfo is None:
        raise ApiError(
            422, "invalid", "starts_at needs a UTC offset, e.g. +00:00 or Z.", "starts_at"
        )
    if not year_in_range(starts_at):
        raise ApiError(422, "invalid", year_range_message("starts_at"), "starts_at")
    if type(hours) is not int or not 1 <= hours <= MAX_SESSION_HOURS:
        raise ApiError(
            422,
            "invalid",
            f"hours must be a whole number from 1 to {MAX_SESSION_HOURS}.",
            "hours",
        )
    if mode_raw not in [m.value for m in SessionMode]:
        raise ApiError(422, "invalid", "mode must be in_person or virtual.", "mode")
    master = db.session.get(Person, master_id)
    if master is None:
        raise ApiError(422, "invalid", "No person has that master_id.", "master_id")
    return master, starts_at.astimezone(UTC), hours, SessionMode(mode_raw)


def manager_body() -> Person | None:
    """The manager a {"manager_id": id or null} body names (None: no manager)."""
    body = json_body()
    if not isinstance(body, dict) or set(body) != {"manager_id"}:
        raise ApiError(
            422, "invalid", 'Send a JSON object: {"manager_id": id, or null for none}.', "body"
        )
    manager_id = body["manager_id"]
    if manager_id is None:
        return None
    if type(manager_id) is not int or not 1 <= manager_id <= MAX_ID:
        raise ApiError(
            422, "invalid", "manager_id must be the id of a person, or null.", "manager_id"
        )
    manager = db.session.get(Person, manager_id)
    if manager is None:
        raise ApiError(422, "invalid", "No person has that manager_id.", "manager_id")
    return manager
