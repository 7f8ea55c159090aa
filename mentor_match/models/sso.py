"""Single sign-on with OpenID Connect: the organisation's provider, and who signs in through it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .types import UTCDateTime, utcnow

if TYPE_CHECKING:
    from .people import Person


class SingleSignOnSettings(db.Model):
    """One row, saved by an admin. Absent means single sign-on is off."""

    __tablename__ = "sso_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    # The provider's issuer URL: its discovery document is at <issuer>/.well-known/...
    issuer: Mapped[str] = mapped_column(String(500), default="")
    client_id: Mapped[str] = mapped_column(String(255), default="")
    # The client secret sealed with a key derived from SECRET_KEY (mentor_match/sealing.py):
    # the database alone, or a backup of it, does not give the secret away.
    client_secret_sealed: Mapped[str] = mapped_column(Text, default="")
    # The name on the log-in button: "Sign in with <display_name>".
    display_name: Mapped[str] = mapped_column(String(80), default="")
    # Password log-in and sign-up are closed to everyone but admins (their way in while the
    # provider is down or misconfigured).
    sso_only: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SingleSignOnLink(db.Model):
    """A person's account at the provider: the issuer and subject its ID tokens name.

    The subject, not the email, identifies the account: a provider may let its people change
    their address, and never reuses a subject (OpenID Connect Core 1.0, section 5.7).
    """

    __tablename__ = "sso_links"
    __table_args__ = (
        # One account at a provider opens one person here, and a person has one account there.
        UniqueConstraint("issuer", "subject"),
        UniqueConstraint("person_id", "issuer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    issuer: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str] = mapped_column(String(255))
    # The address the provider gave when the link was made, shown to admins.
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    person: Mapped[Person] = relationship()
