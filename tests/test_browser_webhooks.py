"""Webhooks in a real browser: an admin adds a signed endpoint and a booking reaches it."""

import json

import pytest
from playwright.sync_api import expect

from mentor_match.booking.actions import book
from mentor_match.models import SessionMode
from mentor_match.rounds.queue import wait_for_background_jobs
from mentor_match.webhooks import signing

from .browser import log_in, new_page, page_problems
from .factories import first_open_slot, make_admin
from .local_http import local_server

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_signed_endpoint_and_a_booking_reaches_it(
    chromium, live_server, office, app, monkeypatch
):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", True)
    admin = make_admin("Ada Admin")
    with local_server() as receiver:
        receiver.answers["/in"] = (200, {}, b"ok")
        context, page = new_page(chromium)
        try:
            log_in(page, live_server, admin)
            page.goto(live_server + "/admin/webhooks/")
            page.get_by_label("Name").fill("Reporting")
            page.get_by_label("Format").select_option(label="Signed JSON")
            page.get_by_label("Webhook address").fill(receiver.url("/in"))
            page.get_by_label("A seat is booked").check()
            page.get_by_role("button", name="Add endpoint").click()
            expect(page.get_by_role("heading", name="Endpoint added")).to_be_visible()
            secret = page.locator("#signing-secret").inner_text()
            assert secret.startswith("whsec_")

            master, apprentice = office["master"], office["apprentices"][0]
            slot = first_open_slot(master, apprentice)
            seat = book(apprentice, master, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
            wait_for_background_jobs()
            ((_, _, headers, body),) = receiver.requests
            assert signing.verify(secret, body, headers[signing.HEADER])
            assert json.loads(body)["data"]["seat_id"] == seat.id

            page.goto(live_server + "/admin/webhooks/deliveries")
            row = page.get_by_role("row", name="Reporting")
            expect(row).to_contain_text("Delivered")
            expect(row).to_contain_text("(last answer 200)")
            expect(row.get_by_role("button", name="Replay")).to_be_visible()
        finally:
            context.close()
        paths = ["/admin/webhooks/", "/admin/webhooks/deliveries"]
        assert page_problems(chromium, live_server, admin, paths) == []
