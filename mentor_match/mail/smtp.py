"""Hand one mail to the SMTP server, and say what a failure means for trying again.

STARTTLS (MAIL_USE_TLS) or TLS from the first byte (MAIL_USE_SSL, port 465), AUTH when
MAIL_USERNAME is set, a timeout on every step, and the server's certificate verified against
the system's authorities or MAIL_CA_FILE (a private CA; verification is never turned off).
"""

from __future__ import annotations

import enum
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any


class Failure(enum.Enum):
    """What a failed hand-over means for the mail."""

    TEMPORARY = "temporary"  # try again later: the server was down, busy or misconfigured
    PERMANENT = "permanent"  # the server will never take this mail (5xx on RCPT or DATA)
    UNKNOWN = "unknown"  # the mail was being handed over when the connection broke


class DeliveryFailure(Exception):
    """The server did not take the mail: why, in words for an admin, and what that means.

    `server_wide` failures (cannot connect, TLS, log-in, sender refused) would fail every other
    mail too, so a delivery pass stops at the first and leaves the rest for its next run.
    """

    def __init__(self, reason: str, failure: Failure, *, server_wide: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.failure, self.server_wide = reason, failure, server_wide


class _Conversation:
    """Notes when DATA begins: from then on a broken connection may follow an accepted mail."""

    in_data = False

    def data(self, msg: Any) -> tuple[int, bytes]:
        self.in_data = True
        return super().data(msg)  # type: ignore[misc]


class _SMTP(_Conversation, smtplib.SMTP):
    pass


class _SMTPOverTLS(_Conversation, smtplib.SMTP_SSL):
    pass


def hand_over(message: EmailMessage, config: Mapping[str, Any]) -> None:
    """Send one message through the configured server; raises DeliveryFailure if not accepted."""
    host, port, timeout = config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_TIMEOUT"]
    where = f"{host}:{port}"
    try:
        context = ssl.create_default_context(cafile=config.get("MAIL_CA_FILE") or None)
    except OSError as error:
        raise DeliveryFailure(
            f"The CA file MAIL_CA_FILE cannot be read: {error}", Failure.TEMPORARY, server_wide=True
        ) from error
    try:
        if config.get("MAIL_USE_SSL"):
            smtp: _SMTP | _SMTPOverTLS = _SMTPOverTLS(host, port, timeout=timeout, context=context)
        else:
            smtp = _SMTP(host, port, timeout=timeout)
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailure(
            f"Could not connect to the mail server at {where}: {_words(error)}",
            Failure.TEMPORARY,
            server_wide=True,
        ) from error
    try:
        _log_in(smtp, config, context, where)
        _send(smtp, message, where)
    finally:
        _close(smtp)


def _log_in(smtp: smtplib.SMTP, config: Mapping[str, Any], context, where: str) -> None:
    try:
        if config.get("MAIL_USE_TLS") and not config.get("MAIL_USE_SSL"):
            smtp.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    except smtplib.SMTPAuthenticationError as error:
        raise DeliveryFailure(
            f"The mail server at {where} refused the user name or password (MAIL_USERNAME, "
            f"MAIL_PASSWORD): {_words(error)}",
            Failure.TEMPORARY,
            server_wide=True,
        ) from error
    except ssl.SSLCertVerificationError as error:
        raise DeliveryFailure(
            f"The mail server at {where} showed a certificate that could not be verified "
            f"(set MAIL_CA_FILE for a private authority): {error.verify_message}",
            Failure.TEMPORARY,
            server_wide=True,
        ) from error
    except (OSError, smtplib.SMTPException) as error:
        raise DeliveryFailure(
            f"Could not start a secure, logged-in session with the mail server at {where}: "
            f"{_words(error)}",
            Failure.TEMPORARY,
            server_wide=True,
        ) from error


def _send(smtp: _SMTP | _SMTPOverTLS, message: EmailMessage, where: str) -> None:
    try:
        smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        replies = "; ".join(f"{code} {_text(reply)}" for code, reply in error.recipients.values())
        failure = Failure.PERMANENT if all(code >= 500 for code in codes) else Failure.TEMPORARY
        raise DeliveryFailure(f"The mail server refused the address: {replies}", failure) from error
    except smtplib.SMTPSenderRefused as error:
        raise DeliveryFailure(
            f"The mail server refused the sender address (MAIL_SENDER): {_words(error)}",
            Failure.TEMPORARY,
            server_wide=True,
        ) from error
    except smtplib.SMTPDataError as error:
        failure = Failure.PERMANENT if error.smtp_code >= 500 else Failure.TEMPORARY
        raise DeliveryFailure(
            f"The mail server refused the mail: {_words(error)}", failure
        ) from error
    except (OSError, smtplib.SMTPException) as error:
        if smtp.in_data:
            # It may have been accepted before the connection broke: sending it again could
            # deliver it twice, so it is left for an admin to decide.
            raise DeliveryFailure(
                f"The connection to {where} broke while the mail was being handed over: "
                f"{_words(error)}",
                Failure.UNKNOWN,
            ) from error
        raise DeliveryFailure(
            f"The mail server at {where} did not take the mail: {_words(error)}",
            Failure.TEMPORARY,
        ) from error


def _close(smtp: smtplib.SMTP) -> None:
    """Say goodbye; a server that hangs up first has already taken (or refused) the mail."""
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def _words(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{error.smtp_code} {_text(error.smtp_error)}"
    return str(error) or type(error).__name__
