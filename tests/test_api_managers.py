"""The API's manager: shown on the person resource, set or cleared by an admin, with the
refusals (themselves, a cycle) answered as 409 and bad bodies as 422, nothing changed."""

from jsonschema import Draft202012Validator

from mentor_match.api.openapi import openapi_document
from mentor_match.extensions import db
from mentor_match.models import Person

from .factories import make_admin, make_apprentice, make_master
from .test_api import api_get, bearer, token_for


def _put(client, person_id, body, token):
    return client.put(f"/api/v1/people/{person_id}/manager", json=body, headers=bearer(token))


def _manager_id(person):
    db.session.expire_all()
    return db.session.get(Person, person.id).manager_id


def test_the_person_resource_shows_the_manager(client):
    grace = make_master("Grace")
    tom = make_apprentice("Tom")
    tom.manager_id = grace.id
    db.session.commit()
    body = api_get(client, "/api/v1/me", token_for(tom)).get_json()
    assert body["manager"] == {"id": grace.id, "name": "Grace"}
    listed = api_get(client, "/api/v1/people", token_for(make_admin())).get_json()
    assert {p["name"]: p["manager"] for p in listed["items"]}["Grace"] is None
    document = openapi_document()
    schema = {"$ref": "#/components/schemas/Person", "components": document["components"]}
    assert not list(Draft202012Validator(schema).iter_errors(body))


def test_an_admin_sets_and_clears_a_manager(client):
    admin, grace, tom = make_admin(), make_master("Grace"), make_apprentice("Tom")
    token = token_for(admin)
    response = _put(client, tom.id, {"manager_id": grace.id}, token)
    assert response.status_code == 200
    assert response.get_json()["manager"] == {"id": grace.id, "name": "Grace"}
    assert _manager_id(tom) == grace.id
    response = _put(client, tom.id, {"manager_id": None}, token)
    assert response.status_code == 200 and response.get_json()["manager"] is None
    assert _manager_id(tom) is None


def test_self_management_and_cycles_are_refused_and_change_nothing(client):
    admin, grace, tom, uma = (
        make_admin(),
        make_master("Grace"),
        make_master("Tom"),
        make_apprentice("Uma"),
    )
    tom.manager_id = grace.id
    uma.manager_id = tom.id
    db.session.commit()
    token = token_for(admin)
    response = _put(client, grace.id, {"manager_id": grace.id}, token)
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "manager_refused",
        "message": "Grace cannot be their own manager.",
    }
    response = _put(client, grace.id, {"manager_id": uma.id}, token)
    assert response.status_code == 409
    assert response.get_json()["error"]["message"] == (
        "Uma reports to Grace, directly or through others, so cannot be Grace's manager."
    )
    assert (_manager_id(grace), _manager_id(tom), _manager_id(uma)) == (None, grace.id, tom.id)


def test_bad_bodies_are_422_and_non_admins_403(client):
    admin, tom = make_admin(), make_apprentice("Tom")
    token = token_for(admin)
    for body, field in (
        ({}, "body"),
        ({"manager_id": "7"}, "manager_id"),
        ({"manager_id": 999_999}, "manager_id"),
        ({"manager_id": None, "extra": 1}, "body"),
    ):
        response = _put(client, tom.id, body, token)
        assert response.status_code == 422, body
        assert response.get_json()["error"]["field"] == field
    assert _put(client, 999_999, {"manager_id": None}, token).status_code == 404
    assert _put(client, tom.id, {"manager_id": admin.id}, token_for(tom)).status_code == 403
    assert _manager_id(tom) is None
