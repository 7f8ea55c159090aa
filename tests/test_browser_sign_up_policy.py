"""In a browser: an admin makes sign-up invitation-only, and the sign-up page says so."""

import pytest
from playwright.sync_api import expect

from .browser import (
    PHONE,
    expect_flash,
    log_in,
    new_page,
    overflows_sideways,
    serious_accessibility_faults,
)
from .factories import make_admin

pytestmark = pytest.mark.browser


def test_an_admin_makes_sign_up_invitation_only(chromium, live_server):
    admin = make_admin("Morgan Admin")
    context, page = new_page(chromium)
    try:
        log_in(page, live_server, admin)
        page.goto(live_server + "/admin/")
        page.get_by_role("navigation", name="Admin").get_by_role(
            "link", name="Organisation"
        ).click()
        expect(page.get_by_role("heading", name="Organisation")).to_be_visible()
        assert serious_accessibility_faults(page) == []
        page.get_by_label("By invitation only").check()
        page.get_by_role("button", name="Save settings").click()
        expect_flash(page, "Organisation settings saved.")
        expect(page.get_by_label("By invitation only")).to_be_checked()
    finally:
        context.close()

    for viewport in (None, PHONE):
        context, page = new_page(chromium, viewport)
        try:
            page.goto(live_server + "/signup")
            expect(page.get_by_text("Sign-up here is by invitation only.")).to_be_visible()
            assert page.get_by_role("button", name="Create my account").count() == 0
            if viewport is PHONE:
                assert not overflows_sideways(page)
            assert serious_accessibility_faults(page) == []
            page.goto(live_server + "/login")
            expect(page.get_by_role("link", name="by invitation")).to_be_visible()
        finally:
            context.close()


def test_the_organisation_page_fits_a_phone(chromium, live_server):
    context, page = new_page(chromium, PHONE)
    try:
        log_in(page, live_server, make_admin("Morgan Admin"))
        page.goto(live_server + "/admin/organisation")
        page.get_by_label("Only addresses at the email domains listed below").check()
        page.get_by_label("Email domains", exact=True).fill("not a domain")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("Not an email domain:")).to_be_visible()
        assert not overflows_sideways(page)
    finally:
        context.close()
