"""A real SMTP server for tests (aiosmtpd in a thread of this process), with a certificate
made here: STARTTLS or TLS from the first byte, AUTH, and answers chosen by address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_certificate(directory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and localhost: (certificate file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mail.test")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "mail.pem", directory / "mail.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


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
