"""One mail service: SMTP when configured (tests/test_smtp.py), else the log; the outbox keeps
every mail without its personal link, which is made afresh at each attempt."""

import logging
import re

from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.mail import links
from mentor_match.mail.services import deliver_due_mail, send_mail
from mentor_match.models import MailState, OutboxMessage

from .factories import make_person


def test_without_smtp_mail_is_logged_and_kept(app):
    send_mail("ada@example.org", "Hello", "Body text")
    message = db.session.scalar(select(OutboxMessage))
    assert (message.recipient, message.subject, message.state, message.attempts) == (
        "ada@example.org",
        "Hello",
        MailState.LOGGED,
        1,
    )
    assert message.next_attempt_at is None and message.sent_at is not None


def test_the_stored_copy_keeps_no_link_and_the_mail_goes_out_whole(app, sent_mail):
    person = make_person(email="ada@example.org")
    placeholder = links.PLACEHOLDERS[links.RESET]
    send_mail(
        "ada@example.org",
        "Reset",
        f"Choose a password: {placeholder}\nThen log in.",
        person_id=person.id,
        link_kind=links.RESET,
    )
    (mail,) = sent_mail
    assert re.fullmatch(
        r"Choose a password: http://localhost/reset-password/\S+\nThen log in\.", mail.body
    )
    assert db.session.scalar(select(OutboxMessage)).body == (
        "Choose a password: [reset link, made when the mail is sent: only the recipient's mail"
        " holds it]\nThen log in."
    )


def test_without_smtp_the_whole_mail_is_logged_for_the_demo(app, caplog):
    caplog.set_level(logging.INFO, logger="mentor_match.mail.services")
    person = make_person(email="ada@example.org")
    send_mail(
        "ada@example.org",
        "Confirm",
        f"Follow {links.PLACEHOLDERS[links.CONFIRM_ADDRESS]}",
        person_id=person.id,
        link_kind=links.CONFIRM_ADDRESS,
    )
    assert "mail to ada@example.org" in caplog.text
    assert "Subject: Confirm" in caplog.text
    assert "Follow http://localhost/signup/confirm/" in caplog.text


def test_a_link_mail_whose_person_is_gone_is_refused_not_retried(app, sent_mail):
    person = make_person(email="gone@example.org")
    message = send_mail(
        "gone@example.org",
        "Reset",
        links.PLACEHOLDERS[links.RESET],
        person_id=person.id,
        link_kind=links.RESET,
    )
    message.state, message.next_attempt_at = MailState.PENDING, message.created_at
    db.session.delete(person)
    db.session.commit()
    assert deliver_due_mail() == 0
    db.session.refresh(message)
    assert (message.state, message.person_id, message.last_error) == (
        MailState.REFUSED,
        None,
        "The person this mail was for has been removed, so its link cannot be made.",
    )
    assert len(sent_mail) == 1


def test_a_fault_while_composing_leaves_the_mail_to_be_tried_again(app, monkeypatch, caplog):
    person = make_person(email="ada@example.org")

    def broken(body, kind, person):
        raise RuntimeError("no link today")

    monkeypatch.setattr(links, "with_link", broken)
    message = send_mail(
        "ada@example.org",
        "Reset",
        links.PLACEHOLDERS[links.RESET],
        person_id=person.id,
        link_kind=links.RESET,
    )
    db.session.refresh(message)
    assert (message.state, message.attempts, message.last_error) == (
        MailState.PENDING,
        1,
        "The site could not compose this mail (RuntimeError); see the log.",
    )
    assert f"mail {message.id} to ada@example.org could not be composed" in caplog.text
