"""Work that must happen at most once, retried when it fails for now: a mail, a webhook post.

A delivery claims its row (a conditional update from pending to sending, committed) before
anything leaves the site, so two deliveries of the same row cannot both go on. A claim still
held after CLAIM_LIFETIME belongs to a process that died, perhaps after the other side took it:
the row is shown as "delivery unknown" and never re-sent by itself. What failed for now waits
RETRY_PAUSES, growing with each attempt, and is given up RETRY_FOR after it was written.

The outbox (mail.services) and webhook deliveries (webhooks.delivery) both follow it; each row
has a `state` whose enum names PENDING, SENDING and UNKNOWN, `claimed_at`, `attempts` and
`next_attempt_at`.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from .extensions import db

# A delivery holds its claim for one conversation with the other side (each step times out in
# seconds). A claim older than this belongs to a process that died mid-way.
CLAIM_LIFETIME = timedelta(minutes=10)

# The pause after the 1st, 2nd... failed attempt; the last repeats until RETRY_FOR is reached.
RETRY_PAUSES = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
)
# What still failed this long after it was written is given up.
RETRY_FOR = timedelta(days=1)


class Claimed:
    """A model whose rows are claimed before their work: how an admin should read the state."""

    def shown_state(self, now: datetime | None = None) -> enum.StrEnum:
        """The state as an admin should read it: a claim held too long is delivery unknown."""
        states = type(self.state)
        held = self.state is states.SENDING and self.claimed_at is not None
        if held and (now or datetime.now(UTC)) - self.claimed_at > CLAIM_LIFETIME:
            return states.UNKNOWN
        return self.state


def claim(model: type[Claimed], row_id: int) -> bool:
    """Claim the row if it is pending and due, counting the attempt; commits, so the claim is
    durable before anything leaves the site. False when it was not due or already claimed."""
    states = model.state.type.enum_class
    now = datetime.now(UTC)
    claimed = db.session.execute(
        update(model)
        .where(
            model.id == row_id,
            model.state == states.PENDING,
            model.next_attempt_at <= now,
        )
        .values(state=states.SENDING, claimed_at=now, attempts=model.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return bool(claimed)


def next_pause(attempts: int) -> timedelta:
    """How long to wait after `attempts` failed attempts before the next."""
    return RETRY_PAUSES[min(attempts, len(RETRY_PAUSES)) - 1]
