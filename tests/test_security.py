"""Session lifetimes, cookie flags and security headers (reliability guide points 5 and 8)."""

import time

import itsdangerous.timed
from flask import session

from mentor_match import create_app
from mentor_match.config import TestConfig

from .factories import DEFAULT_PASSWORD, make_person


def test_security_headers_on_every_page(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "default-src 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_strict_transport_security_on_https_only(client):
    assert (
        client.get("/login", base_url="https://localhost").headers["Strict-Transport-Security"]
        == "max-age=31536000"
    )
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_session_cookie_is_httponly_and_samesite(client):
    person = make_person()
    response = client.post("/login", data={"email": person.email, "password": DEFAULT_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_session_cookie_is_secure_outside_local_use(monkeypatch):
    """The production default marks the cookie Secure; only COOKIE_SECURE=0 turns it off."""

    class ProductionLike(TestConfig):
        SESSION_COOKIE_SECURE = True

    app = create_app(ProductionLike)
    app.config["WTF_CSRF_ENABLED"] = False
    with app.test_request_context():
        session["probe"] = 1
        response = app.make_response("ok")
        app.session_interface.save_session(app, session, response)
    assert "Secure" in response.headers["Set-Cookie"]


def test_idle_session_expires_after_30_minutes(client, login, monkeypatch):
    login(make_person())
    assert client.get("/dashboard").status_code == 200
    real_time = time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 29 * 60)
    response = client.get("/dashboard")
    assert response.status_code == 200 and "Set-Cookie" in response.headers  # activity refreshes it
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 29 * 60 + 29 * 60)
    assert client.get("/dashboard").status_code == 200  # 58 minutes in, 29 idle: still signed in
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + (29 + 29 + 31) * 60)
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_session_cookie_is_refreshed_at_most_once_a_minute(client, login, monkeypatch):
    """Pages a minute apart re-sign the cookie (the idle limit counts from there); pages
    in between send none, and a change to the session is sent at once."""
    login(make_person())
    client.get("/dashboard")  # the first page keeps its form token in the session: a change
    assert "Set-Cookie" not in client.get("/dashboard").headers
    real_time = time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() + 61)
    assert "Set-Cookie" in client.get("/dashboard").headers
    assert "Set-Cookie" not in client.get("/dashboard").headers
    client.post("/logout")
    assert client.get("/dashboard").status_code == 302


def test_session_ends_after_12_hours_however_active(client, login):
    login(make_person())
    with client.session_transaction() as cookie_session:
        cookie_session["signed_in_at"] -= 12 * 3600 + 1
    response = client.get("/dashboard", follow_redirects=True)
    assert "Your session has expired" in response.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302


def test_a_session_without_a_start_time_is_refused(client, login):
    login(make_person())
    with client.session_transaction() as cookie_session:
        del cookie_session["signed_in_at"]
    assert client.get("/dashboard").status_code == 302


def test_tampered_user_id_is_refused(client, login):
    person = make_person()
    other = make_person()
    login(person)
    with client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = f"{other.id}:guessed-token"
    assert client.get("/dashboard").status_code == 302


# --- NUL characters: PostgreSQL cannot store them, SQLite would; refused whole, by name ----------


def test_a_form_field_with_a_nul_character_is_refused_by_name_and_nothing_is_saved(login):
    from mentor_match.extensions import db
    from mentor_match.models import ApiToken

    client = login(make_person("Ada Quill"))
    response = client.post("/account/tokens", data={"name": "laptop\x00"})
    assert response.status_code == 400
    assert "The field &#39;name&#39; holds a NUL character" in response.get_data(as_text=True)
    assert db.session.query(ApiToken).count() == 0
    # The same request without it goes through.
    assert client.post("/account/tokens", data={"name": "laptop"}).status_code == 200
    assert db.session.query(ApiToken).count() == 1


def test_a_query_argument_with_a_nul_character_is_refused(login):
    client = login(make_person("Ada Quill"))
    response = client.get("/people?q=ada%00")
    assert response.status_code == 400
    assert "The field &#39;q&#39; holds a NUL character" in response.get_data(as_text=True)


def test_the_api_refuses_a_nul_character_in_json(client):
    response = client.get("/api/v1/sessions?from=2026-01-01%00")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request" and "'from' holds a NUL character" in error["message"]


def test_after_a_failed_write_the_error_page_still_renders_for_a_signed_in_person(app):
    """A flush that fails leaves the session unusable; the 500 page (its menu count) must not
    fail in turn, or the person gets a bare server error instead of the site's page."""
    from mentor_match.extensions import db
    from mentor_match.models import Person

    failing = create_app(
        {
            **{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()},
            "TESTING": False,
            "WTF_CSRF_ENABLED": False,
        }
    )

    @failing.route("/write-twice")
    def write_twice():
        db.session.add(
            Person(
                email="ada@example.com",
                name="Copy",
                password_hash="x",
                timezone="UTC",
                session_token="t",
            )
        )
        db.session.flush()  # the email is taken: IntegrityError
        return "not reached"

    person = make_person("Ada Quill", email="ada@example.com")
    client = failing.test_client()
    assert (
        client.post(
            "/login", data={"email": person.email, "password": DEFAULT_PASSWORD}
        ).status_code
        == 302
    )
    response = client.get("/write-twice")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)
    with failing.app_context():
        db.engine.dispose()
