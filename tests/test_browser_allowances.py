"""Asking for more learning time in a browser (issue 27): an apprentice plans above the
organisation's allowance and says why, their manager approves it on the requests page, and the
plan page and the next round then use the hours asked; on a phone and at desktop width."""

import pytest
from playwright.sync_api import expect

from mentor_match.availability.expansion import Month
from mentor_match.extensions import db
from mentor_match.models import OrganisationSettings
from mentor_match.rounds.encoder import encode_round

from .browser import PHONE, log_in, new_page, overflows_sideways, serious_accessibility_faults
from .factories import make_master, make_round, make_small_round_organisation, next_month

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_an_apprentice_asks_the_manager_approves_and_the_round_gives_the_hours(
    chromium, live_server, viewport
):
    people = make_small_round_organisation(
        max_hosting_hours=10, max_apprentices=3, observation_hours=4
    )
    tom = people["apprentices"][0]
    manager = make_master("Priya Manager")
    tom.manager = manager
    settings = db.session.get(OrganisationSettings, 1) or OrganisationSettings(id=1)
    settings.observing_allowance_hours = 6
    db.session.add(settings)
    db.session.commit()
    round_ = make_round()
    month = next_month()
    label = Month.parse(month).label
    context, page = new_page(chromium, viewport)
    try:
        log_in(page, live_server, tom)
        page.goto(f"{live_server}/availability/plan?month={month}")
        allowance = page.locator("#allowance")
        expect(allowance).to_contain_text(
            f"Your allowance for {label}: 6 h observing, granted by the organisation."
        )
        page.get_by_label("Observation hours wanted").fill("10")
        page.get_by_label("Masters at most").fill("2")
        page.get_by_label("Why you need more hours").fill("A negotiation course in spring.")
        page.get_by_role("button", name=f"Save plan for {label}").click()
        expect(allowance).to_contain_text(
            "You asked for 10 h observing; Priya Manager decides. Until it is approved, the "
            "round and booking use 6 h."
        )
        if viewport is PHONE:
            assert not overflows_sideways(page)
        else:
            assert serious_accessibility_faults(page) == []
        context.clear_cookies()

        log_in(page, live_server, manager)
        page.goto(f"{live_server}/team/requests")
        row = page.locator("tr", has_text="Apprentice 1")
        expect(row).to_contain_text("A negotiation course in spring.")
        if viewport is PHONE:
            assert not overflows_sideways(page)
        else:
            assert serious_accessibility_faults(page) == []
        row.get_by_role("button", name="Approve 10 h").click()
        expect(page.get_by_text("Approved: Apprentice 1 is told.")).to_be_visible()
        context.clear_cookies()

        log_in(page, live_server, tom)
        page.goto(f"{live_server}/availability/plan?month={month}")
        expect(page.locator("#allowance")).to_contain_text(
            f"Your allowance for {label}: 10 h observing, approved on request."
        )
    finally:
        context.close()
    db.session.expire_all()
    (mine,) = [a for a in encode_round(round_)["apprentices"] if a["id"] == f"a-{tom.id}"]
    assert mine["max_hours"] == 10
