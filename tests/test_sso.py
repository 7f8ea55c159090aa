"""Single sign-on through a real OpenID Connect provider on a loopback port (tests/oidc_provider).

Every sign-in here goes the whole way: the site sends the test client to the provider's
/authorize, the provider answers with a code, and the site exchanges it at /token over HTTP
and checks the signed ID token against the provider's JWKS.
"""

import logging
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from markupsafe import escape
from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import (
    ChangeRecord,
    OrganisationSettings,
    Person,
    SignUpPolicy,
    SingleSignOnLink,
    SingleSignOnSettings,
)
from mentor_match.sso import provider as provider_module
from mentor_match.sso.settings import save_settings

from .database import count
from .factories import DEFAULT_PASSWORD, make_admin, make_apprentice
from .oidc_provider import OidcProvider
from .test_secrets_at_rest import _stored_text

CALLBACK = "http://localhost/login/sso/callback"
USER = {
    "sub": "acme-0001",
    "email": "rosa@example.org",
    "email_verified": True,
    "name": "Rosa Acme",
}
NOT_VERIFIED = (
    "The answer from Acme could not be verified, so you are not signed in. "
    "Start again from the log-in page. If it happens again, tell an admin."
)


@pytest.fixture(scope="module")
def provider():
    running = OidcProvider(redirect_uris={CALLBACK}).start()
    yield running
    running.stop()


@pytest.fixture
def sso(provider):
    """The provider configured on the site as "Acme", and signing in USER next."""
    provider.reset(USER)
    provider_module.forget_discoveries()
    save_settings(
        make_admin("Sso Admin", email="sso-admin@example.org"),
        enabled=True,
        issuer=provider.issuer,
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        display_name="Acme",
        only_way_in=False,
    )
    return provider


def go_to_provider(client, start: str = "/login/sso") -> str:
    """Start signing in; returns the provider's answer: the callback URL with code and state."""
    response = client.get(start)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    with (
        requests.Session() as http,
        http.get(response.headers["Location"], allow_redirects=False, timeout=10) as answer,
    ):
        assert answer.status_code == 302, answer.text[:300]
        return answer.headers["Location"]


def come_back(client, answer: str):
    assert answer.startswith(CALLBACK)
    return client.get(answer.removeprefix("http://localhost"))


def sign_in(client, start: str = "/login/sso"):
    return come_back(client, go_to_provider(client, start))


def flashes(client) -> list[str]:
    """The messages waiting for the next page, taken so the next call sees only new ones."""
    with client.session_transaction() as session:
        return [message for _, message in session.pop("_flashes", [])]


def log_out(client) -> None:
    client.post("/logout")
    assert flashes(client) == ["You have logged out."]


def signed_in_as(client) -> str | None:
    """Whose dashboard the client opens, or None when it is sent to log in instead."""
    if client.get("/dashboard").status_code != 200:
        return None
    with client.session_transaction() as session:
        person_id = int(session["_user_id"].partition(":")[0])
    return db.session.get(Person, person_id).name


def test_the_authorization_request_uses_pkce_state_and_nonce(client, sso):
    response = client.get("/login/sso")
    asked = parse_qs(urlsplit(response.headers["Location"]).query)
    assert response.headers["Location"].startswith(f"{sso.issuer}/authorize?")
    assert asked["code_challenge_method"] == ["S256"]
    assert len(asked["code_challenge"][0]) == 43  # base64url of a SHA-256
    assert asked["redirect_uri"] == [CALLBACK]
    assert asked["scope"] == ["openid email profile"]
    assert asked["state"][0] and asked["nonce"][0]
    assert "code_verifier" not in asked


