"""The JSON API, version 1: personal access tokens act as their person, with the site's rules.

A person reads their own data; admins read everyone's. Every error is JSON,
{"error": {"code": ..., "message": ..., "field": ...}}, with the matching status.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import wraps

from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from ..availability.expansion import Month, MonthError
from ..availability.services import availability_by_person, default_month
from ..booking.actions import book
from ..booking.diary import upcoming
from ..booking.rules import MAX_SESSION_HOURS
from ..errors import Refusal
from ..extensions import csrf, db
from ..inputs import JSONInputError, parse_json, year_in_range, year_range_message
from ..limits import api_token, configured, limiter, retry_after_seconds, too_many_message
from ..models import Area, Event, Pairing, Person, PersonSkill, Round, SessionMode
from ..rounds import services as rounds
from ..tracking import hours as tracking
from . import tokens
from .openapi import MAX_EVENTS, MAX_ID, MAX_PER_PAGE, openapi_document

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates by bearer token, never by cookie, so CSRF does not apply to it.
csrf.exempt(bp)
limiter.limit(configured("API_LIMIT_PER_CLIENT"))(bp)
limiter.limit(configured("API_LIMIT_PER_ACCOUNT"), key_func=api_token)(bp)

PREFIX = "/api/v1/"


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


def error_response(status: int, code: str, message: str, field: str | None = None):
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="mentor-match"' + (
            ', error="invalid_token"' if code == "invalid_token" else ""
        )
    return response


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return error_response(error.status, error.code, error.message, error.field)


# The site's HTML pages for these codes are registered on the app by code, which Flask
# prefers to a blueprint's handler by class; so the API names the codes too.
@bp.errorhandler(HTTPException)
@bp.errorhandler(400)
@bp.errorhandler(403)
@bp.errorhandler(404)
@bp.errorhandler(413)
@bp.errorhandler(429)
def _http_error(error: HTTPException):
    code = (error.name or "error").lower().replace(" ", "_")
    if error.code == 429:  # Flask-Limiter's description is the limit's notation, not a sentence
        return error_response(429, code, too_many_message(retry_after_seconds()))
    return error_response(error.code or 500, code, error.description or error.name)


@bp.before_app_request
def _json_routing_errors():
    """Unknown paths and methods under /api/v1/ answer in JSON, not the site's HTML pages."""
    failure = request.routing_exception
    if request.path.startswith(PREFIX) and isinstance(failure, (NotFound, MethodNotAllowed)):
        response = error_response(
            failure.code,
            "not_found" if failure.code == 404 else "method_not_allowed",
            "No such resource." if failure.code == 404 else "Method not allowed.",
        )
        if isinstance(failure, MethodNotAllowed) and failure.valid_methods:
            response.headers["Allow"] = ", ".join(failure.valid_methods)
        return response
    return None


@bp.after_app_request
def _no_store(response):
    if request.path.startswith(PREFIX):
        response.headers["Cache-Control"] = "no-store"
        if response.status_code >= 500 and not response.is_json:
            return error_response(
                response.status_code, "server_error", "Something went wrong on our side."
            )
    return response


# Authentication and permissions -------------------------------------------------------------


