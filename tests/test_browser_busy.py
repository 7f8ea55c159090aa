"""Busy times in a real browser: a master pastes the address of a calendar with a weekly
meeting, sees the busy hours on their own month calendar, and /book stops offering them."""

from datetime import time

import pytest
from playwright.sync_api import expect

from mentor_match.availability.expansion import Month
from mentor_match.busy import services
from mentor_match.rounds.queue import wait_for_background_jobs

from .browser import (
    PHONE,
    expect_flash,
    log_in,
    new_page,
    page_problems,
    serious_accessibility_faults,
)
from .busy_feeds import first_weekday, weekly_meeting
from .factories import make_admin, next_month
from .local_http import local_server

pytestmark = pytest.mark.browser


def test_a_pasted_calendar_marks_busy_hours_and_book_stops_offering_them(
    chromium, live_server, office
):
    master, tom = office["master"], office["apprentices"][0]
    month = next_month()
    monday = first_weekday(month, 0)
    this_month = Month.parse(month).previous.label
    services.save_private_addresses_setting(make_admin("Browser Admin"), allow=True)
    with local_server() as served:
        served.answers["/amara/basic.ics"] = (
            200,
            {"Content-Type": "text/calendar; charset=utf-8"},
            weekly_meeting(month, weekday=0, start=time(10), end=time(12)),
        )
        context, page = new_page(chromium)
        try:
            log_in(page, live_server, master)
            page.goto(live_server + "/availability/calendar-feed")
            expect(page.locator("#calendar-state")).to_have_text("You have not added a calendar.")
            page.get_by_label("Your calendar's private address (iCal)").fill(
                served.url("/amara/basic.ics")
            )
            page.get_by_role("button", name="Save and read it").click()
            expect_flash(page, "Saved. Your calendar is being read")
            wait_for_background_jobs()
            page.reload()
            expect(page.locator("#calendar-state")).to_contain_text(
                "busy events from the start of this month to"
            )
            assert serious_accessibility_faults(page) == []

            page.get_by_role("link", name="See the busy hours on your month calendar").click()
            expect(page.locator("h1")).to_have_text(f"Your availability in {this_month}")
            page.goto(live_server + f"/availability?month={month}")
            day = page.locator(f"#day-{monday.isoformat()}")
            expect(day).to_contain_text("10:00–12:00 · Busy in your calendar")
            expect(day).to_contain_text("09:00–10:00 · In person or video")
            expect(day).to_contain_text("12:00–17:00 · In person or video")
            assert serious_accessibility_faults(page) == []
        finally:
            context.close()

    context, page = new_page(chromium)
    try:
        log_in(page, live_server, tom)
        page.goto(live_server + f"/book/{master.id}?month={month}")
        heading = monday.strftime("%A %d %B")
        day = page.locator("details.slot-day", has=page.get_by_role("heading", name=heading))
        times = day.locator(".slot-time").all_inner_texts()
        assert times == ["09:00", "12:00", "13:00", "14:00", "15:00", "16:00"]
        expect(page.get_by_text("Busy in your calendar")).to_have_count(0)
    finally:
        context.close()


def test_the_calendar_pages_are_accessible_and_fit_a_phone(chromium, live_server, office):
    admin = make_admin("Phone Admin")
    feed_page = ["/availability/calendar-feed"]
    assert page_problems(chromium, live_server, office["master"], feed_page, PHONE) == []
    assert page_problems(chromium, live_server, admin, ["/admin/calendar-addresses"], PHONE) == []
