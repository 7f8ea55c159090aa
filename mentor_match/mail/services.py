"""Send mail through SMTP when configured; always keep a record admins can read."""
import logging
import smtplib
from email.message import EmailMessage

from flask import current_app

from ..extensions import db
from ..models import OutboxMessage

log = logging.getLogger(__name__)


def send_mail(recipient: str, subject: str, body: str) -> OutboxMessage:
    """Send one plain-text mail and record it; the caller commits the session.

    With no MAIL_SERVER configured the message stays in the outbox, so the site works
    offline (the demo) and an admin can still read what would have gone out.
    """
    message = OutboxMessage(recipient=recipient, subject=subject, body=body, delivered_via="outbox")
    server = current_app.config.get("MAIL_SERVER")
    if server:
        try:
            _send_smtp(recipient, subject, body)
            message.delivered_via = "smtp"
        except (OSError, smtplib.SMTPException):
            # The message is kept in the outbox so nothing is lost; the failure is logged.
            log.exception("could not send mail %r to %s through %s", subject, recipient, server)
            message.delivered_via = "failed"
    db.session.add(message)
    return message


def _send_smtp(recipient: str, subject: str, body: str) -> None:
    config = current_app.config
    mail = EmailMessage()
    mail["From"] = config["MAIL_SENDER"]
    mail["To"] = recipient
    mail["Subject"] = subject
    mail.set_content(body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(mail)
