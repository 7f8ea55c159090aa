"""Outbound webhooks: the addresses events are posted to (chat or any system), and each post."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..claims import Claimed
from ..extensions import db
from .integrations import Event
from .types import UTCDateTime, utcnow, value_enum


class EndpointKind(enum.StrEnum):
    """What the receiver expects: a chat message, or the signed event itself."""

    SLACK = "slack"  # a Slack incoming webhook: {"text", "blocks"}
    TEAMS = "teams"  # a Microsoft Teams Workflows webhook: an Adaptive Card
    SIGNED = "signed"  # any system: the event as JSON, signed with HMAC-SHA256

    @property
    def label(self) -> str:
        return {"slack": "Slack", "teams": "Microsoft Teams", "signed": "Signed JSON"}[self.value]


class DeliveryState(enum.StrEnum):
    """Where one post of one event is; templates/webhooks/_delivery.html says each in words."""

    PENDING = "pending"  # waiting for its first or next attempt (next_attempt_at)
    SENDING = "sending"  # claimed by one delivery, which is posting it
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # refused for good (a 4xx other than 429, an address not allowed)
    GAVE_UP = "gave_up"  # it kept failing for about a day
    UNKNOWN = "unknown"  # the post may have arrived: never re-sent automatically


class WebhookEndpoint(db.Model):
    """An address the site posts events to, with the event kinds it wants.

    The address (a Slack or Teams one is itself the credential) and the signing secret are
    kept sealed (mentor_match/sealing.py): the database alone gives neither.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[EndpointKind] = mapped_column(value_enum(EndpointKind))
    sealed_url: Mapped[str] = mapped_column(Text)
    # Where it posts, for people: scheme and host only (the path of a chat address is secret).
    url_hint: Mapped[str] = mapped_column(String(300))
    sealed_secret: Mapped[str] = mapped_column(Text, default="")  # signed endpoints only
    # The event kinds it receives, space-separated (integrations.events.KINDS).
    event_kinds: Mapped[str] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def kinds(self) -> list[str]:
        return self.event_kinds.split()


class WebhookDelivery(Claimed, db.Model):
    """One post of one event to one endpoint: its record for admins and its place in the queue.

    Made in the event's own transaction, so an event is never without its deliveries; a replay
    is a new delivery of the same event (`replay_of` says which).
    """

    __tablename__ = "webhook_deliveries"
    # The one query a delivery pass makes when nothing is due reads this index.
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    replay_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[DeliveryState] = mapped_column(
        value_enum(DeliveryState), default=DeliveryState.PENDING
    )
    # Attempts made so far, counting one under way; the back-off grows with it.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)  # the receiver's HTTP status
    # Why the last attempt failed, in words an admin can act on.
    last_error: Mapped[str] = mapped_column(String(500), default="")

    event: Mapped[Event] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
