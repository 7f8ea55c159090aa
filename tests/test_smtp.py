"""Mail through a real SMTP server (aiosmtpd, in this process): STARTTLS with a certificate made
here, AUTH, a server that is down, busy or refusing, and no mail ever sent twice."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from mentor_match.accounts.passwords import verify_password
from mentor_match.accounts.services import INVITATION_LINK
from mentor_match.extensions import db
from mentor_match.mail.services import deliver_due_mail, queue_mail, send_mail
from mentor_match.models import MailState, Notification, OutboxMessage, utcnow
from mentor_match.rounds.notices import deliver_pending_mail, notify
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import make_admin, make_person
from .processes import free_port
from .smtp_server import PASSWORD, SENDER, USER, MailServer, make_certificate


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture(scope="module")
def started_server(certificate):
    """One STARTTLS server (it requires TLS before AUTH, AUTH before mail) for the module."""
    server = MailServer(certificate, require_starttls=True)
    yield server
    server.stop()


@pytest.fixture
def server(started_server, app, monkeypatch, certificate):
    """The shared server, empty, with the app set to send through it."""
    started_server.inbox.received.clear()
    started_server.inbox.mechanisms.clear()
    _point_at(app, monkeypatch, started_server.port, certificate)
    return started_server


def _point_at(app, monkeypatch, port: int, certificate, **settings) -> None:
    values = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_USE_TLS": True,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": USER,
        "MAIL_PASSWORD": PASSWORD,
        "MAIL_CA_FILE": certificate[0],
        "MAIL_SENDER": SENDER,
        "MAIL_TIMEOUT": 5.0,
    }
    for key, value in (values | settings).items():
        monkeypatch.setitem(app.config, key, value)


def _stored(subject: str) -> OutboxMessage:
    db.session.expire_all()
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.subject == subject))


def _due_now(message: OutboxMessage) -> None:
    """Move the message's next attempt to now, as if its pause had passed."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(next_attempt_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()


def test_a_mail_arrives_once_over_starttls_with_auth(server, sent_mail):
    send_mail("ada@example.org", "Your pairing", "You are paired with Grace.\n")
    ((mail_from, recipients, message),) = server.inbox.received
    assert (mail_from, recipients) == ("no-reply@mentor-match.example", ["ada@example.org"])
    assert (message["From"], message["To"], message["Subject"]) == (
        SENDER,
        "ada@example.org",
        "Your pairing",
    )
    assert message.get_content() == "You are paired with Grace.\n"
    stored = _stored("Your pairing")
    created = int(stored.created_at.timestamp())
    assert message["Message-ID"].strip() == f"<outbox-{stored.id}.{created}@mentor-match.example>"
    assert server.inbox.mechanisms == ["PLAIN"]
    stored = _stored("Your pairing")
    assert (stored.state, stored.attempts, stored.last_error) == (MailState.SENT, 1, "")
    assert stored.sent_at is not None and stored.next_attempt_at is None
    assert [mail.subject for mail in sent_mail] == ["Your pairing"]
    assert deliver_due_mail() == 0 and len(server.inbox.received) == 1


def test_auth_login_works_where_the_server_offers_only_login(app, monkeypatch, certificate):
    server = MailServer(certificate, require_starttls=True, auth_exclude_mechanism=["PLAIN"])
    try:
        _point_at(app, monkeypatch, server.port, certificate)
        send_mail("ada@example.org", "By LOGIN", "Body\n")
        assert server.inbox.mechanisms == ["LOGIN"]
        assert server.inbox.subjects() == ["By LOGIN"]
        assert _stored("By LOGIN").state == MailState.SENT
    finally:
        server.stop()


def test_implicit_tls_on_its_own_port(app, monkeypatch, certificate):
    server = MailServer(certificate, implicit_tls=True)
    try:
        _point_at(app, monkeypatch, server.port, certificate, MAIL_USE_SSL=True)
        send_mail("ada@example.org", "Over TLS from the start", "Body\n")
        assert server.inbox.subjects() == ["Over TLS from the start"]
        assert server.inbox.mechanisms == ["PLAIN"]
        assert _stored("Over TLS from the start").state == MailState.SENT
    finally:
        server.stop()


