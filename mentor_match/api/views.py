"""The JSON API, version 1: personal access tokens act as their person, with the site's rules.

A person reads their own data; admins read everyone's. Every error is JSON,
{"error": {"code": ..., "message": ..., "field": ...}}, with the matching status
(see ``api.failures``).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

from flask import Blueprint, jsonify, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..allowances.managers import set_manager
from ..availability.expansion import Month, MonthError
from ..availability.services import availability_by_person, default_month
from ..booking.actions import book
from ..booking.diary import upcoming
from ..extensions import csrf, db
from ..inputs import MAX_ID
from ..limits import api_token, configured, limiter
from ..models import Area, Event, Pairing, Person, PersonSkill
from ..rounds import answers, opening
from ..tracking import hours as tracking
from .access import me, token_required, visible_person
from .arguments import MAX_EVENTS, MAX_PER_PAGE, booking_body, date_arg, int_arg, manager_body
from .failures import ApiError, answer_in_json
from .openapi import openapi_document
from .representations import (
    instant,
    pairing_json,
    person_json,
    person_skill_json,
    round_json,
    session_json,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# The API authenticates by bearer token, never by cookie, so CSRF does not apply to it.
csrf.exempt(bp)
limiter.limit(configured("API_LIMIT_PER_CLIENT"))(bp)
limiter.limit(configured("API_LIMIT_PER_ACCOUNT"), key_func=api_token)(bp)
answer_in_json(bp)


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
    page = int_arg("page", 1, 1, 1_000_000)
    per_page = int_arg("per_page", 20, 1, MAX_PER_PAGE)
    if me().is_admin:
        total = db.session.scalar(select(func.count()).select_from(Person))
        people = list(
            db.session.scalars(
                select(Person)
                .options(selectinload(Person.site), selectinload(Person.manager))
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
    return jsonify(person_json(visible_person(person_id)))


@bp.put("/people/<int:person_id>/manager")
@token_required(admin=True)
def set_person_manager(person_id: int):
    """An admin sets a person's manager ({"manager_id": id}), or clears it (null)."""
    person = visible_person(person_id)
    manager = manager_body()
    # A refusal (themselves, or a cycle) answers 409 "manager_refused" with its message;
    # set_manager commits the change with its change-log entry.
    set_manager(me(), person, manager)
    return jsonify(person_json(person))


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
    person = visible_person(person_id)
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
    person = visible_person(person_id)
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
    return jsonify({"items": [round_json(r) for r in opening.all_rounds()]})


@bp.get("/rounds/<month>")
@token_required(admin=True)
def get_round(month: str):
    round_ = opening.round_for(month) if len(month) == 7 else None
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
        person = visible_person(int_arg("person_id", 0, 1, MAX_ID))
    return jsonify(
        {"person_id": person.id, "items": [pairing_json(p) for p in answers.pairings_of(person)]}
    )


@bp.get("/sessions")
@token_required
def list_sessions():
    """Upcoming sessions the caller hosts or observes, optionally between two dates (UTC days)."""
    start_day, end_day = date_arg("from"), date_arg("to")
    if start_day and end_day and end_day < start_day:
        raise ApiError(422, "invalid", "to must be on or after from.", "to")
    start = datetime.combine(start_day, time(), UTC) if start_day else None
    end = datetime.combine(end_day, time(), UTC) + timedelta(days=1) if end_day else None
    return jsonify({"items": [session_json(a.session, a.seat) for a in upcoming(me(), start, end)]})


@bp.post("/sessions")
@token_required
def book_session():
    master, starts_at, hours, mode = booking_body()
    # A refusal answers 409 "booking_refused" with its message (api.failures).
    seat = book(me(), master, starts_at, starts_at + timedelta(hours=hours), mode)
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
    after = int_arg("after", 0, 0, MAX_ID)
    limit = int_arg("limit", 100, 1, MAX_EVENTS)
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
