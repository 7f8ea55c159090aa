"""Webhooks: events reach Slack, Teams and signed endpoints from the worker, never twice."""

import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mentor_match.booking.actions import book
from mentor_match.calendars.reminders import send_reminders
from mentor_match.extensions import db
from mentor_match.integrations.events import SESSION_BOOKED, SESSION_REMINDED, record_event
from mentor_match.models import (
    DeliveryState,
    EndpointKind,
    Event,
    SessionMode,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from mentor_match.rounds.jobs import deliver_webhooks_job
from mentor_match.rounds.queue import QUEUE_NAME, wait_for_background_jobs
from mentor_match.webhooks import signing
from mentor_match.webhooks.delivery import deliver_due_webhooks, replay
from mentor_match.webhooks.endpoints import add_endpoint, deactivate

from .conftest import REDIS_URL
from .database import count
from .factories import first_open_slot, make_admin
from .local_http import local_server
from .test_secrets_at_rest import _stored_text

HOOK = "/hook"


def _posts(served):
    """Each POST the receiver took, as (headers, body)."""
    return [(headers, body) for method, _, headers, body in served.requests if method == "POST"]


def _answer(served, status):
    served.answers[HOOK] = (status, {}, b"")


@pytest.fixture
def receiver(app, monkeypatch):
    """A receiver on this machine, which the site may post to only when allowed."""
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", True)
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 2.0)
    with local_server() as served:
        served.answers[HOOK] = (200, {}, b"ok")
        yield served


def _book(office):
    master, apprentice = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, apprentice)
    seat = book(apprentice, master, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    wait_for_background_jobs()  # the delivery job the commit queued
    db.session.expire_all()
    return seat


def _deliveries():
    return db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)).all()


def _make_due(delivery):
    delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_a_booking_reaches_a_signed_endpoint_with_a_valid_signature(office, receiver):
    added = add_endpoint("Reporting", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    assert added.signing_secret.startswith("whsec_")
    seat = _book(office)

    ((headers, body),) = _posts(receiver)
    header = headers[signing.HEADER]
    assert signing.verify(added.signing_secret, body, header)
    document = json.loads(body)
    event = db.session.scalars(select(Event)).one()
    assert document["id"] == f"evt_{event.id}" and document["type"] == "session.booked"
    assert document["data"]["seat_id"] == seat.id
    assert document["data"]["master_id"] == office["master"].id
    assert headers["Content-Type"] == "application/json"
    # What a receiver must refuse: another body, another secret, an old or a missing stamp.
    assert not signing.verify(added.signing_secret, body.replace(b"booked", b"cancel"), header)
    assert not signing.verify("whsec_another", body, header)
    stamp = int(header.split(",")[0].removeprefix("t="))
    assert not signing.verify(added.signing_secret, body, header, now=stamp + 301)
    assert signing.verify(added.signing_secret, body, header, now=stamp + 299)
    assert not signing.verify(added.signing_secret, body, header.split(",")[1])

    (delivery,) = _deliveries()
    assert delivery.state is DeliveryState.DELIVERED and delivery.attempts == 1
    assert delivery.last_status == 200 and delivery.event_id == event.id
    # Delivered once: another pass posts nothing.
    assert deliver_due_webhooks() == 0 and len(_posts(receiver)) == 1


def test_a_booking_reaches_slack_in_words_with_a_link(office, receiver):
    add_endpoint("#shadowing", EndpointKind.SLACK, receiver.url(HOOK), [SESSION_BOOKED])
    seat = _book(office)
    ((headers, body),) = _posts(receiver)
    message = json.loads(body)
    apprentice = office["apprentices"][0].name
    assert message["text"] == f"{apprentice} booked a seat in Amara Master's session"
    starts = seat.starts_at
    details = message["blocks"][1]["text"]["text"]
    # December: London is on UTC.
    assert details == (
        f"When: {starts:%a %d %b %Y, %H:%M} UTC ({starts:%H:%M} Europe/London) to "
        f"{seat.ends_at:%H:%M} UTC\nHow: virtual"
    )
    link = message["blocks"][2]["elements"][0]["text"]
    assert link == f"<http://localhost/sessions/{seat.session_id}|Open the session>"
    assert signing.HEADER not in headers


def test_teams_receives_an_adaptive_card(office, receiver):
    add_endpoint("Team channel", EndpointKind.TEAMS, receiver.url(HOOK), [SESSION_BOOKED])
    seat = _book(office)
    message = json.loads(_posts(receiver)[0][1])
    assert message["type"] == "message"
    (attachment,) = message["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert [block["text"] for block in card["body"]][0] == (
        f"{office['apprentices'][0].name} booked a seat in Amara Master's session"
    )
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open the session",
            "url": f"http://localhost/sessions/{seat.session_id}",
        }
    ]