def test_a_wrong_password_sends_nothing_keeps_the_mail_and_says_why(
    server, app, monkeypatch, login
):
    monkeypatch.setitem(app.config, "MAIL_PASSWORD", "not the passphrase")
    send_mail("ada@example.org", "Kept", "Body\n")
    assert server.inbox.received == []
    stored = _stored("Kept")
    reason = (
        f"The mail server at 127.0.0.1:{server.port} refused the user name or password "
        "(MAIL_USERNAME, MAIL_PASSWORD): 535 5.7.8 Authentication credentials invalid"
    )
    assert (stored.state, stored.attempts, stored.last_error) == (MailState.PENDING, 1, reason)
    pause = stored.next_attempt_at - utcnow()
    assert timedelta(seconds=50) < pause <= timedelta(minutes=1)

    admin = login(make_admin())
    listing = admin.get("/admin/outbox").get_data(as_text=True)
    assert "Not sent yet: tried again later" in listing
    assert "refused the user name or password" in listing
    page = admin.get(f"/admin/outbox/{stored.id}").get_data(as_text=True)
    assert "Not handed to the mail server after 1 attempt: The mail server at" in page

    monkeypatch.setitem(app.config, "MAIL_PASSWORD", PASSWORD)
    _due_now(stored)
    assert deliver_due_mail() == 1
    assert server.inbox.subjects() == ["Kept"]
    assert (_stored("Kept").state, _stored("Kept").attempts) == (MailState.SENT, 2)


def test_the_certificate_is_verified_unless_its_authority_is_given(server, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_CA_FILE", "")
    send_mail("ada@example.org", "Unverified", "Body\n")
    assert server.inbox.received == []
    stored = _stored("Unverified")
    assert stored.state == MailState.PENDING
    assert stored.last_error.startswith(
        f"The mail server at 127.0.0.1:{server.port} showed a certificate that could not be "
        "verified (set MAIL_CA_FILE for a private authority): "
    )


def test_a_server_that_is_down_loses_nothing_and_later_sends_each_mail_once(
    server, app, monkeypatch
):
    down = free_port()  # nothing listens there
    monkeypatch.setitem(app.config, "MAIL_PORT", down)
    queue_mail("ada@example.org", "First", "Body\n")
    queue_mail("bo@example.org", "Second", "Body\n")
    db.session.commit()
    # The pass stops at the first mail that cannot reach the server: the second waits, untried.
    assert deliver_due_mail() == 0
    first, second = _stored("First"), _stored("Second")
    assert (first.state, first.attempts) == (MailState.PENDING, 1)
    assert first.last_error == (
        f"Could not connect to the mail server at 127.0.0.1:{down}: [Errno 111] Connection refused"
    )
    assert (second.state, second.attempts, second.last_error) == (MailState.PENDING, 0, "")

    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    assert deliver_due_mail() == 1  # the second was due; the first waits out its pause
    _due_now(first)
    assert deliver_due_mail() == 1
    assert deliver_due_mail() == 0
    assert server.inbox.subjects() == ["First", "Second"]
    assert (_stored("First").state, _stored("First").attempts) == (MailState.SENT, 2)
    assert count(OutboxMessage) == 2


def test_pauses_grow_and_a_mail_is_given_up_after_a_day(server, app, monkeypatch, login):
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    message = send_mail("ada@example.org", "Never", "Body\n")
    pauses = []
    for _ in range(3):
        stored = _stored("Never")
        pauses.append(round((stored.next_attempt_at - utcnow()).total_seconds() / 60))
        _due_now(stored)
        deliver_due_mail()
    assert pauses == [1, 5, 15]
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(created_at=utcnow() - timedelta(days=1, minutes=1))
    )
    _due_now(message)
    deliver_due_mail()
    stored = _stored("Never")
    assert (stored.state, stored.attempts, stored.next_attempt_at) == (MailState.GAVE_UP, 5, None)
    _due_now(stored)
    assert deliver_due_mail() == 0 and _stored("Never").attempts == 5
    page = login(make_admin()).get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "Given up" in page and "for a day (5 attempts), so it is no longer tried" in page


def test_a_busy_mailbox_is_tried_again_and_a_missing_one_is_not(server):
    send_mail("busy@example.org", "Busy", "Body\n")
    send_mail("nobody@example.org", "Nobody", "Body\n")
    busy, nobody = _stored("Busy"), _stored("Nobody")
    assert (busy.state, busy.last_error) == (
        MailState.PENDING,
        "The mail server refused the address: 451 4.3.0 Mailbox busy, try again later",
    )
    assert (nobody.state, nobody.attempts, nobody.next_attempt_at, nobody.last_error) == (
        MailState.REFUSED,
        1,
        None,
        "The mail server refused the address: 550 5.1.1 No such mailbox here",
    )
    _due_now(nobody)
    assert deliver_due_mail() == 0
    assert _stored("Nobody").attempts == 1 and server.inbox.received == []


