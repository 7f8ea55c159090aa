"""The public pages in a real browser: accessible, and usable at phone width."""

import pytest

from .browser import PHONE, overflows_sideways, serious_accessibility_faults
from .factories import make_site

pytestmark = pytest.mark.browser

PUBLIC_PAGES = ["/", "/login", "/signup", "/forgot-password"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_no_serious_accessibility_faults(page, live_server, path):
    make_site("London", "Europe/London")
    page.goto(live_server + path)
    assert page.locator("h1").count() == 1
    assert serious_accessibility_faults(page) == []


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_fit_a_phone(chromium, live_server, path):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    page.goto(live_server + path)
    assert not overflows_sideways(page)
    context.close()


def test_signup_shows_field_errors_in_the_browser(page, live_server):
    page.goto(live_server + "/signup")
    page.get_by_label("Full name").fill("Grace Hopper")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Password", exact=True).fill("password")
    page.get_by_label("Repeat password").fill("password")
    page.get_by_role("button", name="Create my account").click()
    assert page.get_by_text("one of the most common").is_visible()
    assert page.get_by_text("Choose master, apprentice, or both.").is_visible()
    assert page.get_by_label("Full name").input_value() == "Grace Hopper"
