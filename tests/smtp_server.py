"""A real SMTP server for tests (aiosmtpd in a thread of this process), with a certificate
made here: STARTTLS or TLS from the first byte, AUTH, and answers chosen by address."""

from __future__ import annotations

import asyncio
import ssl
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from . import certificates
from .processes import free_port

USER, PASSWORD = "mailer", "a mail server passphrase"
SENDER = "Mentor Match <no-reply@mentor-match.example>"


class Inbox:
    """The server's side: what it accepted, how clients logged in, and its answers to some
    addresses (nobody@ does not exist, busy@ is busy, slow@ answers DATA too late)."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], object]] = []
        self.mechanisms: list[str] = []

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.mechanisms.append(mechanism)
        given = auth_data if isinstance(auth_data, LoginPassword) else None
        # handled=False: aiosmtpd answers a failure itself (535), as a real server does.
        return AuthResult(success=given == (USER.encode(), PASSWORD.encode()), handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 No such mailbox here"
        if address.startswith("busy@"):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        wire = envelope.original_content.replace(b"\r\n", b"\n")
        message = message_from_bytes(wire, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        if any(address.startswith("slow@") for address in envelope.rcpt_tos):
            await asyncio.sleep(1.5)  # taken, but the answer comes after the client gave up
        return "250 2.0.0 Accepted for delivery"

    def subjects(self) -> list[str]:
        return sorted(message["Subject"] for _, _, message in self.received)


def make_certificate(directory) -> tuple[str, str]:
    """The mail server's self-signed certificate, for 127.0.0.1 and localhost: (certificate
    file, key file)."""
    return certificates.make_certificate(
        directory, common_name="mail.test", dns_names=("localhost",), ip_addresses=("127.0.0.1",)
    )


class MailServer:
    """One running aiosmtpd server and its inbox."""

    def __init__(self, cert: tuple[str, str], *, implicit_tls: bool = False, **smtp) -> None:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(*cert)
        self.inbox = Inbox()
        self.port = free_port()
        # With TLS from the first byte aiosmtpd cannot tell the session is encrypted, so it
        # is told not to insist on STARTTLS before AUTH (and then, not to insist on AUTH).
        extra = (
            {"ssl_context": tls, "auth_require_tls": False, "auth_required": False}
            if implicit_tls
            else {"tls_context": tls, "auth_required": True}
        )
        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=self.inbox.authenticate,
            **extra,
            **smtp,
        )
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
        self.controller.loop.close()