def test_a_bad_address_is_refused_without_asking_the_server(server):
    send_mail("not an address", "Bad", "Body\n")
    stored = _stored("Bad")
    assert (stored.state, stored.last_error) == (
        MailState.REFUSED,
        "'not an address' is not a mail address.",
    )
    assert server.inbox.received == []


def test_two_deliveries_at_once_send_each_mail_once(server, app):
    for n in range(8):
        queue_mail(f"person{n}@example.org", f"Mail {n}", "Body\n")
    db.session.commit()
    sent = []

    def deliver() -> None:
        with app.app_context():
            sent.append(deliver_due_mail())
            db.session.remove()

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(sent) == 8
    assert server.inbox.subjects() == [f"Mail {n}" for n in range(8)]
    db.session.expire_all()
    states = db.session.execute(select(OutboxMessage.state, OutboxMessage.attempts)).all()
    assert states == [(MailState.SENT, 1)] * 8


def test_a_broken_hand_over_is_delivery_unknown_and_never_sent_again(
    server, app, monkeypatch, login
):
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 0.5)
    message = send_mail("slow@example.org", "Slow", "Body\n")
    stored = _stored("Slow")
    assert stored.state == MailState.UNKNOWN
    assert stored.last_error == (
        f"The connection to 127.0.0.1:{server.port} broke while the mail was being handed "
        "over: Connection unexpectedly closed: The read operation timed out"
    )
    _due_now(stored)
    assert deliver_due_mail() == 0
    assert server.inbox.subjects() == ["Slow"]
    page = login(make_admin()).get(f"/admin/outbox/{message.id}").get_data(as_text=True)
    assert "Delivery unknown" in page and "ask slow@example.org whether it came" in page


def test_a_claim_left_by_a_process_that_died_is_shown_unknown_and_not_resent(server, login):
    message = queue_mail("ada@example.org", "Orphan", "Body\n")
    db.session.commit()
    claimed = utcnow() - timedelta(minutes=11)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message.id)
        .values(state=MailState.SENDING, claimed_at=claimed, attempts=1)
    )
    db.session.commit()
    assert deliver_due_mail() == 0 and server.inbox.received == []
    stored = _stored("Orphan")
    assert (stored.state, stored.shown_state()) == (MailState.SENDING, MailState.UNKNOWN)
    assert stored.shown_state(claimed + timedelta(minutes=1)) == MailState.SENDING
    listing = login(make_admin()).get("/admin/outbox").get_data(as_text=True)
    assert "Delivery unknown" in listing


def test_a_password_reset_goes_out_by_smtp_with_a_working_link(server, client):
    person = make_person(email="reset@example.org")
    client.post("/forgot-password", data={"email": "reset@example.org"})
    wait_for_background_jobs()
    ((_, recipients, message),) = server.inbox.received
    assert recipients == ["reset@example.org"]
    link = re.search(r"http://localhost(/reset-password/\S+)", message.get_content()).group(1)
    stored = _stored("Reset your Mentor Match password")
    assert stored.state == MailState.SENT and "/reset-password/" not in stored.body
    response = client.post(
        link, data={"password": "brand new passphrase", "confirm": "brand new passphrase"}
    )
    assert response.status_code == 302
    db.session.refresh(person)
    assert verify_password(person.password_hash, "brand new passphrase")


def test_an_invitation_kept_while_the_server_is_down_goes_out_later_with_a_fresh_link(
    server, app, monkeypatch, client
):
    person = make_person(email="ines@example.org")
    body = f"Choose your password:\n\n{INVITATION_LINK}\n"
    notify(person, "Welcome", subject="Welcome to Mentor Match", body=body)
    notify(person, "On the site only")
    db.session.commit()
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    assert deliver_pending_mail() == 0
    stored = _stored("Welcome to Mentor Match")
    assert (stored.state, stored.attempts, stored.link_kind) == (MailState.PENDING, 1, "invitation")
    assert stored.body == body and stored.person_id == person.id
    unqueued = select(Notification).where(Notification.mailed_at.is_(None))
    assert db.session.scalars(unqueued).all() == []

    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    _due_now(stored)
    assert deliver_pending_mail() == 1
    assert deliver_pending_mail() == 0
    ((_, recipients, message),) = server.inbox.received
    assert recipients == ["ines@example.org"]
    link = re.search(r"http://localhost(/reset-password/\S+)", message.get_content()).group(1)
    assert client.get(link).status_code == 200
    assert count(OutboxMessage) == 1
