"""The JSON API: tokens, permissions, booking, validation, pagination and the OpenAPI document."""

import hashlib
import json
import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import select

from mentor_match.api import tokens
from mentor_match.api.openapi import openapi_document
from mentor_match.extensions import db
from mentor_match.integrations.events import SESSION_BOOKED, record_event
from mentor_match.models import ApiToken, Event, SessionObserver, Stage, StageSource, utcnow

from .factories import (
    first_open_slot,
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_master,
    make_round,
)


@pytest.fixture
def client(app):
    return app.test_client()


def token_for(person, name="test") -> str:
    return tokens.create_token(person, name)[1]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def api_get(client, url, token, **kwargs):
    return client.get(url, headers=bearer(token), **kwargs)


# Tokens and the token page --------------------------------------------------------------------


def _log_in(client, person):
    from .conftest import log_in

    assert log_in(client, person).status_code == 302


def test_making_a_token_shows_it_once_and_stores_only_its_digest(client):
    person = make_apprentice("Tok Owner")
    _log_in(client, person)
    response = client.post("/account/tokens", data={"name": "HR system"})
    assert response.status_code == 200
    page = unescape(response.get_data(as_text=True))
    shown = re.search(r'value="(mm_[A-Za-z0-9_-]{40,})"', page)
    assert shown, "the new token is shown"
    token = shown[1]
    row = db.session.scalars(select(ApiToken)).one()
    assert row.name == "HR system" and row.person_id == person.id
    assert row.digest == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[: len(row.prefix)] and len(row.prefix) < len(token)
    assert token not in json.dumps([str(v) for v in row.__dict__.values()])
    assert response.headers["Cache-Control"] == "no-store"
    # The list shows the token by name and prefix, never the token itself again.
    again = unescape(client.get("/account/tokens").get_data(as_text=True))
    assert "HR system" in again and row.prefix in again and token not in again
    assert api_get(client, "/api/v1/me", token).get_json()["id"] == person.id


def test_token_names_must_be_1_to_100_characters(client):
    _log_in(client, make_apprentice())
    assert client.post("/account/tokens", data={"name": "  "}).status_code == 422
    assert client.post("/account/tokens", data={"name": "x" * 101}).status_code == 422
    assert db.session.scalars(select(ApiToken)).all() == []


def test_revoking_a_token_ends_it_and_only_the_owner_may(client):
    owner, other = make_apprentice("Owner"), make_apprentice("Other")
    row, token = tokens.create_token(owner, "laptop")
    _log_in(client, other)
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 404
    assert api_get(client, "/api/v1/me", token).status_code == 200
    client.get("/logout")
    client = client.application.test_client()
    _log_in(client, owner)
    assert client.post(f"/account/tokens/{row.id}/revoke").status_code == 302
    db.session.refresh(row)
    assert row.revoked_at is not None
    response = api_get(client, "/api/v1/me", token)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"]["code"] == "invalid_token"


