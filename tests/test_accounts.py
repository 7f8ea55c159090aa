"""Sign-up, log-in with lock-out, log-out and password changes."""

import re

import pytest
from sqlalchemy import select

from mentor_match.accounts.passwords import password_problem, verify_password
from mentor_match.extensions import db
from mentor_match.models import FailedLogin, OutboxMessage, Person
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import DEFAULT_PASSWORD, make_apprentice, make_person, make_site


def _signup(client, **overrides):
    data = {
        "name": "Ada Lovelace",
        "email": "ada@example.org",
        "password": "analytical engine notes",
        "confirm": "analytical engine notes",
        "is_master": "y",
        "site": "0",
        "timezone": "Europe/London",
    }
    data.update(overrides)
    # None leaves the field out, as a hand-made request may.
    return client.post(
        "/signup", data={key: value for key, value in data.items() if value is not None}
    )


def _confirmation_link(sent_mail, email="ada@example.org") -> str:
    wait_for_background_jobs()
    (mail,) = [mail for mail in sent_mail if mail.recipient == email]
    return re.search(r"http://localhost(/signup/confirm/\S+)", mail.body).group(1)


def test_signup_holds_a_master_until_the_address_is_confirmed(client, sent_mail):
    site = make_site("London HQ")
    response = _signup(client, site=str(site.id), email="Ada@Example.org")
    assert response.status_code == 302 and response.location == "/login"
    person = db.session.scalar(select(Person))
    assert person.email == "ada@example.org" and person.email_confirmed_at is None
    assert person.is_master and not person.is_apprentice
    assert person.site == site
    assert person.password_hash.startswith("scrypt:")
    refused = client.post(
        "/login", data={"email": "ada@example.org", "password": "analytical engine notes"}
    )
    assert (
        "Confirm your address first: follow the link we mailed to ada@example.org."
        in refused.get_data(as_text=True)
    )
    link = _confirmation_link(sent_mail)
    stored = db.session.scalar(select(OutboxMessage))
    assert "/signup/confirm/" not in stored.body  # the link is only in the mail that went out
    assert "ada@example.org" in client.get(link).get_data(as_text=True)
    assert client.get("/dashboard").status_code == 302  # following the link alone opens nothing
    response = client.post(link, data={"password": "analytical engine notes"})
    assert response.status_code == 302 and response.location == "/profile/skills"
    db.session.refresh(person)
    assert person.email_confirmed_at is not None
    assert client.get("/dashboard").status_code == 200
    again = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "Your address is already confirmed. Log in." in again


def test_sign_up_of_a_known_address_answers_alike_and_tells_its_owner(client, sent_mail):
    owner = make_person("Ada Owner", email="ada@example.org")
    before = (owner.name, owner.password_hash, owner.is_apprentice)
    known = _signup(
        client, name="Someone Else", password="another long phrase", confirm="another long phrase"
    )
    new = _signup(client, email="grace@example.org")
    assert (known.status_code, known.location) == (new.status_code, new.location)
    flashes = [client.get("/login").get_data(as_text=True) for _ in range(1)]
    assert "we have mailed" in flashes[0]
    db.session.refresh(owner)
    assert (owner.name, owner.password_hash, owner.is_apprentice) == before
    assert count(Person) == 2
    wait_for_background_jobs()
    (told,) = [mail for mail in sent_mail if mail.recipient == "ada@example.org"]
    assert told.subject == "Someone tried to sign up with your address"
    assert "It already has an account, and nothing has changed." in told.body
    assert "/signup/confirm/" not in told.body


