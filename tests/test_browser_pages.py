"""Signed-in pages in a real browser: no serious accessibility faults at desktop or phone
width, no sideways scroll on a phone, and a menu a phone can use."""

import re

import pytest
from playwright.sync_api import expect

from mentor_match.extensions import db
from mentor_match.mail.services import send_mail

from .browser import DESKTOP, PHONE, log_in, menu, page_problems
from .factories import give_skill, make_admin, make_area, make_master, make_site

pytestmark = pytest.mark.browser


def _world():
    site = make_site("London", "Europe/London")
    area = make_area("Negotiation", skills=("Anchoring", "Closing"))
    admin = make_admin("Morgan Admin", site=site, is_master=True)
    master = make_master("Amara Master", site=site, bio="Commercial director.")
    give_skill(master, area.micro_skills[0], "master", hosts=True)
    give_skill(admin, area.micro_skills[1], "journeyman", hosts=True)
    send_mail("someone@example.org", "Reset your password", "A link.")
    db.session.commit()
    return admin, master, area, site


def _pages(admin, master, area, site):
    return [
        "/dashboard",
        f"/people/{master.id}",
        "/people",
        f"/people?what=area-{area.id}&min_stage=master",
        "/profile",
        "/profile/skills",
        "/account/password",
        "/admin/",
        "/admin/people",
        "/admin/areas",
        f"/admin/areas/{area.id}",
        f"/admin/skills/{area.micro_skills[0].id}",
        "/admin/sites",
        f"/admin/sites/{site.id}",
        "/admin/outbox",
        # Issue 27's learning time: a person's manager, their allowance, requests to decide.
        f"/admin/people/{master.id}/manager",
        f"/team/{master.id}/allowance",
        "/team/requests",
        "/admin/organisation",
    ]


def test_signed_in_pages_are_accessible_and_fit_a_phone(chromium, live_server):
    admin, master, area, site = _world()
    paths = _pages(admin, master, area, site)
    problems = []
    for viewport in (DESKTOP, PHONE):
        problems += page_problems(chromium, live_server, admin, paths, viewport)
    assert problems == []


def test_at_phone_width_the_menu_is_one_line_behind_a_button_that_works_without_script(
    chromium, live_server
):
    admin, master, area, site = _world()
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        log_in(page, live_server, master)
        page.goto(live_server + "/dashboard")
        header = page.locator("header.site-header").bounding_box()
        assert header["height"] <= 0.1 * PHONE["height"]  # it was 3 lines, 40% of the screen
        button = menu(page).get_by_text("Menu", exact=True)
        expect(button).to_be_visible()
        expect(menu(page).get_by_role("link", name="Sessions")).to_be_hidden()
        button.click()
        links = menu(page).get_by_role("link")
        expect(links).to_have_text(
            [
                "Dashboard",
                "Profile",
                "Availability",
                "Sessions",
                "Pairings",
                "Progress",
                "Records",
                "Notifications",
                "Find people",
            ]
        )
        expect(menu(page).get_by_role("button", name="Log out")).to_be_visible()
        menu(page).get_by_role("link", name="Sessions").click()
        page.wait_for_url(re.compile(r"/sessions$"))
        expect(menu(page).get_by_role("link", name="Sessions")).to_be_hidden()  # closed again
    finally:
        context.close()


def test_at_desktop_width_the_menu_is_a_row_of_links_with_no_button(page, live_server):
    admin, master, area, site = _world()
    log_in(page, live_server, admin)
    page.goto(live_server + "/dashboard")
    expect(menu(page).get_by_text("Menu", exact=True)).to_be_hidden()
    expect(menu(page).get_by_role("link", name="Admin")).to_be_visible()
    assert menu(page).get_by_role("link").count() == 10