def test_the_token_page_needs_a_log_in(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer mm_not-a-token", "Basic abc", "Token mm_x"]
)
def test_missing_or_unknown_tokens_get_401_in_json(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.is_json and set(response.get_json()["error"]) >= {"code", "message"}
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_inactive_persons_token_gets_401(client):
    person = make_apprentice()
    token = token_for(person)
    person.active = False
    db.session.commit()
    assert api_get(client, "/api/v1/me", token).status_code == 401


def test_last_used_is_written_at_most_once_a_minute(client):
    person = make_apprentice()
    row, token = tokens.create_token(person, "poller")
    api_get(client, "/api/v1/me", token)
    db.session.refresh(row)
    first = row.last_used_at
    assert first is not None
    api_get(client, "/api/v1/me", token)
    db.session.refresh(row)
    assert row.last_used_at == first
    row.last_used_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    api_get(client, "/api/v1/me", token)
    db.session.refresh(row)
    assert row.last_used_at > first


def test_a_session_cookie_is_not_enough(client):
    person = make_apprentice()
    _log_in(client, person)
    assert client.get("/api/v1/me").status_code == 401


# Permissions ----------------------------------------------------------------------------------


def test_an_apprentice_sees_only_themselves_and_an_admin_sees_everyone(client):
    alice, bob, admin = make_apprentice("Alice"), make_apprentice("Bob"), make_admin("Ada Admin")
    alice_token, admin_token = token_for(alice), token_for(admin)
    for path in ("", "/skills", "/availability"):
        assert api_get(client, f"/api/v1/people/{alice.id}{path}", alice_token).status_code == 200
        hidden = api_get(client, f"/api/v1/people/{bob.id}{path}", alice_token)
        assert hidden.status_code == 404 and hidden.get_json()["error"]["code"] == "not_found"
        assert api_get(client, f"/api/v1/people/{bob.id}{path}", admin_token).status_code == 200
    assert api_get(client, "/api/v1/people/999999", admin_token).status_code == 404
    listed = api_get(client, "/api/v1/people", alice_token).get_json()
    assert [p["id"] for p in listed["items"]] == [alice.id] and listed["total"] == 1
    assert api_get(client, f"/api/v1/pairings?person_id={bob.id}", alice_token).status_code == 404
    assert api_get(client, f"/api/v1/pairings?person_id={bob.id}", admin_token).status_code == 200


def test_rounds_and_events_need_an_admin_token(client):
    apprentice, admin = make_apprentice(), make_admin()
    round_ = make_round()
    for path in ("/api/v1/events", "/api/v1/rounds", f"/api/v1/rounds/{round_.month}"):
        refused = api_get(client, path, token_for(apprentice))
        assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
        assert api_get(client, path, token_for(admin)).status_code == 200
    assert api_get(client, "/api/v1/rounds/1999-01", token_for(admin)).status_code == 404


def test_events_come_in_order_after_the_last_id_seen(client):
    admin = make_admin()
    token = token_for(admin)
    for n in range(5):
        record_event(SESSION_BOOKED, seat_id=n)
    db.session.commit()
    ids = list(db.session.scalars(select(Event.id).order_by(Event.id)))
    body = api_get(client, f"/api/v1/events?after={ids[1]}&limit=2", token).get_json()
    assert [e["id"] for e in body["items"]] == ids[2:4]
    assert body["items"][0]["kind"] == SESSION_BOOKED and body["items"][0]["data"] == {"seat_id": 2}
    assert body["last_id"] == ids[3]
    rest = api_get(client, f"/api/v1/events?after={body['last_id']}", token).get_json()
    assert [e["id"] for e in rest["items"]] == ids[4:] and rest["last_id"] == ids[4]
    empty = api_get(client, f"/api/v1/events?after={ids[4]}", token).get_json()
    assert empty == {"items": [], "last_id": ids[4]}
    too_many = api_get(client, "/api/v1/events?limit=501", token)
    assert too_many.status_code == 422 and too_many.get_json()["error"]["field"] == "limit"


def test_skills_lists_areas_and_micro_skills(client):
    make_area("Negotiation", skills=("Anchoring", "Closing"))
    body = api_get(client, "/api/v1/skills", token_for(make_apprentice())).get_json()
    assert [(a["name"], [s["name"] for s in a["micro_skills"]]) for a in body["areas"]] == [
        ("Negotiation", ["Anchoring", "Closing"])
    ]


def test_a_persons_skills_say_where_each_stage_comes_from(client):
    from jsonschema import Draft202012Validator

    anchoring, closing, concessions = make_area(
        "Negotiation", skills=("Anchoring", "Closing", "Concessions")
    ).micro_skills
    endorser, master = make_master("Endorser"), make_master("Amara")
    give_skill(master, anchoring, "master", hosts=True).set_stage(
        Stage.MASTER, StageSource.ENDORSED, by=endorser, note="Watched her anchor."
    )
    give_skill(master, closing, "master", hosts=True, source=StageSource.SELF_DECLARED)
    give_skill(master, concessions, "journeyman", hosts=True)  # an admin's, account since gone
    db.session.commit()

    response = api_get(client, f"/api/v1/people/{master.id}/skills", token_for(master))

    body = response.get_json()
    endorsed, self_declared, by_admin = body["skills"]
    assert {k: endorsed[k] for k in ("stage", "stage_source", "stage_verified", "verified_by")} == {
        "stage": "master",
        "stage_source": "endorsed",
        "stage_verified": True,
        "verified_by": {"id": endorser.id, "name": "Endorser"},
    }
    assert endorsed["verified_at"].endswith("Z")
    assert {
        k: self_declared[k]
        for k in ("stage_source", "stage_verified", "verified_by", "verified_at")
    } == {
        "stage_source": "self_declared",
        "stage_verified": False,
        "verified_by": None,
        "verified_at": None,
    }
    assert (by_admin["stage_source"], by_admin["verified_by"]) == ("admin", None)
    assert by_admin["verified_at"] is not None
    document = openapi_document()
    schema = {"$ref": "#/components/schemas/PersonSkills", "components": document["components"]}
    assert not list(Draft202012Validator(schema).iter_errors(body))


def test_unknown_api_paths_answer_in_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/me")
    assert response.status_code == 405 and response.is_json


# Pagination -----------------------------------------------------------------------------------


def test_admins_page_through_everyone(client):
    admin = make_admin()
    for n in range(4):
        make_apprentice(f"Pager {n}")
    token = token_for(admin)
    first = api_get(client, "/api/v1/people?per_page=2", token).get_json()
    third = api_get(client, "/api/v1/people?per_page=2&page=3", token).get_json()
    assert first["total"] == 5 and len(first["items"]) == 2 and first["page"] == 1
    assert len(third["items"]) == 1
    everyone = [
        p["id"]
        for page in (1, 2, 3)
        for p in api_get(client, f"/api/v1/people?per_page=2&page={page}", token).get_json()[
            "items"
        ]
    ]
    assert len(set(everyone)) == 5
    for query, field in (("per_page=101", "per_page"), ("page=0", "page"), ("page=x", "page")):
        refused = api_get(client, f"/api/v1/people?{query}", token)
        assert refused.status_code == 422 and refused.get_json()["error"]["field"] == field


# Booking --------------------------------------------------------------------------------------


def _body(master, slot, **changes):
    body = {
        "master_id": master.id,
        "starts_at": slot.starts_at.isoformat(),
        "hours": 1,
        "mode": "virtual",
    }
    body.update(changes)
    return body


def test_booking_through_the_api(client, office):
    master, apprentice = office["master"], office["apprentices"][0]
    token = token_for(apprentice)
    slot = first_open_slot(master, apprentice)
    response = client.post("/api/v1/sessions", json=_body(master, slot), headers=bearer(token))
    assert response.status_code == 201, response.get_json()
    booked = response.get_json()
    assert booked["role"] == "observer" and booked["master"]["id"] == master.id
    seat = db.session.get(SessionObserver, booked["seat_id"])
    assert seat.apprentice_id == apprentice.id and seat.starts_at == slot.starts_at
    listed = api_get(client, "/api/v1/sessions", token).get_json()["items"]
    assert [s["seat_id"] for s in listed] == [seat.id]
    day = slot.starts_at.date()
    before = api_get(client, f"/api/v1/sessions?to={day - timedelta(days=1)}", token).get_json()
    assert before["items"] == []
    hosted = api_get(client, f"/api/v1/sessions?from={day}&to={day}", token_for(master)).get_json()
    assert [s["role"] for s in hosted["items"]] == ["host"]
    assert db.session.scalars(select(Event).where(Event.kind == SESSION_BOOKED)).first() is not None
    # The same hour again is refused with the service's own message.
    again = client.post("/api/v1/sessions", json=_body(master, slot), headers=bearer(token))
    assert again.status_code == 409
    assert (
        again.get_json()["error"]["code"] == "booking_refused"
        and again.get_json()["error"]["message"]
    )


def test_booking_a_person_who_does_not_host_is_refused_with_409(client, office):
    apprentice = office["apprentices"][0]
    slot = first_open_slot(office["master"], apprentice)
    stranger = make_master("Not Hosting")
    response = client.post(
        "/api/v1/sessions", json=_body(stranger, slot), headers=bearer(token_for(apprentice))
    )
    assert response.status_code == 409
    assert "Not Hosting" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"master_id": "1"}, "master_id"),
        ({"master_id": None}, "master_id"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": "2030-01-07T10:00:00"}, "starts_at"),
        ({"hours": 0}, "hours"),
        ({"hours": 1.5}, "hours"),
        ({"hours": True}, "hours"),
        ({"mode": "telepathy"}, "mode"),
        ({"extra": 1}, "extra"),
    ],
)
def test_booking_validation_names_the_field(client, office, changes, field):
    apprentice = office["apprentices"][0]
    slot = first_open_slot(office["master"], apprentice)
    response = client.post(
        "/api/v1/sessions",
        json=_body(office["master"], slot, **changes),
        headers=bearer(token_for(apprentice)),
    )
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field
    assert db.session.scalars(select(SessionObserver)).all() == []