def test_a_stranger_signing_up_with_your_address_cannot_have_you_open_it(client, sent_mail):
    """Pre-hijacking: the owner follows the stranger's link but only the stranger's password
    confirms it; a reset (the owner's own mailbox) confirms with the owner's password."""
    _signup(client, password="the strangers secret", confirm="the strangers secret")
    link = _confirmation_link(sent_mail)
    page = client.post(link, data={"password": "owners own phrase"}).get_data(as_text=True)
    assert "That is not the password you chose when you signed up." in page
    person = db.session.scalar(select(Person))
    assert person.email_confirmed_at is None
    from mentor_match.accounts.services import make_reset_token

    client.post(
        f"/reset-password/{make_reset_token(person)}",
        data={"password": "owners own phrase", "confirm": "owners own phrase"},
    )
    db.session.refresh(person)
    assert person.email_confirmed_at is not None
    assert (
        client.post(
            "/login", data={"email": person.email, "password": "the strangers secret"}
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "token, message",
    [
        ("not-a-token", "That confirmation link is not valid. Sign up again for a new one."),
    ],
)
def test_a_bad_confirmation_link_says_what_to_do(client, token, message):
    page = client.get(f"/signup/confirm/{token}", follow_redirects=True).get_data(as_text=True)
    assert message in page


def test_an_expired_confirmation_link_is_refused(client, app, sent_mail, monkeypatch):
    from datetime import timedelta

    _signup(client)
    link = _confirmation_link(sent_mail)
    monkeypatch.setitem(app.config, "SIGNUP_CONFIRM_MAX_AGE", timedelta(seconds=-1))
    page = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "That confirmation link has expired. Sign up again for a new one." in page


def test_signup_refuses_bad_fields_and_saves_nothing(client):
    response = _signup(
        client,
        email="not-an-email",
        password="password",
        confirm="other",
        is_master="",
        timezone="Mars/Olympus_Mons",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Invalid email address" in page
    assert "at least 8 characters" not in page and "most common" in page
    assert "The two passwords differ." in page
    assert "Choose master, apprentice, or both." in page
    assert "Choose a time zone from the list." in page
    assert count(Person) == 0


def test_signup_asks_where_you_work_with_nothing_chosen(client):
    page = client.get("/signup").get_data(as_text=True)
    select_html = re.search(r'<select [^>]*name="site".*?</select>', page, re.S).group(0)
    options = re.findall(r"<option[^>]*>[^<]*</option>", select_html)
    assert options[0] == '<option selected value="">Choose…</option>'
    assert options[1] == '<option value="0">Remote: no site, video only</option>'
    assert "required" in select_html.split(">")[0]


@pytest.mark.parametrize("site", [None, "", "remote", "999"])
def test_signup_without_a_site_choice_says_to_choose_and_saves_nothing(client, site):
    response = _signup(client, site=site)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        page.count("Choose where you work: a site, or Remote if you have none and meet by video.")
        == 1
    )
    assert count(Person) == 0


def test_signup_as_remote_has_no_site(client):
    assert _signup(client, site="0").status_code == 302
    assert db.session.scalar(select(Person)).site is None


def test_signup_stores_a_legacy_zone_under_its_current_name(client):
    # Chrome reports India's zone as Asia/Calcutta; the page's script picks Asia/Kolkata, and a
    # form sent with the old name anyway is stored under the current one.
    assert _signup(client, timezone="Asia/Calcutta").status_code == 302
    assert db.session.scalar(select(Person)).timezone == "Asia/Kolkata"


@pytest.mark.database_independent
def test_password_policy():
    assert password_problem("short") == "Use at least 8 characters."
    assert "common" in password_problem("password1")
    assert password_problem("x" * 64) is None
    assert password_problem("x" * 129) is not None
    assert password_problem("four rivers meet at dusk") is None


def test_login_refuses_wrong_password_and_records_it(client):
    person = make_person()
    response = client.post(
        "/login", data={"email": person.email, "password": "wrong one!"}, follow_redirects=True
    )
    assert "do not match an account" in response.get_data(as_text=True)
    assert count(FailedLogin) == 1


def _fail_99_times(person, client="127.0.0.1"):
    db.session.add_all(FailedLogin(person_id=person.id, client=client) for _ in range(99))
    db.session.commit()


def test_login_locks_out_one_client_after_100_failures_in_an_hour(client, app):
    person = make_person()
    _fail_99_times(person)
    # The 100th failure is still an ordinary refusal...
    page = client.post(
        "/login", data={"email": person.email, "password": "nope nope"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "do not match" in page
    # ...and then even the right password is refused with a clear lock-out message.
    page = client.post(
        "/login", data={"email": person.email, "password": DEFAULT_PASSWORD}, follow_redirects=True
    ).get_data(as_text=True)
    assert (
        "Too many failed log-ins to this account from here: it is locked for you for an "
        "hour. Reset your password to get in now."
    ) in page
    assert client.get("/dashboard").status_code == 302


def test_a_strangers_failures_do_not_lock_the_owner_out(app):
    """100 wrong passwords from one address; the owner, elsewhere, logs in at once."""
    person = make_person()
    _fail_99_times(person, client="203.0.113.66")
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "203.0.113.66"
    stranger.post("/login", data={"email": person.email, "password": "nope nope"})
    assert "locked for you" in stranger.post(
        "/login", data={"email": person.email, "password": DEFAULT_PASSWORD}
    ).get_data(as_text=True)
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert (
        owner.post("/login", data={"email": person.email, "password": DEFAULT_PASSWORD}).status_code
        == 302
    )


def test_a_password_reset_lifts_the_lock(client):
    from mentor_match.accounts.services import make_reset_token

    person = make_person()
    _fail_99_times(person)
    client.post("/login", data={"email": person.email, "password": "nope nope"})
    assert "locked for you" in client.post(
        "/login", data={"email": person.email, "password": DEFAULT_PASSWORD}
    ).get_data(as_text=True)
    response = client.post(
        f"/reset-password/{make_reset_token(person)}",
        data={"password": "brand new passphrase", "confirm": "brand new passphrase"},
    )
    assert response.status_code == 302
    assert count(FailedLogin) == 0
    assert (
        client.post(
            "/login", data={"email": person.email, "password": "brand new passphrase"}
        ).status_code
        == 302
    )


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "/dashboard\r\nSet-Cookie: a=b",
    ],
)
def test_login_refuses_off_site_next(client, target):
    person = make_person()
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": person.email, "password": DEFAULT_PASSWORD},
    )
    assert response.headers["Location"] == "/dashboard"


