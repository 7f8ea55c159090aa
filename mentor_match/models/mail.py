"""Outgoing mail, kept as a record whether it went by SMTP or stays in the outbox."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import UTCDateTime, utcnow


class OutboxMessage(db.Model):
    """A mail the site sent (or failed to send), stored without its secret links."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # "smtp" once handed to the mail server; "outbox" when no server is configured (the mail
    # then went to the log); "failed" when the server refused it.
    delivered_via: Mapped[str] = mapped_column(String(10))