def test_booking_needs_every_field_and_a_json_object(client, office):
    apprentice = office["apprentices"][0]
    token = token_for(apprentice)
    body = _body(office["master"], first_open_slot(office["master"], apprentice))
    del body["hours"]
    missing = client.post("/api/v1/sessions", json=body, headers=bearer(token))
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "hours"
    not_json = client.post("/api/v1/sessions", data="nope", headers=bearer(token))
    assert not_json.status_code == 422 and not_json.get_json()["error"]["field"] == "body"


def test_hours_are_the_callers_own(client):
    body = api_get(client, "/api/v1/hours", token_for(make_apprentice())).get_json()
    assert body["total_hours"] == 0 and body["by_micro_skill"] == [] and body["by_month"] == []


def test_availability_validates_the_month(client):
    person = make_apprentice()
    response = api_get(
        client, f"/api/v1/people/{person.id}/availability?month=2026-13", token_for(person)
    )
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "month"


# The OpenAPI document -------------------------------------------------------------------------


def test_the_openapi_document_is_public_valid_and_complete(app, client):
    from openapi_spec_validator import validate

    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document == json.loads(json.dumps(openapi_document()))
    assert document["openapi"].startswith("3.1")
    validate(document)
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
    for path, item in document["paths"].items():
        for operation in item.values():
            if operation.get("security") != []:
                assert "401" in operation["responses"], path


def test_schemathesis_finds_no_failures(app):
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    admin = make_admin("Schema Admin")
    apprentice = make_apprentice("Schema Apprentice")
    anchoring = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    give_skill(admin, anchoring, "master", hosts=True)  # verified, set by an admin
    give_skill(apprentice, anchoring, "apprentice", develops=True)  # self-declared
    make_round()
    record_event(SESSION_BOOKED, seat_id=1)
    db.session.commit()
    headers = bearer(token_for(admin))
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    tested, calls = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        tested.append(f"{operation.method.upper()} {operation.path}")

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            calls.append(case.call_and_validate(headers=headers, checks=checks).status_code)

        run()
    assert "POST /api/v1/sessions" in tested and "GET /api/v1/events" in tested
    assert len(calls) > 5 * len(tested) and 200 in calls
