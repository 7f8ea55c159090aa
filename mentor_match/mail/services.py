"""Send mail through SMTP when configured; keep every mail in the outbox and retry it from there.

Delivery never sends a mail twice: a delivery claims the mail (a conditional update,
committed) before it talks to the server and marks it sent once the server accepted it. A
mail the server could not take for now (down, busy, a 4xx) waits and is tried again with
growing pauses for a day; one it refuses for good (a 5xx on RCPT or DATA, a bad address) is
not retried. A claim still held after CLAIM_LIFETIME belongs to a process that died, perhaps
after the server took the mail: it is shown as "delivery unknown" and never re-sent by itself.
The claim, the pauses and the lifetime are webhook deliveries' too (mentor_match/claims.py).

The stored copy keeps no secret: a personal link is made at each attempt (see links.py).
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parseaddr

from blinker import Namespace
from flask import current_app
from sqlalchemy import select

from ..claims import RETRY_FOR, claim, next_pause
from ..extensions import db
from ..models import MailState, OutboxMessage, Person, utcnow
from . import links
from .smtp import DeliveryFailure, Failure, hand_over

log = logging.getLogger(__name__)

# Sent with each mail that went out, in full, as Flask-Mail's email_dispatched is: tests
# listen to it to read what a person really received.
mail_dispatched = Namespace().signal("mail-dispatched")


@dataclass(frozen=True)
class Mail:
    """One plain-text mail as it goes out."""

    recipient: str
    subject: str
    body: str


class Attempt(enum.Enum):
    """What one delivery attempt came to."""

    SENT = "sent"  # accepted by the server, or written to the log when there is none
    FAILED = "failed"  # not sent; the outbox says why and whether it is tried again
    SERVER_DOWN = "server down"  # failed in a way every other mail would too
    TAKEN = "taken"  # another delivery had claimed it (or it was not due)


def queue_mail(
    recipient: str,
    subject: str,
    body: str,
    *,
    person_id: int | None = None,
    link_kind: str = "",
) -> OutboxMessage:
    """Add one mail to the outbox, due now; the caller commits.

    With `link_kind` the body holds that kind's placeholder (links.PLACEHOLDERS) and the link is
    made for `person_id` when the mail is sent.
    """
    if link_kind and person_id is None:
        raise ValueError(f"a mail with a {link_kind} link needs the person it is for")
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body=body,
        state=MailState.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        last_error="",
        person_id=person_id,
        link_kind=link_kind,
    )
    db.session.add(message)
    return message


def send_mail(
    recipient: str,
    subject: str,
    body: str,
    *,
    person_id: int | None = None,
    link_kind: str = "",
) -> OutboxMessage:
    """Record one mail and try to send it now; commits (the session's work with it).

    It is committed before the attempt, so a failed attempt is retried by deliver_due_mail
    and a crash mid-send leaves "delivery unknown" rather than a mail sent twice. With no
    MAIL_SERVER (the demo, offline) the mail is written to the log at INFO, as Django's
    console mail backend does, so its links can still be followed.
    """
    message = queue_mail(recipient, subject, body, person_id=person_id, link_kind=link_kind)
    db.session.commit()
    deliver(message.id)
    return message


def deliver_due_mail(*, batch: int = 500) -> int:
    """Try every mail whose attempt is due; returns how many went out.

    Stops at the first failure that every other mail would meet too (the server is down),
    leaving the rest due for the next pass. With nothing due this is one indexed query.
    """
    sent = 0
    while True:
        due = db.session.scalars(
            select(OutboxMessage.id)
            .where(
                OutboxMessage.state == MailState.PENDING,
                OutboxMessage.next_attempt_at <= utcnow(),
            )
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(batch)
        ).all()
        if not due:
            return sent
        for message_id in due:
            attempt = deliver(message_id)
            if attempt is Attempt.SENT:
                sent += 1
            elif attempt is Attempt.SERVER_DOWN:
                return sent


def deliver(message_id: int) -> Attempt:
    """Claim one due mail, hand it to the server, and record what happened; commits."""
    if not claim(OutboxMessage, message_id):
        return Attempt.TAKEN
    message = db.session.get_one(OutboxMessage, message_id)
    try:
        mail = _composed(message)
        _hand_over(mail, message)
    except DeliveryFailure as failure:
        _record_failure(message, failure)
        db.session.commit()
        return Attempt.SERVER_DOWN if failure.server_wide else Attempt.FAILED
    server = current_app.config.get("MAIL_SERVER")
    message.state = MailState.SENT if server else MailState.LOGGED
    message.sent_at, message.next_attempt_at = utcnow(), None
    db.session.commit()
    mail_dispatched.send(current_app._get_current_object(), mail=mail)
    return Attempt.SENT


def _composed(message: OutboxMessage) -> Mail:
    """The mail as the recipient gets it; nothing has reached the server yet, so a fault in
    the code here leaves the mail to be tried again (and logged), not "delivery unknown"."""
    try:
        return _as_sent(message)
    except DeliveryFailure:
        raise
    except Exception as error:
        log.exception("mail %d to %s could not be composed", message.id, message.recipient)
        raise DeliveryFailure(
            f"The site could not compose this mail ({type(error).__name__}); see the log.",
            Failure.TEMPORARY,
        ) from error


def _as_sent(message: OutboxMessage) -> Mail:
    """The mail as the recipient gets it: its personal link, if any, made now."""
    body = message.body
    if message.link_kind:
        person = db.session.get(Person, message.person_id) if message.person_id else None
        if person is None:
            raise DeliveryFailure(
                "The person this mail was for has been removed, so its link cannot be made.",
                Failure.PERMANENT,
            )
        body = links.with_link(body, message.link_kind, person)
    return Mail(message.recipient, message.subject, body)


def _hand_over(mail: Mail, message: OutboxMessage) -> None:
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        log.info(
            "mail to %s (no MAIL_SERVER, so shown here only)\nSubject: %s\n\n%s",
            mail.recipient,
            mail.subject,
            mail.body,
        )
        return
    hand_over(_email(mail, message, sender=config["MAIL_SENDER"]), config)


def _email(mail: Mail, message: OutboxMessage, *, sender: str) -> EmailMessage:
    """The message on the wire; its Message-ID is the same at every attempt, so a receiving
    server that saw it before can tell it is the same mail."""
    name, address = parseaddr(mail.recipient)
    if "@" not in address or name or address != mail.recipient.strip():
        raise DeliveryFailure(f"{mail.recipient!r} is not a mail address.", Failure.PERMANENT)
    email = EmailMessage()
    try:
        email["From"] = sender
        email["To"] = mail.recipient
    except ValueError as error:
        raise DeliveryFailure(
            f"{mail.recipient!r} is not a mail address: {error}", Failure.PERMANENT
        ) from error
    email["Subject"] = mail.subject
    domain = parseaddr(sender)[1].rpartition("@")[2] or "mentor-match.local"
    email["Message-ID"] = f"<outbox-{message.id}.{int(message.created_at.timestamp())}@{domain}>"
    email.set_content(mail.body)
    return email


def _record_failure(message: OutboxMessage, failure: DeliveryFailure) -> None:
    now = utcnow()
    message.last_error = failure.reason[:500]
    message.next_attempt_at = None
    if failure.failure is Failure.UNKNOWN:
        message.state = MailState.UNKNOWN
    elif failure.failure is Failure.PERMANENT:
        message.state = MailState.REFUSED
    elif now - message.created_at >= RETRY_FOR:
        message.state = MailState.GAVE_UP
    else:
        message.state = MailState.PENDING
        message.next_attempt_at = now + next_pause(message.attempts)
    log.warning(
        "mail %d to %s, attempt %d: %s (now %s)",
        message.id,
        message.recipient,
        message.attempts,
        failure.reason,
        message.state.value,
    )