def test_an_endpoint_gets_only_the_kinds_it_chose_and_a_rollback_makes_none(app, receiver):
    add_endpoint("Reminders only", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_REMINDED])
    record_event(SESSION_BOOKED, seat_id=1)
    db.session.commit()
    record_event(SESSION_REMINDED, session_id=1)
    db.session.rollback()
    assert count(WebhookDelivery) == 0 and count(Event) == 1


def test_a_failing_receiver_is_retried_with_pauses_until_it_takes_the_post(office, receiver):
    add_endpoint("Flaky", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    _answer(receiver, 503)
    _book(office)
    (delivery,) = _deliveries()
    assert delivery.state is DeliveryState.PENDING and delivery.last_status == 503
    assert (
        delivery.last_error
        == "The receiver answered 503: it is busy or failing, so it is tried again."
    )
    pause = delivery.next_attempt_at - utcnow()
    assert timedelta(seconds=50) < pause <= timedelta(minutes=1)
    assert deliver_due_webhooks() == 0  # not due yet
    _make_due(delivery)
    _answer(receiver, 429)
    assert deliver_due_webhooks() == 0
    db.session.refresh(delivery)
    assert delivery.last_status == 429 and delivery.attempts == 2
    assert delivery.next_attempt_at - utcnow() > timedelta(minutes=4)  # the pause grew
    _make_due(delivery)
    _answer(receiver, 200)
    assert deliver_due_webhooks() == 1
    db.session.refresh(delivery)
    assert delivery.state is DeliveryState.DELIVERED and delivery.attempts == 3
    assert len(_posts(receiver)) == 3
    # Each attempt is signed afresh; the event is the same one.
    assert len({json.loads(body)["id"] for _, body in _posts(receiver)}) == 1


def test_a_deactivated_endpoint_gets_no_more_retries(office, receiver):
    added = add_endpoint("Flaky", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    _answer(receiver, 503)
    _book(office)
    (delivery,) = _deliveries()
    deactivate(added.endpoint)
    _make_due(delivery)
    _answer(receiver, 200)
    assert deliver_due_webhooks() == 0 and len(_posts(receiver)) == 1
    db.session.refresh(delivery)
    assert delivery.state is DeliveryState.FAILED
    assert delivery.last_error == (
        "The endpoint was deactivated before this was posted, so it was not."
    )


def test_a_refusal_is_not_retried(office, receiver):
    add_endpoint("Wrong path", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    _answer(receiver, 404)
    _book(office)
    (refused,) = _deliveries()
    assert refused.state is DeliveryState.FAILED and refused.next_attempt_at is None
    assert (
        refused.last_error
        == "The receiver answered 404: it refused the post, so it is not retried."
    )


def test_a_dead_endpoint_loses_nothing_and_is_given_up_after_a_day(office, receiver):
    with local_server() as dead:
        dead_url = dead.url(HOOK)
    add_endpoint("Dead", EndpointKind.SIGNED, dead_url, [SESSION_BOOKED])
    _book(office)
    (delivery,) = _deliveries()
    assert delivery.state is DeliveryState.PENDING
    assert delivery.last_error == "Could not connect to 127.0.0.1: the connection was refused."
    assert count(Event) == 1  # still in the event log, for pollers and replays
    delivery.created_at = utcnow() - timedelta(days=1, minutes=1)
    _make_due(delivery)
    deliver_due_webhooks()
    db.session.refresh(delivery)
    assert delivery.state is DeliveryState.GAVE_UP and delivery.attempts == 2


def test_a_claim_left_by_a_dead_process_is_unknown_and_never_resent(office, receiver):
    add_endpoint("Reporting", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    _answer(receiver, 500)
    _book(office)
    (delivery,) = _deliveries()
    # A worker claimed it and died mid-post, eleven minutes ago.
    delivery.state, delivery.claimed_at = DeliveryState.SENDING, utcnow() - timedelta(minutes=11)
    _make_due(delivery)
    assert delivery.shown_state() is DeliveryState.UNKNOWN
    assert deliver_due_webhooks() == 0 and len(_posts(receiver)) == 1
    _answer(receiver, 200)
    again = replay(delivery)
    wait_for_background_jobs()
    db.session.refresh(again)
    assert again.state is DeliveryState.DELIVERED and again.replay_of_id == delivery.id
    assert len(_posts(receiver)) == 2


def test_an_address_on_a_private_network_is_refused_unless_allowed(
    office, receiver, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False)
    add_endpoint("Intranet", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    _book(office)
    (delivery,) = _deliveries()
    assert delivery.state is DeliveryState.FAILED and _posts(receiver) == []
    assert "127.0.0.1" in delivery.last_error and "this machine itself" in delivery.last_error


def test_addresses_and_secrets_are_sealed_at_rest(app, monkeypatch):
    slack = "https://hooks.slack.com/services/T000/B000/sealedsecretpath"
    add_endpoint("#general", EndpointKind.SLACK, slack, [SESSION_BOOKED])
    signed = add_endpoint(
        "Reporting", EndpointKind.SIGNED, "https://example.org/in", [SESSION_BOOKED]
    )
    stored = [value for _, value in _stored_text()]
    assert not [value for value in stored if "sealedsecretpath" in value]
    assert not [value for value in stored if signed.signing_secret[6:] in value]
    assert "https://hooks.slack.com/…" in stored
    # Under another SECRET_KEY nothing can be read, and the delivery says what to do.
    record_event(SESSION_BOOKED, seat_id=1)
    db.session.commit()
    wait_for_background_jobs()
    monkeypatch.setitem(app.config, "SECRET_KEY", "a new key")
    for delivery in _deliveries():
        delivery.state, delivery.next_attempt_at = DeliveryState.PENDING, utcnow()
    db.session.commit()
    deliver_due_webhooks()
    db.session.expire_all()
    assert {d.last_error for d in _deliveries()} == {
        "This endpoint's address or secret was saved under another SECRET_KEY and cannot be "
        "read: add the endpoint again."
    }


@pytest.mark.database_independent
def test_the_signature_is_hmac_sha256_over_the_stamp_and_body():
    import hashlib
    import hmac

    header = signing.signature("whsec_x", b'{"a":1}', timestamp=1700000000)
    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert signing.verify("whsec_x", b'{"a":1}', header, now=1700000100)
    assert not signing.verify("whsec_x", b'{"a":1}', "t=abc,v1=00", now=time.time())


def test_an_admin_adds_an_endpoint_reads_the_log_replays_and_deactivates(office, receiver, login):
    client = login(make_admin())
    form = {"name": "Reporting", "kind": "signed", "url": receiver.url(HOOK)}
    refused = client.post("/admin/webhooks/", data={**form, "url": "ftp://x", "event_kinds": []})
    page = refused.get_data(as_text=True)
    assert "The address must be a full web address starting with https://." in page
    assert "Choose at least one kind of event." in page and count(WebhookEndpoint) == 0

    added = client.post("/admin/webhooks/", data={**form, "event_kinds": [SESSION_BOOKED]})
    secret = re.search(r'id="signing-secret">(whsec_[\w-]+)<', added.get_data(as_text=True))[1]
    listed = client.get("/admin/webhooks/").get_data(as_text=True)
    assert "http://127.0.0.1:" in listed and HOOK not in listed and secret not in listed

    _book(office)
    ((headers, body),) = _posts(receiver)
    assert signing.verify(secret, body, headers[signing.HEADER])
    log = client.get("/admin/webhooks/deliveries").get_data(as_text=True)
    assert "session.booked #" in log and "Delivered" in log and "(last answer 200)" in log

    (delivery,) = _deliveries()
    replayed = client.post(f"/admin/webhooks/deliveries/{delivery.id}/replay")
    wait_for_background_jobs()
    assert replayed.status_code == 302 and len(_posts(receiver)) == 2
    assert f"replay of delivery {delivery.id}" in client.get("/admin/webhooks/deliveries").get_data(
        as_text=True
    )

    endpoint_id = delivery.endpoint_id
    client.post(f"/admin/webhooks/{endpoint_id}/deactivate")
    assert "(deactivated)" in client.get("/admin/webhooks/").get_data(as_text=True)
    again = client.post(f"/admin/webhooks/deliveries/{delivery.id}/replay", follow_redirects=True)
    assert "Reporting is deactivated, so nothing is posted to it." in again.get_data(as_text=True)
    record_event(SESSION_BOOKED, seat_id=1)
    db.session.commit()
    assert count(WebhookDelivery) == 2  # none for a deactivated endpoint


def test_a_reminder_reaches_the_channel(office, receiver):
    add_endpoint("#shadowing", EndpointKind.SLACK, receiver.url(HOOK), [SESSION_REMINDED])
    seat = _book(office)
    assert _posts(receiver) == []  # bookings are not what this channel asked for
    assert send_reminders(now=seat.starts_at - timedelta(hours=2)) == 1
    wait_for_background_jobs()
    ((_, body),) = _posts(receiver)
    starts = seat.starts_at
    assert json.loads(body)["text"] == (
        f"Reminder: Amara Master's session starts {starts:%a %d %b %Y, %H:%M} UTC "
        f"({starts:%H:%M} Europe/London)"
    )
    assert json.loads(body)["blocks"][1]["text"]["text"] == (
        f"Shadowing: {office['apprentices'][0].name}."
    )


def test_with_redis_the_commit_queues_the_delivery_for_a_worker(
    office, receiver, app, monkeypatch, redis_connection
):
    from rq import Queue, SimpleWorker

    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    add_endpoint("Reporting", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    _book(office)
    assert _posts(receiver) == []  # queued, not posted by the web process
    queue = Queue(QUEUE_NAME, connection=redis_connection)
    assert [job.func_name for job in queue.jobs] == [
        "mentor_match.rounds.jobs.deliver_webhooks_job"
    ]
    SimpleWorker([queue], connection=redis_connection).work(burst=True)
    db.session.expire_all()
    assert len(_posts(receiver)) == 1
    assert _deliveries()[0].state is DeliveryState.DELIVERED


def test_the_readmes_verification_example_checks_a_real_post(office, receiver):
    """The README's receiver code, run as written, accepts the site's post and no forgery."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Chat and webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)[1]
    assert len([line for line in code.splitlines() if line.strip()]) <= 10
    namespace: dict = {}
    exec(code, namespace)  # the README's own example, run as a reader would
    added = add_endpoint("Reporting", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    _book(office)
    ((headers, body),) = _posts(receiver)
    header = headers[signing.HEADER]
    assert namespace["verify"](added.signing_secret, body, header)
    assert not namespace["verify"](added.signing_secret, body + b" ", header)
    stamp = int(header.split(",")[0].removeprefix("t="))
    old = header.replace(f"t={stamp}", f"t={stamp - 301}")
    assert not namespace["verify"](added.signing_secret, body, old)


def test_with_the_queue_down_the_booking_stands_and_the_schedule_posts_it(
    office, receiver, app, monkeypatch, caplog
):
    add_endpoint("Reporting", EndpointKind.SIGNED, receiver.url(HOOK), [SESSION_BOOKED])
    # Port 1 on the loopback: nothing listens there, so the queue is refused at once.
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    seat = _book(office)
    assert seat.id is not None and _posts(receiver) == []
    assert "webhooks go out with the next scheduled pass" in caplog.text
    (delivery,) = _deliveries()
    assert delivery.state is DeliveryState.PENDING and delivery.attempts == 0
    monkeypatch.setitem(app.config, "REDIS_URL", "")
    assert deliver_webhooks_job() == 1 and len(_posts(receiver)) == 1
