"""The month plan's confirm step in a browser (issue 24): a master cuts seats below a booked
session, reads which session it affects, and saves anyway; on a phone and at desktop width."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions
from mentor_match.extensions import db
from mentor_match.models import MonthPlan, SessionMode

from .browser import PHONE, log_in, new_page, overflows_sideways, serious_accessibility_faults
from .factories import first_open_slot, next_month

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_a_master_sees_the_sessions_a_cut_affects_then_saves_it(
    chromium, live_server, office, viewport
):
    master, (tom, priya, _) = office["master"], office["apprentices"]
    slot = first_open_slot(master, tom)
    for apprentice in (tom, priya):
        actions.book(apprentice, master, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    month = next_month()
    label = Month.parse(month).label
    context, page = new_page(chromium, viewport)
    try:
        log_in(page, live_server, master)
        page.goto(f"{live_server}/availability/plan?month={month}")
        page.get_by_label("Seats on video", exact=True).fill("1")
        page.get_by_role("button", name=f"Save plan for {label}").click()
        warning = page.locator("#plan-cuts")
        expect(warning).to_contain_text("sessions already booked go beyond these numbers")
        start = slot.starts_at.astimezone(master.zone)
        said = f"{start:%a %d %b %Y, %H:%M}–{slot.ends_at.astimezone(master.zone):%H:%M %Z}"
        expect(warning.get_by_role("listitem")).to_have_text(
            f"{said} with Priya Apprentice, Tom Apprentice"
        )
        if viewport is PHONE:
            assert not overflows_sideways(page)
        else:
            assert serious_accessibility_faults(page) == []
        page.get_by_role("button", name="Save these numbers anyway").click()
        expect(page.get_by_text(f"Your plan for {label} is saved.")).to_be_visible()
    finally:
        context.close()
    db.session.expire_all()
    seats = select(MonthPlan.virtual_seats).where(MonthPlan.person_id == master.id)
    assert db.session.scalar(seats) == 1