def token_required(view=None, *, admin: bool = False):
    """The request must carry a live token of an active person (and an admin's, if asked)."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            token = tokens.bearer_token()
            if token is None:
                raise ApiError(
                    401,
                    "unauthenticated",
                    "Send a personal access token: Authorization: Bearer <token>.",
                )
            person = tokens.person_for_token(token)
            if person is None:
                raise ApiError(
                    401,
                    "invalid_token",
                    "The token is unknown, revoked, or its person is inactive.",
                )
            if admin and not person.is_admin:
                raise ApiError(403, "forbidden", "Only admins may use this endpoint.")
            g.api_person = person
            return view(*args, **kwargs)

        return guarded

    return decorate(view) if view is not None else decorate


def me() -> Person:
    return g.api_person


def _visible_person(person_id: int) -> Person:
    """The person, if the caller may see them (themselves, or anyone for an admin), else 404."""
    caller = me()
    person = db.session.get(Person, person_id) if 1 <= person_id <= MAX_ID else None
    if person is None or not (caller.is_admin or person.id == caller.id):
        raise ApiError(404, "not_found", "No such person.")
    return person


def _int_arg(name: str, default: int, low: int, high: int) -> int:
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


# Serialisation ------------------------------------------------------------------------------


def instant(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def person_ref(person: Person) -> dict:
    return {"id": person.id, "name": person.name}


def person_json(person: Person) -> dict:
    return {
        "id": person.id,
        "name": person.name,
        "email": person.email,
        "roles": person.roles,
        "active": person.active,
        "timezone": person.timezone,
        "bio": person.bio or "",
        "open_to_bookings": person.open_to_bookings,
        "site": None
        if person.site is None
        else {"id": person.site.id, "name": person.site.name, "timezone": person.site.timezone},
    }


def skill_ref(skill) -> dict:
    return {"id": skill.id, "name": skill.name, "area": skill.area.name, "key": skill.key}


def person_skill_json(held: PersonSkill) -> dict:
    """A stage with where it comes from; who verified it and when, once it is verified."""
    verified = held.stage_verified
    return {
        "micro_skill": skill_ref(held.micro_skill),
        "stage": str(held.stage),
        "hosts": held.hosts,
        "develops": held.develops,
        "stage_source": str(held.stage_source),
        "stage_verified": verified,
        "verified_by": person_ref(held.stage_set_by) if verified and held.stage_set_by else None,
        "verified_at": instant(held.stage_set_at) if verified else None,
    }


def round_json(round_: Round) -> dict:
    return {
        "id": round_.id,
        "month": round_.month,
        "status": str(round_.status),
        "confirm_by": instant(round_.confirm_by),
        "created_at": instant(round_.created_at),
        "opened_at": instant(round_.opened_at),
        "published_at": instant(round_.published_at),
    }


def pairing_json(pairing: Pairing) -> dict:
    return {
        "id": pairing.id,
        "month": pairing.round.month,
        "apprentice": person_ref(pairing.apprentice),
        "master": person_ref(pairing.master),
        "micro_skills": [skill_ref(skill) for skill in pairing.micro_skills],
        "apprentice_response": str(pairing.apprentice_response),
        "master_response": str(pairing.master_response),
        "status": str(pairing.status),
        "created_at": instant(pairing.created_at),
    }


def session_json(session, seat) -> dict:
    return {
        "id": session.id,
        "seat_id": seat.id if seat is not None else None,
        "role": "host" if seat is None else "observer",
        "starts_at": instant(seat.starts_at if seat else session.starts_at),
        "ends_at": instant(seat.ends_at if seat else session.ends_at),
        "mode": str(session.mode),
        "master": person_ref(session.master),
        "micro_skill": skill_ref(session.micro_skill) if session.micro_skill else None,
        "site": None
        if session.site is None
        else {"id": session.site.id, "name": session.site.name},
        "seats": session.seats,
        "observers": len(session.observers_live),
    }


# Endpoints ----------------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API (public)."""
    return jsonify(openapi_document())


@bp.get("/me")
@token_required
def get_me():
    return jsonify(person_json(me()))


