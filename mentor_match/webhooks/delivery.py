"""Posting events to webhook endpoints on the worker, with retries, never twice.

Each event makes one delivery per active endpoint that wants its kind, in the event's own
transaction (`add_deliveries`, called by record_event), so a committed event always has its
deliveries and a rolled-back one has none. Once committed, a job is queued to post them.

A delivery claims its row (a conditional update, committed) before it posts and marks it
delivered once the receiver answered 2xx. A receiver that is down, slow, busy (429) or failing
(5xx) is tried again with growing pauses for a day; a 4xx or a refused address is not retried.
A claim still held after CLAIM_LIFETIME belongs to a process that died, perhaps after the
receiver took the post: it is shown as "delivery unknown" and never re-sent by itself. The
claim, the pauses and the lifetime are the outbox's too (mentor_match/claims.py). An admin's
replay is a new delivery of the same event. The event log keeps every event, so an endpoint
that was dead loses nothing: it can be replayed, or read at /api/v1/events.
"""

from __future__ import annotations

import logging
import time

from flask import current_app
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import outbound
from ..claims import RETRY_FOR, claim, next_pause
from ..errors import Refusal
from ..extensions import db
from ..models import (
    DeliveryState,
    EndpointKind,
    Event,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from ..sealing import Unsealable, unseal
from . import SEALING_PURPOSE
from .bodies import body_for
from .signing import HEADER, signature

log = logging.getLogger(__name__)

UNREADABLE = (
    "This endpoint's address or secret was saved under another SECRET_KEY and cannot be read: "
    "add the endpoint again."
)
# The session's note that it holds new deliveries, so its commit queues a delivery job.
_QUEUE_AFTER_COMMIT = "webhook_deliveries_added"


def add_deliveries(event: Event) -> int:
    """Add a delivery of `event` to every active endpoint that wants its kind; the caller
    commits. Returns how many."""
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True))
    ).all()
    wanted = [endpoint for endpoint in endpoints if event.kind in endpoint.kinds]
    for endpoint in wanted:
        db.session.add(_new_delivery(event, endpoint))
    if wanted:
        db.session.info[_QUEUE_AFTER_COMMIT] = True
    return len(wanted)


def _new_delivery(event: Event, endpoint: WebhookEndpoint, **extra) -> WebhookDelivery:
    return WebhookDelivery(
        event=event,
        endpoint=endpoint,
        state=DeliveryState.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
        last_error="",
        **extra,
    )


@sqlalchemy_event.listens_for(Session, "after_commit")
def _queue_after_commit(session: Session) -> None:
    if not session.info.pop(_QUEUE_AFTER_COMMIT, False):
        return
    # Imported here: the job module imports the whole site.
    from ..rounds.jobs import dispatch_webhooks

    try:
        dispatch_webhooks()
    except Exception:
        # What the caller committed stands (a booking must not fail for its webhooks): the
        # deliveries are in the database, and the scheduled pass posts them within a minute.
        log.exception("webhook deliveries could not be queued; the scheduled pass sends them")


@sqlalchemy_event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_QUEUE_AFTER_COMMIT, None)


def replay(delivery: WebhookDelivery) -> WebhookDelivery:
    """Post the delivery's event to its endpoint again, as a new delivery; commits."""
    if not delivery.endpoint.active:
        raise Refusal(
            f"{delivery.endpoint.name} is deactivated, so nothing is posted to it. "
            "Add it again to receive events."
        )
    again = _new_delivery(delivery.event, delivery.endpoint, replay_of_id=delivery.id)
    db.session.add(again)
    db.session.info[_QUEUE_AFTER_COMMIT] = True
    db.session.commit()
    return again


