"""The team page and the learning-time report in a real browser: a manager reaches the team
from the menu, the admin downloads a table, and both pages have no serious accessibility fault
and fit a phone."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from .browser import PHONE, log_in, menu, new_page, page_problems
from .factories import make_admin
from .test_learning_report import organisation  # noqa: F401  (the fixture)

pytestmark = pytest.mark.browser
REPORT = "/admin/reports/learning-time?from=2026-09&to=2026-10"


def test_a_manager_reaches_the_team_from_the_menu(chromium, live_server, organisation):  # noqa: F811
    grace = organisation["grace"]
    context, page = new_page(chromium)
    try:
        log_in(page, live_server, grace)
        menu(page).get_by_role("link", name="Team").first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your team")
        expect(page.get_by_role("heading", name="Tom Gallagher")).to_be_visible()
        expect(page.get_by_role("heading", name="Uma Reyes")).to_be_visible()
    finally:
        context.close()
    for viewport in (None, PHONE):
        assert page_problems(chromium, live_server, grace, ["/team"], viewport) == []


def test_the_admin_reads_and_downloads_the_learning_time_report(
    chromium,
    live_server,
    organisation,  # noqa: F811
):
    admin = make_admin("Report Admin")
    context, page = new_page(chromium)
    try:
        log_in(page, live_server, admin)
        page.goto(live_server + REPORT)
        table = page.locator("#learning-time-by-team")
        expect(table).to_contain_text("Grace Manager")
        with page.expect_download() as download:
            table.get_by_role("link", name="Download CSV").click()
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert text.splitlines()[0].startswith("Team (manager),People,Observing granted")
    finally:
        context.close()
    for viewport in (None, PHONE):
        assert page_problems(chromium, live_server, admin, [REPORT], viewport) == []
