"""The OpenAPI 3.1 description of /api/v1, built as a dict and served at /api/v1/openapi.json."""

from __future__ import annotations

from ..inputs import MAX_ID
from ..integrations.events import KINDS
from ..models import StageSource

MAX_PER_PAGE = 100
MAX_EVENTS = 500

BEARER = [{"bearerAuth": []}]


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        **extra,
    }


STRING = {"type": "string"}
INSTANT = {"type": "string", "format": "date-time", "description": "An instant in UTC (RFC 3339)."}
ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
HOURS = {"type": "number", "minimum": 0}
MONTH = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$", "examples": ["2026-11"]}
RESPONSE = {"type": "string", "enum": ["pending", "accepted", "declined"]}

SCHEMAS = {
    "Error": _obj(
        {
            "error": _obj(
                {
                    "code": {
                        "type": "string",
                        "description": "A stable machine-readable code, e.g. invalid_token.",
                    },
                    "message": {"type": "string", "description": "What went wrong, for people."},
                    "field": {
                        "type": "string",
                        "description": "The parameter or body field at fault, if any.",
                    },
                },
                ["code", "message"],
            )
        }
    ),
    "PersonRef": _obj({"id": ID, "name": STRING}),
    "Site": _obj({"id": ID, "name": STRING, "timezone": STRING}),
    "Person": _obj(
        {
            "id": ID,
            "name": STRING,
            "email": {"type": "string", "format": "email"},
            "roles": {
                "type": "array",
                "items": {"type": "string", "enum": ["admin", "master", "apprentice"]},
            },
            "active": {"type": "boolean"},
            "timezone": {"type": "string", "description": "IANA zone name."},
            "bio": STRING,
            "open_to_bookings": {"type": "boolean"},
            "site": _nullable(_ref("Site")),
        }
    ),
    "PeoplePage": _obj(
        {
            "items": {"type": "array", "items": _ref("Person")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
        }
    ),
    "MicroSkillRef": _obj(
        {
            "id": ID,
            "name": STRING,
            "area": STRING,
            "key": {"type": "string", "description": "area/skill slug, e.g. negotiation/anchoring"},
        }
    ),
    "Area": _obj(
        {
            "id": ID,
            "name": STRING,
            "description": STRING,
            "micro_skills": {
                "type": "array",
                "items": _obj({"id": ID, "name": STRING, "description": STRING, "key": STRING}),
            },
        }
    ),
    "Taxonomy": _obj({"areas": {"type": "array", "items": _ref("Area")}}),
    "PersonSkills": _obj(
        {
            "person_id": ID,
            "skills": {
                "type": "array",
                "items": _obj(
                    {
                        "micro_skill": _ref("MicroSkillRef"),
                        "stage": {"type": "string", "enum": ["apprentice", "journeyman", "master"]},
                        "hosts": {"type": "boolean"},
                        "develops": {"type": "boolean"},
                        "stage_source": {
                            "type": "string",
                            "enum": [source.value for source in StageSource],
                            "description": "Where the stage comes from: the person's own word (self_declared), "
                            "an endorsement by a master, an admin, or an import the admin trusted.",
                        },
                        "stage_verified": {
                            "type": "boolean",
                            "description": "Whether the stage is verified: any source but self_declared.",
                        },
                        "verified_by": {
                            **_nullable(_ref("PersonRef")),
                            "description": "Who endorsed or set the verified stage (for an import, the "
                            "admin who applied it); null if self-declared or that "
                            "account is gone.",
                        },
                        "verified_at": {
                            **_nullable(INSTANT),
                            "description": "When the stage was verified; null if self-declared.",
                        },
                    }
                ),
            },
        }
    ),
    "Availability": _obj(
        {
            "person_id": ID,
            "month": MONTH,
            "timezone": STRING,
            "intervals": {
                "type": "array",
                "items": _obj(
                    {
                        "start": INSTANT,
                        "end": INSTANT,
                        "modes": {
                            "type": "array",
                            "items": {"type": "string", "enum": ["in_person", "virtual"]},
                        },
                    }
                ),
            },
        }
    ),
    "Round": _obj(
        {
            "id": ID,
            "month": MONTH,
            "status": {"type": "string", "enum": ["draft", "open", "published"]},
            "confirm_by": INSTANT,
            "created_at": INSTANT,
            "opened_at": _nullable(INSTANT),
            "published_at": _nullable(INSTANT),
        }
    ),
    "RoundList": _obj({"items": {"type": "array", "items": _ref("Round")}}),
    "Pairing": _obj(
        {
            "id": ID,
            "month": MONTH,
            "apprentice": _ref("PersonRef"),
            "master": _ref("PersonRef"),
            "micro_skills": {"type": "array", "items": _ref("MicroSkillRef")},
            "apprentice_response": RESPONSE,
            "master_response": RESPONSE,
            "status": RESPONSE,
            "created_at": INSTANT,
        }
    ),
    "PairingList": _obj({"person_id": ID, "items": {"type": "array", "items": _ref("Pairing")}}),
    "Session": _obj(
        {
            "id": ID,
            "seat_id": _nullable(ID),
            "role": {"type": "string", "enum": ["host", "observer"]},
            "starts_at": INSTANT,
            "ends_at": INSTANT,
            "mode": {"type": "string", "enum": ["in_person", "virtual"]},
            "master": _ref("PersonRef"),
            "micro_skill": _nullable(_ref("MicroSkillRef")),
            "site": _nullable(_obj({"id": ID, "name": STRING})),
            "seats": {"type": "integer", "minimum": 1},
            "observers": {"type": "integer", "minimum": 0},
        }
    ),
    "SessionList": _obj({"items": {"type": "array", "items": _ref("Session")}}),
    "BookingRequest": _obj(
        {
            "master_id": {**ID, "description": "The master to observe."},
            "starts_at": {
                "type": "string",
                "format": "date-time",
                "description": "ISO 8601 with a UTC offset, e.g. 2026-11-03T10:00:00+00:00.",
            },
            "hours": {"type": "integer", "minimum": 1, "maximum": 4},
            "mode": {"type": "string", "enum": ["in_person", "virtual"]},
        },
        additionalProperties=False,
    ),
    "Hours": _obj(
        {
            "person_id": ID,
            "total_hours": HOURS,
            "by_micro_skill": {
                "type": "array",
                "items": _obj(
                    {"micro_skill_id": _nullable(ID), "name": _nullable(STRING), "hours": HOURS}
                ),
            },
            "by_month": {"type": "array", "items": _obj({"month": MONTH, "hours": HOURS})},
        }
    ),
    "Event": _obj(
        {
            "id": ID,
            "kind": {"type": "string", "enum": list(KINDS)},
            "created_at": INSTANT,
            "data": {
                "type": "object",
                "description": "What happened; its fields depend on the kind.",
            },
        }
    ),
    "EventPage": _obj(
        {
            "items": {"type": "array", "items": _ref("Event")},
            "last_id": {
                "type": "integer",
                "minimum": 0,
                "description": "Pass this as `after` on the next poll.",
            },
        }
    ),
}


def _error(description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": _ref("Error")}},
    }
    if headers:
        response["headers"] = headers
    return response


RESPONSES = {
    "Unauthorized": _error(
        "Missing, unknown or revoked token, or an inactive person.",
        {
            "WWW-Authenticate": {
                "description": "The Bearer challenge.",
                "schema": {"type": "string"},
            }
        },
    ),
    "Forbidden": _error("The token's person may not use this endpoint (admins only)."),
    "NotFound": _error("No such resource, or not one the token's person may see."),
    "ValidationError": _error("A parameter or body field is invalid; error.field names it."),
    "Conflict": _error("The booking was refused; error.message says why."),
    "TooManyRequests": _error(
        "Rate limited (per token and per client address); wait Retry-After seconds.",
        {
            "Retry-After": {
                "description": "Seconds until the limit lets a request through.",
                "schema": {"type": "integer"},
            }
        },
    ),
}


def _json(schema_name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ref(schema_name)}},
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
                "description": "Books under the same rules as the site: the master must host a micro skill "
                "you develop, be free, and both of you within your month's limits.",
                "security": BEARER,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("BookingRequest")}},
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
    schemas = {
        **SCHEMAS,
        "RoundDetail": {
            "allOf": [
                _ref("Round"),
                _obj({"pairings": {"type": "array", "items": _ref("Pairing")}}),
            ]
        },
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
            "schemas": schemas,
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
