"""The site's own address: links built on SITE_URL, foreign hosts refused (reliability point 14)."""

import re

import pytest
from sqlalchemy import select

from mentor_match import MissingSetting, create_app
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.links import absolute_url
from mentor_match.models import OutboxMessage
from mentor_match.rounds.queue import wait_for_background_jobs

from .factories import make_person


def _settings(**overrides) -> dict:
    return {**{k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}, **overrides}


@pytest.fixture
def other_app():
    """Build apps with other settings; their connections are closed after the test."""
    made = []

    def build(**overrides):
        made.append(create_app(_settings(**overrides)))
        return made[-1]

    yield build
    for app in made:
        with app.app_context():
            db.engine.dispose()


def test_a_request_for_a_foreign_host_is_refused_and_mails_nothing(client):
    make_person(email="victim@example.org")
    response = client.post(
        "/forgot-password", data={"email": "victim@example.org"}, headers={"Host": "evil.example"}
    )
    assert response.status_code == 400
    assert response.get_data(as_text=True) == (
        "This site answers only at http://localhost; the request's Host was refused.\n"
    )
    wait_for_background_jobs()
    assert db.session.scalars(select(OutboxMessage)).all() == []


def test_the_site_answers_its_own_host_with_any_port(client):
    assert client.get("/login", headers={"Host": "localhost:8000"}).status_code == 200


def test_a_reset_link_points_at_site_url_whatever_host_the_request_named(
    app, client, monkeypatch, sent_mail
):
    """Even a host the site answers to (an alias) never makes its way into a mailed link."""
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", ["localhost", "alias.example"])
    make_person(email="victim@example.org")
    response = client.post(
        "/forgot-password", data={"email": "victim@example.org"}, headers={"Host": "alias.example"}
    )
    assert response.status_code == 302
    wait_for_background_jobs()
    (mail,) = sent_mail
    body = mail.body
    assert re.search(r"http://localhost/reset-password/\S+", body)
    assert "alias.example" not in body


def test_absolute_links_inside_a_request_come_from_site_url(app, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", "https://mentor.example.org/match")
    with app.test_request_context("/", base_url="http://alias.example"):
        assert absolute_url("accounts.login") == "https://mentor.example.org/match/login"
        assert absolute_url("booking.session", session_id=7) == (
            "https://mentor.example.org/match/sessions/7"
        )


def test_trusted_hosts_default_to_site_urls_host(other_app):
    app = other_app(SITE_URL="https://mentor.example.org", TRUSTED_HOSTS=None)
    assert app.config["TRUSTED_HOSTS"] == ["mentor.example.org"]
    assert app.test_client().get("/login", base_url="https://mentor.example.org").status_code == 200
    assert app.test_client().get("/login", base_url="https://localhost").status_code == 400


@pytest.mark.parametrize("missing", ["SITE_URL", "SECRET_KEY"])
@pytest.mark.database_independent
def test_outside_debug_and_tests_the_site_will_not_start_without(missing):
    with pytest.raises(MissingSetting, match=f"^{missing} is not set"):
        create_app(_settings(TESTING=False, DEBUG=False, **{missing: ""}))


@pytest.mark.database_independent
def test_a_site_url_without_a_host_is_refused_by_name():
    with pytest.raises(MissingSetting, match="SITE_URL='mentor.example.org' is not an http"):
        create_app(_settings(SITE_URL="mentor.example.org"))


@pytest.mark.database_independent
def test_a_debug_server_starts_with_local_stand_ins(other_app):
    app = other_app(TESTING=False, DEBUG=True, SITE_URL="", SECRET_KEY="")
    assert app.config["SITE_URL"] == "http://127.0.0.1:5000"
    assert app.config["TRUSTED_HOSTS"] == ["localhost", "127.0.0.1"]
    assert len(app.config["SECRET_KEY"]) == 64
