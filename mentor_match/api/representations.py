"""What the API sends: each model as the JSON object its OpenAPI schema describes."""

from __future__ import annotations

from datetime import UTC, datetime

from ..models import Pairing, Person, PersonSkill, Round


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
        "manager": None if person.manager is None else person_ref(person.manager),
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