def deliver_due_webhooks(*, batch: int = 200) -> int:
    """Post every delivery whose attempt is due; returns how many were delivered.

    An endpoint whose post failed for now (down, slow, busy) is not tried again in the same
    pass, so a dead endpoint costs one timeout per pass, not one per waiting event. With
    nothing due this is one indexed query.
    """
    delivered = 0
    unreachable: set[int] = set()  # endpoints that failed in this pass
    tried: set[int] = set()
    while True:
        due = db.session.execute(
            select(WebhookDelivery.id, WebhookDelivery.endpoint_id)
            .where(
                WebhookDelivery.state == DeliveryState.PENDING,
                WebhookDelivery.next_attempt_at <= utcnow(),
                WebhookDelivery.endpoint_id.not_in(unreachable),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(batch)
        ).all()
        db.session.commit()
        waiting = [row for row in due if row.id not in tried]
        if not waiting:
            return delivered
        for delivery_id, endpoint_id in waiting:
            if endpoint_id in unreachable:
                continue
            tried.add(delivery_id)
            outcome = deliver(delivery_id)
            if outcome is DeliveryState.DELIVERED:
                delivered += 1
            elif outcome is DeliveryState.PENDING:
                unreachable.add(endpoint_id)


def deliver(delivery_id: int) -> DeliveryState | None:
    """Claim one due delivery, post it, and record what came of it; commits. None when it
    was not due or another delivery had claimed it."""
    if not claim(WebhookDelivery, delivery_id):
        return None
    delivery = db.session.get_one(WebhookDelivery, delivery_id, populate_existing=True)
    endpoint = delivery.endpoint
    if not endpoint.active:
        return _finish(
            delivery,
            DeliveryState.FAILED,
            "The endpoint was deactivated before this was posted, so it was not.",
        )
    try:
        url, body, headers = _request(delivery)
    except Unsealable:
        return _finish(delivery, DeliveryState.FAILED, UNREADABLE)
    except Exception as error:
        log.exception("webhook delivery %d to %s could not be composed", delivery.id, endpoint.name)
        return _retry(delivery, f"The site could not compose this post ({type(error).__name__}).")
    config = current_app.config
    result = outbound.post(
        url,
        body=body,
        headers=headers,
        timeout=config["WEBHOOK_TIMEOUT_SECONDS"],
        allow_private=config["WEBHOOK_ALLOW_PRIVATE_ADDRESSES"],
    )
    delivery.last_status = result.status
    if result.ok:
        delivery.delivered_at = utcnow()
        return _finish(delivery, DeliveryState.DELIVERED, "")
    if result.refused:
        return _finish(delivery, DeliveryState.FAILED, result.error or "")
    if result.status is None:
        return _retry(delivery, result.error or "No answer.")
    answer = f"The receiver answered {result.status}"
    if result.status == 429 or result.status >= 500:
        return _retry(delivery, f"{answer}: it is busy or failing, so it is tried again.")
    if 300 <= result.status < 400:
        return _finish(
            delivery,
            DeliveryState.FAILED,
            f"{answer}, a redirect, which webhooks do not follow: check the address.",
        )
    return _finish(
        delivery, DeliveryState.FAILED, f"{answer}: it refused the post, so it is not retried."
    )


def _request(delivery: WebhookDelivery) -> tuple[str, bytes, dict[str, str]]:
    """The address, body and headers of the post, made afresh at each attempt."""
    endpoint = delivery.endpoint
    url = unseal(endpoint.sealed_url, purpose=SEALING_PURPOSE)
    secret = (
        unseal(endpoint.sealed_secret, purpose=SEALING_PURPOSE)
        if endpoint.kind is EndpointKind.SIGNED
        else ""
    )
    body = body_for(endpoint.kind, delivery.event)
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[HEADER] = signature(secret, body, timestamp=int(time.time()))
        headers["Mentor-Match-Event"] = delivery.event.kind
        headers["Mentor-Match-Delivery"] = str(delivery.id)
    return url, body, headers


def _finish(delivery: WebhookDelivery, state: DeliveryState, error: str) -> DeliveryState:
    delivery.state, delivery.next_attempt_at, delivery.last_error = state, None, error[:500]
    db.session.commit()
    if state is not DeliveryState.DELIVERED:
        log.warning("webhook delivery %d to %s: %s", delivery.id, delivery.endpoint.name, error)
    return state


def _retry(delivery: WebhookDelivery, error: str) -> DeliveryState:
    """Try again after a pause that grows with each attempt; give up a day after the event."""
    now = utcnow()
    if now - delivery.created_at >= RETRY_FOR:
        return _finish(delivery, DeliveryState.GAVE_UP, error)
    delivery.state, delivery.last_error = DeliveryState.PENDING, error[:500]
    delivery.next_attempt_at = now + next_pause(delivery.attempts)
    db.session.commit()
    log.warning(
        "webhook delivery %d to %s, attempt %d: %s (tried again at %s)",
        delivery.id,
        delivery.endpoint.name,
        delivery.attempts,
        error,
        delivery.next_attempt_at.isoformat(),
    )
    return DeliveryState.PENDING
