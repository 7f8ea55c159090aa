"""The event log: what happened, in order, for other systems to poll at /api/v1/events.

Events are written in the same transaction as what they report, so a poller never sees
an event for something that was rolled back, nor misses one that was committed.
"""

from __future__ import annotations

import json

from ..extensions import db
from ..models import Event

ROUND_PUBLISHED = "round.published"
SESSION_BOOKED = "session.booked"
SESSION_CANCELLED = "session.cancelled"
SESSION_MOVED = "session.moved"
ATTENDANCE_CONFIRMED = "session.confirmed"
SESSION_REMINDED = "session.reminded"
KINDS = (
    ROUND_PUBLISHED,
    SESSION_BOOKED,
    SESSION_CANCELLED,
    SESSION_MOVED,
    ATTENDANCE_CONFIRMED,
    SESSION_REMINDED,
)


def record_event(kind: str, /, **payload) -> None:
    """Add an event, and its deliveries to webhook endpoints, to the caller's transaction (the
    caller commits)."""
    # Imported here: the webhooks read this module's KINDS.
    from ..webhooks.delivery import add_deliveries

    if kind not in KINDS:
        raise ValueError(f"unknown event kind {kind!r}")
    event = Event(kind=kind, payload_json=json.dumps(payload, sort_keys=True, default=str))
    db.session.add(event)
    add_deliveries(event)
