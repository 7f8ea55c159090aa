"""Rate limits per client and per account on log-in, reset mail, sign-up, /verify and the API
(reliability point 15). The suite runs with limits off; these tests use an app with them on."""

import pytest

from mentor_match import create_app
from mentor_match.api.tokens import create_token
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.limits import limiter
from mentor_match.models import OutboxMessage
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import DEFAULT_PASSWORD, make_person


@pytest.fixture(scope="module")
def limited_app():
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**settings, "RATELIMIT_ENABLED": True, "WTF_CSRF_ENABLED": False})
    yield app
    limiter.enabled = False  # one limiter object serves every app; leave it as the suite had it
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def limited(limited_app):
    """Clients of the limited app, each from its own address; counts start from zero."""
    with limited_app.app_context():
        limiter.reset()

    def client_from(address: str):
        client = limited_app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    return client_from


def _outbox_count() -> int:
    wait_for_background_jobs()
    db.session.expire_all()
    return count(OutboxMessage)


def test_reset_mail_to_one_person_is_limited_whoever_asks(limited):
    make_person(email="victim@example.org")
    statuses = [
        limited(f"203.0.113.{n}")
        .post("/forgot-password", data={"email": "victim@example.org"})
        .status_code
        for n in range(30)
    ]
    assert statuses[:2] == [302, 302] and set(statuses[2:]) == {429}
    assert _outbox_count() == 2


def test_a_refused_request_gets_a_page_with_retry_after(limited):
    client = limited("203.0.113.5")
    for _ in range(2):
        client.post("/forgot-password", data={"email": "someone@example.org"})
    response = client.post("/forgot-password", data={"email": "someone@example.org"})
    assert response.status_code == 429
    wait = int(response.headers["Retry-After"])
    assert 1 <= wait <= 600
    assert "Too many attempts in a short time. Wait" in response.get_data(as_text=True)


def test_one_client_is_limited_across_accounts(limited):
    client = limited("203.0.113.9")
    statuses = [
        client.post(
            "/login", data={"email": f"guess{n}@example.org", "password": "wrong guess"}
        ).status_code
        for n in range(21)
    ]
    assert statuses[:20] == [200] * 20 and statuses[20] == 429


def test_guessing_one_account_from_many_clients_is_slowed(limited):
    person = make_person()
    statuses = [
        limited(f"198.51.100.{n}")
        .post("/login", data={"email": person.email, "password": "wrong guess"})
        .status_code
        for n in range(12)
    ]
    assert statuses == [200] * 10 + [429, 429]
    # A new browser, even with the right password, waits too: the limit is the account's.
    newcomer = limited("192.0.2.45").post(
        "/login", data={"email": person.email, "password": DEFAULT_PASSWORD}
    )
    assert newcomer.status_code == 429


def test_the_owners_own_browser_is_not_held_back_by_a_strangers_guessing(limited):
    person = make_person()
    owner = limited("192.0.2.44")
    assert (
        owner.post("/login", data={"email": person.email, "password": DEFAULT_PASSWORD}).status_code
        == 302
    )
    owner.post("/logout")
    for n in range(15):
        limited(f"198.51.100.{n}").post(
            "/login", data={"email": person.email, "password": "wrong guess"}
        )
    assert (
        owner.post("/login", data={"email": person.email, "password": DEFAULT_PASSWORD}).status_code
        == 302
    )


def test_a_forged_known_device_cookie_does_not_escape_the_limit(limited):
    person = make_person()
    for n in range(10):
        limited(f"198.51.100.{n}").post(
            "/login", data={"email": person.email, "password": "wrong guess"}
        )
    forger = limited("198.51.100.99")
    forger.set_cookie("known_device", person.email)
    assert (
        forger.post("/login", data={"email": person.email, "password": "wrong guess"}).status_code
        == 429
    )


SIGN_UP = {
    "name": "New Person",
    "password": "a long sign-up phrase",
    "confirm": "a long sign-up phrase",
    "is_apprentice": "y",
    "site": "0",
    "timezone": "Europe/London",
}


def test_sign_up_is_limited_per_client(limited):
    client = limited("203.0.113.20")
    statuses = [
        client.post("/signup", data={**SIGN_UP, "email": f"new{n}@example.org"}).status_code
        for n in range(6)
    ]
    assert statuses == [302] * 5 + [429]


def test_sign_up_is_limited_per_address_whoever_asks(limited):
    statuses = [
        limited(f"203.0.113.{n}")
        .post("/signup", data={**SIGN_UP, "email": "wanted@example.org"})
        .status_code
        for n in range(3)
    ]
    assert statuses == [302, 302, 429]


def test_correcting_a_sign_up_form_does_not_use_up_its_tries(limited):
    """Forms sent back with errors mail nothing, so they are not counted."""
    client = limited("203.0.113.21")
    for _ in range(6):
        page = client.post(
            "/signup",
            data={**SIGN_UP, "email": "typo@example.org", "confirm": "not the same phrase"},
        )
        assert page.status_code == 200 and "The two passwords differ." in page.get_data(
            as_text=True
        )
    assert client.post("/signup", data={**SIGN_UP, "email": "typo@example.org"}).status_code == 302


def test_verify_is_limited_per_client(limited, limited_app, monkeypatch):
    monkeypatch.setitem(limited_app.config, "VERIFY_LIMIT_PER_CLIENT", "3 per minute")
    client = limited("203.0.113.30")
    statuses = [client.get("/verify").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_verify_is_limited_per_record_code(limited, limited_app, monkeypatch):
    monkeypatch.setitem(limited_app.config, "VERIFY_LIMIT_PER_ACCOUNT", "3 per minute")
    statuses = [
        limited(f"203.0.113.{n}").post("/verify", data={"code": "ABCD-EFGH"}).status_code
        for n in range(4)
    ]
    assert statuses == [200, 200, 200, 429]


def test_the_api_answers_429_in_json_per_token(limited, limited_app, monkeypatch):
    monkeypatch.setitem(limited_app.config, "API_LIMIT_PER_ACCOUNT", "3 per minute")
    _, token = create_token(make_person(), "poller")
    responses = [
        limited(f"203.0.113.{n}").get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        for n in range(4)
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    refused = responses[-1]
    assert int(refused.headers["Retry-After"]) >= 1
    error = refused.get_json()["error"]
    assert error["code"] == "too_many_requests"
    assert error["message"].startswith("Too many attempts in a short time. Wait")


def test_the_api_is_limited_per_client(limited, limited_app, monkeypatch):
    monkeypatch.setitem(limited_app.config, "API_LIMIT_PER_CLIENT", "2 per minute")
    client = limited("203.0.113.40")
    assert [client.get("/api/v1/me").status_code for _ in range(3)] == [401, 401, 429]
