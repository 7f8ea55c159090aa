"""The OpenAPI document's components: the shapes the API sends and reads, and its errors.

``api.openapi`` puts them together with the paths; ``api.representations`` builds the objects
these schemas describe.
"""

from __future__ import annotations

from ..inputs import MAX_ID
from ..integrations.events import KINDS
from ..models import StageSource
from .arguments import MAX_PER_PAGE


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(properties: dict, required: list[str] | None = None, **extra) -> dict:
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
    "Error": obj(
        {
            "error": obj(
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
    "PersonRef": obj({"id": ID, "name": STRING}),
    "Site": obj({"id": ID, "name": STRING, "timezone": STRING}),
    "Person": obj(
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
            "site": nullable(ref("Site")),
            "manager": {
                **nullable(ref("PersonRef")),
                "description": "Who grants their learning time; null: the admins.",
            },
        }
    ),
    "ManagerRequest": obj(
        {"manager_id": {**nullable(ID), "description": "The manager's id; null for none."}},
        additionalProperties=False,
    ),
    "PeoplePage": obj(
        {
            "items": {"type": "array", "items": ref("Person")},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": {"type": "integer", "minimum": 0},
        }
    ),
    "MicroSkillRef": obj(
        {
            "id": ID,
            "name": STRING,
            "area": STRING,
            "key": {"type": "string", "description": "area/skill slug, e.g. negotiation/anchoring"},
        }
    ),
    "Area": obj(
        {
            "id": ID,
            "name": STRING,
            "description": STRING,
            "micro_skills": {
                "type": "array",
                "items": obj({"id": ID, "name": STRING, "description": STRING, "key": STRING}),
            },
        }
    ),
    "Taxonomy": obj({"areas": {"type": "array", "items": ref("Area")}}),
    "PersonSkills": obj(
        {
            "person_id": ID,
            "skills": {
                "type": "array",
                "items": obj(
                    {
                        "micro_skill": ref("MicroSkillRef"),
                        "stage": {"type": "string", "enum": ["apprentice", "journeyman", "master"]},
                        "hosts": {"type": "boolean"},
                        "develops": {"type": "boolean"},
                        "stage_source": {
                            "type": "string",
                            "enum": [source.value for source in StageSource],
                            "description": (
                                "Where the stage comes from: the person's own word "
                                "(self_declared), an endorsement by a master, an admin, "
                                "or an import the admin trusted."
                            ),
                        },
                        "stage_verified": {
                            "type": "boolean",
                            "description": (
                                "Whether the stage is verified: any source but self_declared."
                            ),
                        },
                        "verified_by": {
                            **nullable(ref("PersonRef")),
                            "description": (
                                "Who endorsed or set the verified stage (for an import, the "
                                "admin who applied it); null if self-declared or that "
                                "account is gone."
                            ),
                        },
                        "verified_at": {
                            **nullable(INSTANT),
                            "description": "When the stage was verified; null if self-declared.",
                        },
                    }
                ),
            },
        }
    ),
    "Availability": obj(
        {
            "person_id": ID,
            "month": MONTH,
            "timezone": STRING,
            "intervals": {
                "type": "array",
                "items": obj(
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
    "Round": obj(
        {
            "id": ID,
            "month": MONTH,
            "status": {"type": "string", "enum": ["draft", "open", "published"]},
            "confirm_by": INSTANT,
            "created_at": INSTANT,
            "opened_at": nullable(INSTANT),
            "published_at": nullable(INSTANT),
        }
    ),
    "RoundList": obj({"items": {"type": "array", "items": ref("Round")}}),
    "Pairing": obj(
        {
            "id": ID,
            "month": MONTH,
            "apprentice": ref("PersonRef"),
            "master": ref("PersonRef"),
            "micro_skills": {"type": "array", "items": ref("MicroSkillRef")},
            "apprentice_response": RESPONSE,
            "master_response": RESPONSE,
            "status": RESPONSE,
            "created_at": INSTANT,
        }
    ),
    "PairingList": obj({"person_id": ID, "items": {"type": "array", "items": ref("Pairing")}}),
    "Session": obj(
        {
            "id": ID,
            "seat_id": nullable(ID),
            "role": {"type": "string", "enum": ["host", "observer"]},
            "starts_at": INSTANT,
            "ends_at": INSTANT,
            "mode": {"type": "string", "enum": ["in_person", "virtual"]},
            "master": ref("PersonRef"),
            "micro_skill": nullable(ref("MicroSkillRef")),
            "site": nullable(obj({"id": ID, "name": STRING})),
            "seats": {"type": "integer", "minimum": 1},
            "observers": {"type": "integer", "minimum": 0},
        }
    ),
    "SessionList": obj({"items": {"type": "array", "items": ref("Session")}}),
    "BookingRequest": obj(
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
    "Hours": obj(
        {
            "person_id": ID,
            "total_hours": HOURS,
            "by_micro_skill": {
                "type": "array",
                "items": obj(
                    {"micro_skill_id": nullable(ID), "name": nullable(STRING), "hours": HOURS}
                ),
            },
            "by_month": {"type": "array", "items": obj({"month": MONTH, "hours": HOURS})},
        }
    ),
    "Event": obj(
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
    "EventPage": obj(
        {
            "items": {"type": "array", "items": ref("Event")},
            "last_id": {
                "type": "integer",
                "minimum": 0,
                "description": "Pass this as `after` on the next poll.",
            },
        }
    ),
    "RoundDetail": {
        "allOf": [
            ref("Round"),
            obj({"pairings": {"type": "array", "items": ref("Pairing")}}),
        ]
    },
}


def _error(description: str, headers: dict | None = None) -> dict:
    response = {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
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
    "Conflict": _error(
        "The action was refused under the site's rules (a booking, or a manager who would "
        "manage themselves or their own manager); error.message says why."
    ),
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