def test_login_follows_a_next_on_this_site(client):
    person = make_person()
    response = client.post(
        "/login",
        query_string={"next": "/sessions?view=month"},
        data={"email": person.email, "password": DEFAULT_PASSWORD},
    )
    assert response.headers["Location"] == "/sessions?view=month"


def test_deactivated_person_cannot_log_in(client):
    person = make_person(active=False)
    page = client.post(
        "/login", data={"email": person.email, "password": DEFAULT_PASSWORD}, follow_redirects=True
    ).get_data(as_text=True)
    assert "deactivated" in page


def test_logout_voids_the_old_cookie(client, login):
    person = make_person()
    login(person)
    stolen = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    client.set_cookie("session", stolen)
    assert client.get("/dashboard").status_code == 302


def test_password_change_voids_other_sessions(app, login):
    person = make_person()
    other_device = app.test_client()
    assert (
        other_device.post(
            "/login", data={"email": person.email, "password": DEFAULT_PASSWORD}
        ).status_code
        == 302
    )
    client = login(person)
    response = client.post(
        "/account/password",
        data={
            "current": DEFAULT_PASSWORD,
            "password": "a much longer passphrase",
            "confirm": "a much longer passphrase",
        },
    )
    assert response.status_code == 302
    assert client.get("/dashboard").status_code == 200  # this device stays signed in
    assert other_device.get("/dashboard").status_code == 302  # the other one is out
    db.session.refresh(person)
    assert verify_password(person.password_hash, "a much longer passphrase")


