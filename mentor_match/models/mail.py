"""Outgoing mail, kept as a record and as the queue it is delivered (and retried) from."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..claims import Claimed
from ..extensions import db
from .types import UTCDateTime, utcnow, value_enum


class MailState(enum.StrEnum):
    """Where a mail is on its way; templates/admin/_delivery.html says each in words."""

    PENDING = "pending"  # waiting for its first or next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by one delivery, which is talking to the server
    SENT = "sent"  # the mail server accepted it
    LOGGED = "logged"  # no MAIL_SERVER: written to the log, read on the site
    REFUSED = "refused"  # the server will never take it (5xx on RCPT/DATA, a bad address)
    GAVE_UP = "gave_up"  # it kept failing for about a day
    UNKNOWN = "unknown"  # handed over, then the connection broke: never re-sent automatically


class OutboxMessage(Claimed, db.Model):
    """A mail the site sends: its record for admins and its place in the delivery queue.

    It is stored without secrets. A mail that carries a personal link (reset, invitation,
    address confirmation) keeps a placeholder in `body` and names the link in `link_kind`: the
    link is made afresh for `person` at each attempt, so a retry a day later still works.
    """

    __tablename__ = "outbox_messages"
    # The one query a delivery pass makes when nothing is due reads this index.
    __table_args__ = (Index("ix_outbox_messages_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient: Mapped[str] = mapped_column(String(254), index=True)
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[MailState] = mapped_column(value_enum(MailState), default=MailState.PENDING)
    # Attempts made so far, counting one that is under way; the back-off grows with it.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the current (or last) delivery claimed it: an old claim means "delivery unknown".
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Why the last attempt failed, in words an admin can act on.
    last_error: Mapped[str] = mapped_column(String(500), default="")
    # For a mail with a personal link: whose link, and which kind (mail.links.LINK_KINDS).
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="SET NULL"), index=True
    )
    link_kind: Mapped[str] = mapped_column(String(20), default="")
