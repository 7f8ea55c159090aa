"""Send mail through SMTP when configured; always keep a record admins can read.

The record keeps no secret: links that act for the recipient (a reset or invitation link)
are in the mail that goes out, and replaced by a marker in the stored copy.
"""

import logging
import smtplib
from collections.abc import Collection
from dataclasses import dataclass
from email.message import EmailMessage

from blinker import Namespace
from flask import current_app

from ..extensions import db
from ..models import OutboxMessage

log = logging.getLogger(__name__)

REMOVED_SECRET = "[link removed from the stored copy: only the recipient's mail holds it]"

# Sent with each mail that went out, in full, as Flask-Mail's email_dispatched is: tests
# listen to it to read what a person really received.
mail_dispatched = Namespace().signal("mail-dispatched")


@dataclass(frozen=True)
class Mail:
    """One plain-text mail as it goes out."""

    recipient: str
    subject: str
    body: str


def send_mail(
    recipient: str, subject: str, body: str, *, secrets: Collection[str] = ()
) -> OutboxMessage:
    """Send one plain-text mail and record it without its secrets; the caller commits.

    With no MAIL_SERVER configured (the demo, offline) the mail is written to the log at
    INFO, as Django's console mail backend does, so its links can still be followed.
    """
    mail = Mail(recipient, subject, body)
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body=without_secrets(body, secrets),
        delivered_via="outbox",
    )
    server = current_app.config.get("MAIL_SERVER")
    if server:
        try:
            _send_smtp(mail)
            message.delivered_via = "smtp"
        except (OSError, smtplib.SMTPException):
            # The stored copy is kept so the failure shows in the outbox; the error is logged.
            log.exception("could not send mail %r to %s through %s", subject, recipient, server)
            message.delivered_via = "failed"
    else:
        log.info(
            "mail to %s (no MAIL_SERVER, so shown here only)\nSubject: %s\n\n%s",
            recipient,
            subject,
            body,
        )
    if message.delivered_via != "failed":
        mail_dispatched.send(current_app._get_current_object(), mail=mail)
    db.session.add(message)
    return message


def without_secrets(body: str, secrets: Collection[str]) -> str:
    """The body as stored: each secret (longest first, so none is left in part) replaced."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        body = body.replace(secret, REMOVED_SECRET)
    return body


def _send_smtp(mail: Mail) -> None:
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_SENDER"]
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
