"""A new master's first visit, in a real browser: sign up, add skills and availability, see the
month."""

import re
from datetime import date, datetime

import pytest
from playwright.sync_api import expect

from .browser import confirm_sign_up, serious_accessibility_faults
from .factories import make_area, make_site

pytestmark = pytest.mark.browser


def _next_month(today: date) -> tuple[int, int]:
    return (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)


def test_a_new_master_signs_up_adds_skills_and_availability_and_sees_the_month(
    page, live_server, sent_mail
):
    make_site("Bangalore", "Asia/Kolkata")
    make_area("Negotiation", skills=("Anchoring", "Active listening"))

    page.goto(live_server + "/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Full name").fill("Priya Raman")
    page.get_by_label("Email").fill("priya@example.org")
    page.get_by_label("Password", exact=True).fill("the art of the deal, slowly")
    page.get_by_label("Repeat password").fill("the art of the deal, slowly")
    page.get_by_label("I am a master").check()
    page.get_by_label("Where you work").select_option(label="Bangalore (Asia/Kolkata)")
    page.get_by_label("Time zone").select_option("Asia/Kolkata")
    page.get_by_role("button", name="Create my account").click()

    # She confirms her address from the mail, then on to the skills page, where she says
    # what she can be observed doing.
    confirm_sign_up(
        page, live_server, sent_mail, "priya@example.org", "the art of the deal, slowly"
    )
    assert page.get_by_text("Welcome to Mentor Match").is_visible()
    page.get_by_label("Micro skill").select_option(label="Anchoring")
    page.get_by_label("Your stage").select_option("master")
    page.get_by_label("I can be observed doing this").check()
    page.get_by_role("button", name="Add micro skill").click()
    expect(page.get_by_role("rowheader", name=re.compile("Negotiation: Anchoring"))).to_be_visible()
    assert serious_accessibility_faults(page) == []

    # Weekly availability in her own local time: Tuesdays 09:00-12:00, video only.
    page.goto(live_server + "/availability/weekly")
    page.get_by_label("Day of the week").select_option(label="Tuesday")
    page.get_by_label("From").fill("09:00")
    page.get_by_label("Until").fill("12:00")
    page.get_by_label("How people can join").select_option("video")
    page.get_by_role("button", name="Add window").click()
    # expect() waits for the page the form leads to; an immediate is_visible() read the page
    # while it was being replaced and failed CI once. The row is matched, not any "09:00" (the
    # help text below the form names 09:00 too).
    tuesday = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Tuesday"))
    expect(tuesday).to_contain_text("09:00")
    expect(tuesday).to_contain_text("12:00")
    expect(tuesday).to_contain_text("Video only")

    # The month calendar shows every Tuesday of next month at 09:00 in Asia/Kolkata.
    year, month = _next_month(datetime.now().astimezone().date())
    page.goto(f"{live_server}/availability?month={year:04d}-{month:02d}")
    assert "Asia/Kolkata" in page.locator("#calendar-zone").inner_text().replace(" ", "_")
    tuesdays = [d for d in range(1, 32) if _is_tuesday(year, month, d)]
    for day in tuesdays:
        cell = page.locator(f"#day-{year:04d}-{month:02d}-{day:02d}")
        assert "09:00" in cell.inner_text() and "12:00" in cell.inner_text()
    wednesday = next(d for d in range(1, 8) if _weekday(year, month, d) == 2)
    assert "09:00" not in page.locator(f"#day-{year:04d}-{month:02d}-{wednesday:02d}").inner_text()
    assert serious_accessibility_faults(page) == []

    # The dashboard now counts skills and availability as done.
    page.goto(live_server + "/dashboard")
    done = page.locator(".checklist .done").all_inner_texts()
    assert any("weekly availability" in text for text in done)
    assert any("observed doing" in text for text in done)


def _weekday(year: int, month: int, day: int) -> int:
    return date(year, month, day).weekday()


def _is_tuesday(year: int, month: int, day: int) -> bool:
    try:
        return _weekday(year, month, day) == 1
    except ValueError:
        return False
