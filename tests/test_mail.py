"""One mail service: SMTP when configured, else the log; a stored copy without secrets."""

import logging
import smtplib

from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.mail.services import send_mail
from mentor_match.models import OutboxMessage


class FakeSMTP:
    """Stands in for smtplib.SMTP and remembers what it was asked to do."""

    sent: list = []
    refuse = False

    def __init__(self, host, port, timeout):
        if self.refuse:
            raise ConnectionRefusedError(f"nothing listens on {host}:{port}")
        self.host, self.port = host, port
        self.tls = False
        self.login_as = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        self.tls = True

    def login(self, user, password):
        self.login_as = user

    def send_message(self, message):
        FakeSMTP.sent.append((self, message))


def test_without_smtp_mail_stays_in_the_outbox(app):
    send_mail("ada@example.org", "Hello", "Body text")
    db.session.commit()
    message = db.session.scalar(select(OutboxMessage))
    assert (message.recipient, message.subject, message.delivered_via) == (
        "ada@example.org",
        "Hello",
        "outbox",
    )


def test_with_smtp_mail_is_sent_and_recorded(app, monkeypatch):
    FakeSMTP.sent, FakeSMTP.refuse = [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    monkeypatch.setitem(app.config, "MAIL_USERNAME", "mailer")
    send_mail(
        "ada@example.org",
        "Your pairing",
        "You are paired with Grace: http://x/secret",
        secrets=["http://x/secret"],
    )
    db.session.commit()
    ((connection, sent),) = FakeSMTP.sent
    assert (
        connection.host == "smtp.example.org" and connection.tls and connection.login_as == "mailer"
    )
    assert sent["To"] == "ada@example.org" and sent["Subject"] == "Your pairing"
    assert "paired with Grace: http://x/secret" in sent.get_content()
    stored = db.session.scalar(select(OutboxMessage))
    assert stored.delivered_via == "smtp" and "http://x/secret" not in stored.body


def test_a_refused_smtp_server_loses_no_mail_and_logs_why(app, monkeypatch, caplog):
    FakeSMTP.sent, FakeSMTP.refuse = [], True
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    send_mail("ada@example.org", "Hello", "Body")
    db.session.commit()
    assert db.session.scalar(select(OutboxMessage)).delivered_via == "failed"
    assert "could not send mail" in caplog.text


def test_the_stored_copy_keeps_no_secret_and_the_mail_goes_out_whole(app, sent_mail):
    body = "Choose a password: http://x/reset-password/abc.def\nThen log in."
    send_mail("ada@example.org", "Invitation", body, secrets=["http://x/reset-password/abc.def"])
    db.session.commit()
    (mail,) = sent_mail
    assert (mail.recipient, mail.subject, mail.body) == ("ada@example.org", "Invitation", body)
    assert db.session.scalar(select(OutboxMessage)).body == (
        "Choose a password: [link removed from the stored copy: only the recipient's mail holds"
        " it]\nThen log in."
    )


def test_without_smtp_the_whole_mail_is_logged_for_the_demo(app, caplog):
    caplog.set_level(logging.INFO, logger="mentor_match.mail.services")
    send_mail(
        "ada@example.org",
        "Reset",
        "Follow http://x/reset-password/abc.def",
        secrets=["http://x/reset-password/abc.def"],
    )
    assert "mail to ada@example.org" in caplog.text
    assert "Subject: Reset" in caplog.text and "http://x/reset-password/abc.def" in caplog.text


def test_a_mail_that_smtp_refused_is_not_reported_as_sent(app, monkeypatch, sent_mail):
    FakeSMTP.sent, FakeSMTP.refuse = [], True
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "smtp.example.org")
    send_mail(
        "ada@example.org",
        "Reset",
        "http://x/reset-password/abc",
        secrets=["http://x/reset-password/abc"],
    )
    db.session.commit()
    assert sent_mail == []
    assert "abc" not in db.session.scalar(select(OutboxMessage)).body