@bp.get("/people")
@token_required
def list_people():
    page = _int_arg("page", 1, 1, 1_000_000)
    per_page = _int_arg("per_page", 20, 1, MAX_PER_PAGE)
    if me().is_admin:
        total = db.session.scalar(select(func.count()).select_from(Person))
        people = list(
            db.session.scalars(
                select(Person)
                .options(selectinload(Person.site))
                .order_by(Person.id)
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
        )
    else:
        total, people = 1, ([me()] if page == 1 else [])
    return jsonify(
        {
            "items": [person_json(p) for p in people],
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


@bp.get("/people/<int:person_id>")
@token_required
def get_person(person_id: int):
    return jsonify(person_json(_visible_person(person_id)))


@bp.get("/skills")
@token_required
def list_skills():
    areas = db.session.scalars(
        select(Area).options(selectinload(Area.micro_skills)).order_by(Area.name)
    )
    return jsonify(
        {
            "areas": [
                {
                    "id": area.id,
                    "name": area.name,
                    "description": area.description or "",
                    "micro_skills": [
                        {
                            "id": s.id,
                            "name": s.name,
                            "description": s.description or "",
                            "key": s.key,
                        }
                        for s in area.micro_skills
                    ],
                }
                for area in areas
            ]
        }
    )


@bp.get("/people/<int:person_id>/skills")
@token_required
def person_skills(person_id: int):
    person = _visible_person(person_id)
    rows = db.session.scalars(
        select(PersonSkill)
        .where(PersonSkill.person_id == person.id)
        .options(selectinload(PersonSkill.micro_skill), selectinload(PersonSkill.stage_set_by))
    )
    items = sorted(
        (person_skill_json(row) for row in rows), key=lambda item: item["micro_skill"]["key"]
    )
    return jsonify({"person_id": person.id, "skills": items})


@bp.get("/people/<int:person_id>/availability")
@token_required
def person_availability(person_id: int):
    person = _visible_person(person_id)
    raw = request.args.get("month")
    try:
        month = Month.parse(raw) if raw is not None else default_month(person)
    except MonthError as problem:
        raise ApiError(422, "invalid", str(problem), "month") from None
    intervals = availability_by_person(month, [person.id]).get(person.id, [])
    return jsonify(
        {
            "person_id": person.id,
            "month": str(month),
            "timezone": person.timezone,
            "intervals": [
                {
                    "start": instant(i.start_utc),
                    "end": instant(i.end_utc),
                    "modes": [
                        m for m, on in (("in_person", i.in_person), ("virtual", i.virtual)) if on
                    ],
                }
                for i in intervals
            ],
        }
    )


@bp.get("/rounds")
@token_required(admin=True)
def list_rounds():
    return jsonify({"items": [round_json(r) for r in rounds.all_rounds()]})


@bp.get("/rounds/<month>")
@token_required(admin=True)
def get_round(month: str):
    round_ = rounds.round_for(month) if len(month) == 7 else None
    if round_ is None:
        raise ApiError(404, "not_found", "No round for that month.")
    pairings = db.session.scalars(
        select(Pairing).where(Pairing.round_id == round_.id).order_by(Pairing.id)
    )
    return jsonify({**round_json(round_), "pairings": [pairing_json(p) for p in pairings]})


@bp.get("/pairings")
@token_required
def list_pairings():
    person = me()
    if "person_id" in request.args:
        person = _visible_person(_int_arg("person_id", 0, 1, MAX_ID))
    return jsonify(
        {"person_id": person.id, "items": [pairing_json(p) for p in rounds.pairings_of(person)]}
    )


def _date_arg(name: str) -> date | None:
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


@bp.get("/sessions")
@token_required
def list_sessions():
    """Upcoming sessions the caller hosts or observes, optionally between two dates (UTC days)."""
    start_day, end_day = _date_arg("from"), _date_arg("to")
    if start_day and end_day and end_day < start_day:
        raise ApiError(422, "invalid", "to must be on or after from.", "to")
    start = datetime.combine(start_day, time(), UTC) if start_day else None
    end = datetime.combine(end_day, time(), UTC) + timedelta(days=1) if end_day else None
    return jsonify({"items": [session_json(a.session, a.seat) for a in upcoming(me(), start, end)]})


BOOKING_FIELDS = ("master_id", "starts_at", "hours", "mode")


def _json_body() -> object:
    """The request's JSON body (None if it sends none), or a 422 saying why it cannot be read."""
    if not request.is_json:
        return None
    try:
        return parse_json(request.get_data())
    except JSONInputError as error:
        raise ApiError(422, "invalid", f"The body is not JSON: {error}.", "body") from None


def _booking_body() -> tuple[Person, datetime, int, SessionMode]:
    body = _json_body()
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


@bp.post("/sessions")
@token_required
def book_session():
    master, starts_at, hours, mode = _booking_body()
    try:
        seat = book(me(), master, starts_at, starts_at + timedelta(hours=hours), mode)
    except Refusal as refusal:
        raise ApiError(409, "booking_refused", str(refusal)) from None
    return jsonify(session_json(seat.session, seat)), 201


@bp.get("/hours")
@token_required
def my_hours():
    """The caller's host-verified observation hours, by micro skill and by month (their zone)."""
    person = me()
    seats = tracking.verified_seats(apprentice_ids=[person.id])
    by_skill = tracking.hours_by_skill(seats)
    names = tracking.skill_names(by_skill)
    return jsonify(
        {
            "person_id": person.id,
            "total_hours": round(sum(s.hours for s in seats), 2),
            "by_micro_skill": sorted(
                (
                    {
                        "micro_skill_id": skill_id,
                        "name": names.get(skill_id),
                        "hours": round(hours, 2),
                    }
                    for skill_id, hours in by_skill.items()
                ),
                key=lambda item: (item["name"] is None, item["name"] or ""),
            ),
            "by_month": [
                {"month": month, "hours": round(hours, 2)}
                for month, hours in tracking.hours_by_month(seats, person.zone).items()
            ],
        }
    )


@bp.get("/events")
@token_required(admin=True)
def list_events():
    """Events after the given id, oldest first: poll every minute with the last id seen."""
    after = _int_arg("after", 0, 0, MAX_ID)
    limit = _int_arg("limit", 100, 1, MAX_EVENTS)
    events = list(
        db.session.scalars(select(Event).where(Event.id > after).order_by(Event.id).limit(limit))
    )
    return jsonify(
        {
            "items": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "created_at": instant(e.created_at),
                    "data": json.loads(e.payload_json),
                }
                for e in events
            ],
            "last_id": events[-1].id if events else after,
        }
    )
