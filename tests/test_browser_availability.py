"""The availability pages in a real browser: accessible, and usable at phone width."""

from datetime import date, time

import pytest

from .browser import PHONE, overflows_sideways, serious_accessibility_faults
from .factories import (
    DEFAULT_PASSWORD,
    make_availability_change,
    make_person,
    make_site,
    make_weekly_window,
)

pytestmark = pytest.mark.browser

PAGES = [
    "/availability?month=2030-03",
    "/availability/weekly",
    "/availability/changes",
    "/availability/plan?month=2099-01",
]


def _person_with_availability():
    person = make_person(
        is_master=True,
        is_apprentice=True,
        timezone="America/New_York",
        site=make_site("New York office", "America/New_York"),
    )
    make_weekly_window(person, weekday=1, start=time(9), end=time(12), in_person=False)
    make_weekly_window(person, weekday=3, start=time(13), end=time(17))
    make_availability_change(person, date(2030, 3, 12), note="leave")
    make_availability_change(
        person, date(2030, 3, 14), start=time(14), end=time(15), note="dentist"
    )
    make_availability_change(person, date(2099, 1, 6), "extra", time(9), time(10), in_person=False)
    return person


def _log_in(page, base, person):
    page.goto(base + "/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


@pytest.mark.parametrize("path", PAGES)
def test_availability_pages_have_no_serious_accessibility_faults(page, live_server, path):
    _log_in(page, live_server, _person_with_availability())
    page.goto(live_server + path)
    assert page.locator("h1").count() == 1
    assert serious_accessibility_faults(page) == []


@pytest.mark.parametrize("path", PAGES)
def test_availability_pages_fit_a_phone(chromium, live_server, path):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    _log_in(page, live_server, _person_with_availability())
    page.goto(live_server + path)
    assert not overflows_sideways(page)
    context.close()


def test_on_a_phone_the_calendar_is_a_list_of_the_days_with_something_on(chromium, live_server):
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    _log_in(page, live_server, _person_with_availability())
    page.goto(live_server + "/availability?month=2030-03")
    headings = page.locator(".calendar h3")
    visible = [
        headings.nth(i).inner_text()
        for i in range(headings.count())
        if headings.nth(i).is_visible()
    ]
    # Days with nothing on are left out of the phone list; the clock-change Sunday stays.
    assert visible == [
        "Tue 5 Mar",
        "Thu 7 Mar",
        "Sun 10 Mar",
        "Tue 12 Mar",
        "Thu 14 Mar",
        "Tue 19 Mar",
        "Thu 21 Mar",
        "Tue 26 Mar",
        "Thu 28 Mar",
    ]
    assert page.get_by_text("All day · Day off (leave)").is_visible()
    assert not page.get_by_text("Mon", exact=True).is_visible()  # the weekday header row
    context.close()
