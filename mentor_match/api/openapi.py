"""The OpenAPI 3.1 description of /api/v1: its paths, put together with ``api.schemas``' components.

Built as plain data and served at /api/v1/openapi.json.
"""

from __future__ import annotations

from ..inputs import MAX_ID
from .arguments import MAX_EVENTS, MAX_PER_PAGE
from .schemas import ID, MONTH, RESPONSES, SCHEMAS, ref

BEARER = [{"bearerAuth": []}]


def _json(schema_name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": ref(schema_name)}},
    }


def _errors(*names: str) -> dict:
    codes = {
        "Unauthorized": "401",
        "Forbidden": "403",
        "NotFound": "404",
        "ValidationError": "422",
        "Conflict": "409",
        "TooManyRequests": "429",
    }
    # Every operation is rate limited (mentor_match.limits), so every one may answer 429.
    return {
        codes[name]: {"$ref": f"#/components/responses/{name}"}
        for name in (*names, "TooManyRequests")
    }


def _query(name: str, schema: dict, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


PERSON_ID = {
    "name": "person_id",
    "in": "path",
    "required": True,
    "schema": ID,
    "description": "A person's id: your own, or anyone's for an admin.",
}


def _get(
    operation_id: str,
    summary: str,
    schema: str,
    *errors: str,
    parameters=None,
    description: str = "",
    tags=("people",),
) -> dict:
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "tags": list(tags),
        "security": BEARER,
        "responses": {"200": _json(schema, "OK"), **_errors("Unauthorized", *errors)},
    }
    if description:
        operation["description"] = description
    if parameters:
        operation["parameters"] = parameters
    return {"get": operation}


def openapi_document() -> dict:
    """The whole document; it is plain data, so tests validate it as it is served."""
    paths = {
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "tags": ["meta"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        "/api/v1/me": _get("getMe", "The token's person", "Person"),
        "/api/v1/people": _get(
            "listPeople",
            "People (admins: everyone; others: themselves)",
            "PeoplePage",
            "ValidationError",
            parameters=[
                _query(
                    "page",
                    {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1},
                    "The page, from 1.",
                ),
                _query(
                    "per_page",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
                    f"People per page, at most {MAX_PER_PAGE}.",
                ),
            ],
        ),
        "/api/v1/people/{person_id}": _get(
            "getPerson", "One person", "Person", "NotFound", parameters=[PERSON_ID]
        ),
        "/api/v1/people/{person_id}/manager": {
            "put": {
                "operationId": "setPersonManager",
                "summary": "Set or clear a person's manager (admins)",
                "tags": ["people"],
                "description": (
                    "The manager grants the person's learning time and decides their requests "
                    "for more. A person cannot manage themselves, nor be managed by someone "
                    "they manage, directly or through others (409 manager_refused)."
                ),
                "security": BEARER,
                "parameters": [PERSON_ID],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("ManagerRequest")}},
                },
                "responses": {
                    "200": _json("Person", "The person, with their manager."),
                    **_errors(
                        "Unauthorized", "Forbidden", "NotFound", "Conflict", "ValidationError"
                    ),
                },
            }
        },
        "/api/v1/skills": _get(
            "listSkills", "Areas of mastery and their micro skills", "Taxonomy", tags=("skills",)
        ),
        "/api/v1/people/{person_id}/skills": _get(
            "getPersonSkills",
            "A person's stage in each micro skill",
            "PersonSkills",
            "NotFound",
            parameters=[PERSON_ID],
            tags=("skills",),
        ),
        "/api/v1/people/{person_id}/availability": _get(
            "getPersonAvailability",
            "A person's availability in a month, in UTC",
            "Availability",
            "NotFound",
            "ValidationError",
            parameters=[
                PERSON_ID,
                _query(
                    "month",
                    MONTH,
                    "YYYY-MM; by default the month after the current one in the person's zone.",
                ),
            ],
            tags=("availability",),
        ),
        "/api/v1/rounds": _get(
            "listRounds",
            "Every matching round (admins)",
            "RoundList",
            "Forbidden",
            tags=("rounds",),
        ),
        "/api/v1/rounds/{month}": _get(
            "getRound",
            "One round and its pairings (admins)",
            "RoundDetail",
            "Forbidden",
            "NotFound",
            parameters=[{"name": "month", "in": "path", "required": True, "schema": MONTH}],
            tags=("rounds",),
        ),
        "/api/v1/pairings": _get(
            "listPairings",
            "Pairings as apprentice or master",
            "PairingList",
            "NotFound",
            "ValidationError",
            parameters=[_query("person_id", ID, "Admins: whose pairings (default: your own).")],
            tags=("rounds",),
        ),
        "/api/v1/sessions": {
            **_get(
                "listSessions",
                "Your upcoming sessions, hosting or observing",
                "SessionList",
                "ValidationError",
                tags=("sessions",),
                parameters=[
                    _query(
                        "from",
                        {"type": "string", "format": "date"},
                        "First UTC day (YYYY-MM-DD); default now.",
                    ),
                    _query(
                        "to", {"type": "string", "format": "date"}, "Last UTC day (YYYY-MM-DD)."
                    ),
                ],
            ),
            "post": {
                "operationId": "bookSession",
                "summary": "Book a seat with a master",
                "tags": ["sessions"],
                "description": (
                    "Books under the same rules as the site: the master must host a micro "
                    "skill you develop, be free, and both of you within your month's limits."
                ),
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("BookingRequest")}},
                },
                "responses": {
                    "201": _json("Session", "Booked: your seat."),
                    **_errors("Unauthorized", "Conflict", "ValidationError"),
                },
            },
        },
        "/api/v1/hours": _get(
            "getHours",
            "Your verified observation hours",
            "Hours",
            tags=("progress",),
            description="Hours the masters confirmed, by micro skill and by month "
            "(in your time zone).",
        ),
        "/api/v1/events": _get(
            "listEvents",
            "Events after an id (admins): the polling endpoint",
            "EventPage",
            "Forbidden",
            "ValidationError",
            tags=("events",),
            description="Other systems poll this every minute with the last id they saw "
            "(`after=last_id`), and get what happened since, oldest first. Events are "
            "written in the transaction of what they report, so none is missed.",
            parameters=[
                _query(
                    "after",
                    {"type": "integer", "minimum": 0, "maximum": MAX_ID, "default": 0},
                    "The last event id already seen.",
                ),
                _query(
                    "limit",
                    {"type": "integer", "minimum": 1, "maximum": MAX_EVENTS, "default": 100},
                    f"At most this many events (up to {MAX_EVENTS}).",
                ),
            ],
        ),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Mentor Match API",
            "version": "1.0.0",
            "description": "Read your data and book sessions with a personal access token, made "
            "at /account/tokens. A token acts as its person: people see their own "
            "data, admins everyone's. Errors are JSON: "
            '{"error": {"code", "message", "field"}}.',
        },
        "servers": [{"url": "/"}],
        "security": BEARER,
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (mm_...).",
                }
            },
        },
    }