def test_password_change_needs_the_current_password(login):
    person = make_person()
    client = login(person)
    page = client.post(
        "/account/password",
        data={
            "current": "not it at all",
            "password": "a much longer passphrase",
            "confirm": "a much longer passphrase",
        },
    ).get_data(as_text=True)
    assert "not your current password" in page
    db.session.refresh(person)
    assert verify_password(person.password_hash, DEFAULT_PASSWORD)


def test_password_reset_by_mailed_link_works_once(client, sent_mail):
    person = make_person(email="reset@example.org")
    client.post("/forgot-password", data={"email": "reset@example.org"})
    wait_for_background_jobs()
    (mail,) = sent_mail
    assert mail.recipient == "reset@example.org"
    link = re.search(r"http://localhost(/reset-password/\S+)", mail.body).group(1)
    # The copy an admin can read at /admin/outbox says where the link went, not what it is.
    stored = db.session.scalar(
        select(OutboxMessage).where(OutboxMessage.recipient == "reset@example.org")
    )
    assert stored.state == "logged" and "/reset-password/" not in stored.body
    assert (
        "[reset link, made when the mail is sent: only the recipient's mail holds it]"
        in stored.body
    )
    response = client.post(
        link, data={"password": "brand new passphrase", "confirm": "brand new passphrase"}
    )
    assert response.status_code == 302
    db.session.refresh(person)
    assert verify_password(person.password_hash, "brand new passphrase")
    again = client.get(link, follow_redirects=True).get_data(as_text=True)
    assert "already been used" in again


def test_forgot_password_says_the_same_for_unknown_addresses(client):
    page = client.post(
        "/forgot-password", data={"email": "nobody@example.org"}, follow_redirects=True
    ).get_data(as_text=True)
    assert "If that address has an account" in page
    wait_for_background_jobs()
    assert count(OutboxMessage) == 0


def test_forgot_password_answers_alike_and_leaves_the_lookup_to_the_background(client, monkeypatch):
    """Known or not, the same answer, and the request itself neither looks up nor mails."""
    from mentor_match.rounds import queue

    make_person(email="known@example.org")
    queued = []
    monkeypatch.setattr(queue, "dispatch", lambda function, *args, **kw: queued.append(args))
    known = client.post("/forgot-password", data={"email": "known@example.org"})
    unknown = client.post("/forgot-password", data={"email": "unknown@example.org"})
    assert (known.status_code, known.location) == (unknown.status_code, unknown.location)
    assert known.get_data() == unknown.get_data()
    assert queued == [("known@example.org",), ("unknown@example.org",)]
    assert count(OutboxMessage) == 0


def test_expired_reset_link_is_refused(client, app, monkeypatch):
    from datetime import timedelta

    person = make_person()
    from mentor_match.accounts.services import make_reset_token

    token = make_reset_token(person)
    monkeypatch.setitem(app.config, "PASSWORD_RESET_MAX_AGE", timedelta(seconds=-1))
    page = client.get(f"/reset-password/{token}", follow_redirects=True).get_data(as_text=True)
    assert "expired" in page


def test_an_invitation_link_lasts_a_week_where_a_reset_link_lasts_an_hour(app, monkeypatch):
    """Tokens made two days ago: the invitation still works, the reset link has expired."""
    import itsdangerous.timed

    from mentor_match.accounts.services import make_reset_token, person_for_reset_token
    from mentor_match.errors import Refusal

    person = make_apprentice("Invited Person")
    real_time = itsdangerous.timed.time.time
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 2 * 86400)
    invitation, reset = make_reset_token(person, invitation=True), make_reset_token(person)
    monkeypatch.setattr(itsdangerous.timed.time, "time", real_time)
    assert person_for_reset_token(invitation).id == person.id
    with pytest.raises(Refusal, match="expired"):
        person_for_reset_token(reset)
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real_time() - 8 * 86400)
    stale = make_reset_token(person, invitation=True)
    monkeypatch.setattr(itsdangerous.timed.time, "time", real_time)
    with pytest.raises(Refusal, match="expired"):
        person_for_reset_token(stale)