def test_first_sign_in_links_an_account_by_verified_email(client, sso):
    rosa = make_apprentice("Rosa Existing", email=USER["email"])
    response = sign_in(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert flashes(client) == ["Your account is now linked to Acme: sign in with it from now on."]
    assert signed_in_as(client) == "Rosa Existing"
    link = db.session.scalar(select(SingleSignOnLink))
    assert (link.person_id, link.issuer, link.subject) == (rosa.id, sso.issuer, "acme-0001")

    # Later sign-ins go by the subject, whatever address the provider has now.
    log_out(client)
    sso.reset({**USER, "email": "rosa.renamed@example.org"})
    response = sign_in(client, "/login/sso?next=/profile")
    assert response.headers["Location"] == "/profile"
    assert signed_in_as(client) == "Rosa Existing"
    assert count(SingleSignOnLink) == 1


def test_first_sign_in_creates_an_account_within_the_sign_up_policy(client, sso):
    sso.reset({**USER, "email": "Rosa.New@Example.org", "name": "Rosa New"})
    response = sign_in(client)
    assert response.headers["Location"] == "/profile"
    rosa = db.session.scalar(select(Person).where(Person.email == "rosa.new@example.org"))
    assert (rosa.name, rosa.is_apprentice, rosa.is_master) == ("Rosa New", True, False)
    assert rosa.email_confirmed_at is not None
    assert not rosa.password_hash.startswith("scrypt")  # no password opens it
    assert signed_in_as(client) == "Rosa New"


def test_the_sign_up_policy_turns_away_a_new_address(client, sso):
    db.session.add(
        OrganisationSettings(
            id=1,
            only_verified_hosts=True,
            sign_up_policy=SignUpPolicy.DOMAINS,
            sign_up_domains="example.org",
        )
    )
    db.session.commit()
    sso.reset({**USER, "email": "nia@other.example"})
    response = sign_in(client)
    assert response.headers["Location"] == "/login"
    assert flashes(client) == [
        "Sign-up here is only for addresses at example.org. Use your address there, "
        "or ask an admin of Mentor Match to add you."
    ]
    assert count(Person, Person.email == "nia@other.example") == 0
    assert count(SingleSignOnLink) == 0


@pytest.mark.parametrize("verified", [False, "true", None])
def test_an_address_the_provider_did_not_verify_links_nothing(client, sso, verified, caplog):
    make_apprentice("Rosa Existing", email=USER["email"])
    claims = {**USER, "email_verified": verified}
    if verified is None:
        del claims["email_verified"]
    sso.reset(claims)
    caplog.set_level(logging.WARNING, logger="mentor_match.sso")
    sign_in(client)
    assert flashes(client) == [
        "Acme did not confirm your email address, so it cannot be matched to an account "
        "here. Ask an admin of Mentor Match to add you, or your Acme administrator to share "
        "your verified address."
    ]
    assert "sso refused: subject acme-0001 has no verified address and no link" in caplog.text
    assert count(SingleSignOnLink) == 0
    assert signed_in_as(client) is None


@pytest.mark.parametrize(
    ("tamper", "logged"),
    [
        ("wrong_audience", "InvalidClaimError"),
        ("expired", "ExpiredTokenError"),
        ("other_key", "BadSignatureError"),
        ("wrong_issuer", "InvalidClaimError"),
        ("old_nonce", "InvalidClaimError"),
    ],
)
def test_a_token_failing_a_check_is_refused(client, sso, tamper, logged, caplog):
    make_apprentice("Rosa Existing", email=USER["email"])
    if tamper == "old_nonce":  # a sign-in before, whose nonce the next token replays
        sign_in(client)
        log_out(client)
    sso.tamper = tamper
    caplog.set_level(logging.WARNING, logger="mentor_match.sso")
    response = sign_in(client)
    assert response.headers["Location"] == "/login"
    assert flashes(client) == [NOT_VERIFIED]
    assert "sso refused: the ID token failed its checks" in caplog.text
    assert logged in caplog.text
    assert signed_in_as(client) is None


def test_a_token_answer_without_an_id_token_is_refused(client, sso):
    sso.tamper = "no_id_token"
    sign_in(client)
    assert flashes(client) == ["Acme sent no ID token, so you are not signed in. Tell an admin."]
    assert signed_in_as(client) is None


def test_a_replayed_callback_is_refused(app, client, sso):
    make_apprentice("Rosa Existing", email=USER["email"])
    answer = go_to_provider(client)
    with client.session_transaction() as before:
        cookie_before = dict(before)
    assert come_back(client, answer).headers["Location"] == "/dashboard"
    log_out(client)

    # The same answer again: its state was used up with the first.
    come_back(client, answer)
    assert flashes(client) == [
        "That sign-in answer from Acme was already used or has expired. "
        "Start again from the log-in page."
    ]
    assert signed_in_as(client) is None

    # Again with the session as it was before (state and nonce in it): the code is spent.
    other = app.test_client()
    with other.session_transaction() as session:
        session.update(cookie_before)
    come_back(other, answer)
    assert flashes(other) == [
        "Acme refused to sign you in (invalid_grant). Start again from the log-in page."
    ]
    assert signed_in_as(other) is None


def test_a_cancelled_sign_in_says_so(client, sso):
    sso.deny = True
    sign_in(client)
    assert flashes(client) == [
        "Signing in with Acme was cancelled. Start again from the log-in page."
    ]


def test_a_deactivated_account_is_refused(client, sso):
    rosa = make_apprentice("Rosa Existing", email=USER["email"])
    sign_in(client)
    log_out(client)
    rosa.active = False
    db.session.commit()
    sign_in(client)
    assert flashes(client) == ["This account has been deactivated. Ask an admin to restore it."]
    assert signed_in_as(client) is None


def test_an_account_linked_to_another_subject_is_not_taken_over(client, sso):
    make_apprentice("Rosa Existing", email=USER["email"])
    sign_in(client)
    log_out(client)
    sso.reset({**USER, "sub": "acme-0002"})
    sign_in(client)
    assert flashes(client) == [
        "The account here for rosa@example.org is linked to another Acme account. "
        "Sign in with that one, or ask an admin of Mentor Match."
    ]
    assert count(SingleSignOnLink) == 1


def test_a_pending_sign_up_loses_the_password_its_form_chose(client, sso):
    client.post(
        "/signup",
        data={
            "name": "Stranger",
            "email": USER["email"],
            "password": "a stranger's passphrase",
            "confirm": "a stranger's passphrase",
            "is_apprentice": "y",
            "site": "0",
            "timezone": "Europe/London",
        },
    )
    sign_in(client)
    log_out(client)
    response = client.post(
        "/login", data={"email": USER["email"], "password": "a stranger's passphrase"}
    )
    assert response.status_code == 200
    assert signed_in_as(client) is None


def test_with_sso_only_people_sign_in_through_the_provider_and_admins_keep_passwords(client, sso):
    settings = db.session.get(SingleSignOnSettings, 1)
    settings.sso_only = True
    db.session.commit()
    rosa = make_apprentice("Rosa Existing", email=USER["email"])
    admin = make_admin("Break Glass", email="glass@example.org")
    page = client.get("/login").get_data(as_text=True)
    assert "Sign in with Acme" in page
    assert "Admins: log in with a password" in page

    response = client.post("/login", data={"email": rosa.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert (
        "Log in with Acme: passwords are not used here. Use the button below."
        in response.get_data(as_text=True)
    )
    assert signed_in_as(client) is None
    assert client.post("/signup", data={"email": "new@example.org"}).status_code == 403

    response = client.post("/login", data={"email": admin.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    log_out(client)
    assert sign_in(client).headers["Location"] == "/dashboard"


def test_with_sso_off_the_routes_send_people_to_the_password_form(client):
    response = client.get("/login/sso")
    assert response.headers["Location"] == "/login"
    assert flashes(client) == [
        "Single sign-on is not set up here. Log in with your email and password."
    ]
    assert "Sign in with" not in client.get("/login").get_data(as_text=True)


def test_an_unreachable_provider_is_said_not_a_server_error(client, sso, caplog):
    settings = db.session.get(SingleSignOnSettings, 1)
    settings.issuer = "http://127.0.0.1:9"  # the discard port: nothing answers
    db.session.commit()
    provider_module.forget_discoveries()
    caplog.set_level(logging.WARNING, logger="mentor_match.sso")
    response = client.get("/login/sso")
    assert response.headers["Location"] == "/login"
    assert flashes(client) == [
        "Acme cannot be reached at the moment, so you cannot sign in with it. "
        "Try again in a few minutes; if it lasts, tell an admin."
    ]
    assert "The provider did not answer at http://127.0.0.1:9/.well-known" in caplog.text


def test_the_secret_is_sealed_and_a_new_secret_key_asks_for_it_again(app, client, sso):
    assert [where for where, value in _stored_text() if sso.client_secret in value] == []
    previous = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another-secret-key"
    try:
        page = client.get("/login/sso", follow_redirects=True).get_data(as_text=True)
    finally:
        app.config["SECRET_KEY"] = previous
    assert (
        "Signing in with Acme is out of order at the moment: an admin must enter its client "
        "secret again. Admins can log in with their password."
    ) in page


def test_an_admin_configures_single_sign_on(client, login, provider):
    provider.reset(USER)
    provider_module.forget_discoveries()
    login(make_admin("Admin", email="admin@example.org"))
    form = {
        "enabled": "y",
        "issuer": provider.issuer + "/",
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "display_name": "Acme",
    }
    response = client.post("/admin/sso", data=form)
    assert response.headers["Location"] == "/admin/sso"
    saved = db.session.get(SingleSignOnSettings, 1)
    assert (saved.enabled, saved.issuer, saved.display_name) == (True, provider.issuer, "Acme")
    sealed = saved.client_secret_sealed

    # A blank secret keeps the saved one; the change log never holds it.
    response = client.post("/admin/sso", data={**form, "client_secret": "", "sso_only": "y"})
    assert response.headers["Location"] == "/admin/sso"
    db.session.expire_all()
    saved = db.session.get(SingleSignOnSettings, 1)
    assert (saved.client_secret_sealed, saved.sso_only) == (sealed, True)
    records = db.session.scalars(select(ChangeRecord.after)).all()
    assert "sso_only: yes" in records
    assert not [after for after in records if provider.client_secret in after]
    page = client.get("/admin/sso").get_data(as_text=True)
    assert "http://localhost/login/sso/callback" in page
    assert provider.client_secret not in page


@pytest.mark.parametrize(
    ("issuer", "problem"),
    [
        ("http://idp.example.org", "The issuer's URL must start with https://"),
        ("ftp://idp.example.org", "Enter the issuer's URL"),
        ("https://idp.example.org/?tenant=1", "The issuer's URL has no ?query part"),
        ("http://127.0.0.1:9", "The provider did not answer at http://127.0.0.1:9/"),
    ],
)
def test_an_unusable_issuer_is_refused_when_saved(client, login, issuer, problem):
    login(make_admin("Admin", email="admin@example.org"))
    response = client.post(
        "/admin/sso",
        data={
            "enabled": "y",
            "issuer": issuer,
            "client_id": "c",
            "client_secret": "s",
            "display_name": "Acme",
        },
    )
    assert response.status_code == 200
    assert escape(problem) in response.get_data(as_text=True)
    assert count(SingleSignOnSettings) == 0


def test_sso_only_needs_sso_on(client, login):
    login(make_admin("Admin", email="admin@example.org"))
    response = client.post("/admin/sso", data={"sso_only": "y"})
    assert "Turn single sign-on on before making it the only way in." in response.get_data(
        as_text=True
    )


@pytest.mark.database_independent
def test_plain_http_issuers_are_for_loopback_in_tests_only(app):
    assert provider_module.url_problem("https://login.example.org/tenant/v2.0") is None
    assert provider_module.url_problem("http://127.0.0.1:8080") is None
    assert provider_module.url_problem("http://[::1]:8080") is None
    assert provider_module.url_problem("http://idp.example.org") == provider_module.NOT_HTTPS
    app.testing = False
    try:
        assert provider_module.url_problem("http://127.0.0.1:8080") == provider_module.NOT_HTTPS
        assert provider_module.url_problem("https://127.0.0.1:8443") is None
    finally:
        app.testing = True


def test_a_forged_error_from_the_provider_shows_no_words_of_its_own(client, sso):
    client.get("/login/sso")
    with client.session_transaction() as session:
        state = next(key for key in session if key.startswith("_state_sso_"))
    state = state.removeprefix("_state_sso_")
    client.get(f"/login/sso/callback?state={state}&error=Call+0800+now&error_description=x")
    assert flashes(client) == [
        "Acme refused to sign you in (an unknown error). Start again from the log-in page."
    ]


def test_an_address_too_long_to_keep_is_refused_not_cut(client, sso):
    sso.reset({**USER, "email": "a" * 250 + "@example.org"})
    sign_in(client)
    assert flashes(client)[0].startswith("Acme did not confirm your email address")
    assert count(Person, Person.is_admin.is_(False)) == 0


def test_with_sso_only_a_mailed_confirmation_link_opens_nothing(client, sso, sent_mail):
    from mentor_match.accounts.registration import confirmation_link, sign_up

    sign_up(
        name="Nia",
        email="nia@example.org",
        password="a long sign-up phrase",
        is_master=False,
        is_apprentice=True,
        site=None,
        timezone_name="UTC",
    )
    nia = db.session.scalar(select(Person).where(Person.email == "nia@example.org"))
    link = confirmation_link(nia).removeprefix("http://localhost")
    db.session.get(SingleSignOnSettings, 1).sso_only = True
    db.session.commit()
    response = client.post(link, data={"password": "a long sign-up phrase"})
    assert response.headers["Location"] == "/login"
    assert flashes(client) == ["Sign in with Acme: it opens your account."]
    assert signed_in_as(client) is None


def test_the_admin_and_the_person_see_the_link(client, login, sso):
    make_apprentice("Rosa Existing", email=USER["email"])
    sign_in(client)
    page = client.get("/profile").get_data(as_text=True)
    assert "You sign in with Acme (rosa@example.org), linked on" in page
    log_out(client)
    login(make_admin("Admin", email="admin@example.org"))
    page = client.get("/admin/sso").get_data(as_text=True)
    assert "People who sign in with Acme" in page
    assert "1 person is linked." in page
    assert "Rosa Existing" in page
