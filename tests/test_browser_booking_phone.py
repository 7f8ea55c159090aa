"""The booking page on a phone (issue 24): a month of a master's open times fits a few screens,
each day folded until opened, and a time is booked from an opened day."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import rules
from mentor_match.extensions import db
from mentor_match.models import ShadowingSession

from .browser import PHONE, log_in, new_page, page_problems
from .factories import first_open_slot, give_skill, make_micro_skill, next_month

pytestmark = pytest.mark.browser

# Amara is free 09:00-17:00 every weekday: some 180 starts in a month. With every day open,
# a phone's page was 24,364 px long; with the days folded it is 2,135 px.
PHONE_PAGE_HEIGHT = 2500


def test_a_phone_shows_the_days_folded_and_books_from_an_opened_day(chromium, live_server, office):
    master, tom = office["master"], office["apprentices"][0]
    rules.save_notice_hours(0)
    first = first_open_slot(master, tom)
    context, page = new_page(chromium, PHONE)
    try:
        log_in(page, live_server, tom)
        page.goto(f"{live_server}/book/{master.id}?month={next_month()}")
        expect(page.locator("strong", has_text=Month.parse(next_month()).label)).to_be_visible()
        height = page.evaluate("document.documentElement.scrollHeight")
        assert height < PHONE_PAGE_HEIGHT, height
        days = page.locator("details.slot-day")
        assert days.count() > 15
        expect(days.first.locator("li.slot").first).to_be_hidden()

        days.first.locator("summary").click()
        slot = days.first.locator("li.slot:not(.unavailable)").first
        expect(slot).to_be_visible()
        slot.get_by_label("Length").select_option("2")
        slot.get_by_role("button", name="Book: video").click()
        page.wait_for_url(re.compile(r"/sessions/\d+$"))
        expect(page.get_by_text("Booked: Amara Master has been told.")).to_be_visible()
    finally:
        context.close()
    db.session.expire_all()
    session = db.session.scalars(select(ShadowingSession)).one()
    assert session.starts_at == first.starts_at and session.hours == 2


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_the_micro_skill_question_is_accessible_and_fits_a_phone(
    chromium, live_server, office, viewport
):
    master, tom = office["master"], office["apprentices"][0]
    framing = make_micro_skill("Framing", area=office["skill"].area)
    give_skill(master, framing, "master", hosts=True)
    give_skill(tom, framing, "apprentice", develops=True)
    problems = page_problems(
        chromium,
        live_server,
        tom,
        [f"/book/{master.id}", f"/book/{master.id}?skill={framing.id}&month={next_month()}"],
        viewport,
    )
    assert problems == []
