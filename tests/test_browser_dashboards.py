"""Each dashboard leads to its person's next step, in a real browser.

After a round is published, Priya, whom it left out, reads why and what to do and follows
it to a master open to bookings; Amara, with practice waiting for her, follows her first card
to rate it; and Tom, just paired, is asked first to answer his pairing. Each dashboard has no
serious accessibility fault and fits a phone.
"""

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from mentor_match.availability.expansion import Month
from mentor_match.tracking import services as tracking

from .browser import (
    DESKTOP,
    PHONE,
    card_titled,
    log_in,
    new_page,
    overflows_sideways,
    serious_accessibility_faults,
)
from .factories import next_month
from .test_dashboard import TODAY, after_a_round

pytestmark = pytest.mark.browser


def _first_card(page):
    """The heading of the dashboard's first card: the step it asks for first."""
    return page.locator("section.card h2").first


def _problems(page, who: str) -> list[str]:
    """Axe's serious faults on the dashboard at desktop and phone widths, and sideways scroll."""
    problems = [f"{who}: {fault}" for fault in serious_accessibility_faults(page)]
    page.set_viewport_size(PHONE)
    problems += [f"{who} at 375 px: {fault}" for fault in serious_accessibility_faults(page)]
    if overflows_sideways(page):
        problems.append(f"{who}: scrolls sideways at phone width")
    page.set_viewport_size(DESKTOP)
    return problems


@contextmanager
def _dashboard_of(chromium, base: str, person):
    """The person's dashboard in a browser context of their own, closed afterwards."""
    context, page = new_page(chromium)
    try:
        log_in(page, base, person)
        page.goto(base + "/dashboard")
        yield page
    finally:
        context.close()


def test_each_dashboard_leads_to_its_persons_next_step(chromium, live_server, office):
    master, skill = office["master"], office["skill"]
    tom, priya, _ = office["apprentices"]
    after_a_round(office)
    tracking.log_practice(priya, skill.id, master.id, TODAY, "Named my price first on a call.")
    label = Month.parse(next_month()).label
    problems: list[str] = []

    # Priya, left out: why, in her words, and what to do, with links that lead there.
    with _dashboard_of(chromium, live_server, priya) as page:
        heading = f"No master to watch in {label}"
        expect(_first_card(page)).to_have_text(heading)
        card = card_titled(page, heading)
        expect(card).to_contain_text(
            f"The {label} round paired you with no master. Masters teach Negotiation: Anchoring "
            "above your stage, but none was free when you were for at least 2 h in a mode you "
            "both allow."
        )
        expect(card.get_by_role("link", name="Widen your weekly availability")).to_have_attribute(
            "href", "/availability/weekly"
        )
        problems += _problems(page, "Priya")
        card.get_by_role("link", name="Amara Master").click()
        page.wait_for_url(re.compile(rf"/book/{master.id}$"))
        expect(page.locator("h1")).to_have_text("Book Amara Master")

    # Amara: the practice waiting for her rating comes before her pairing and her session.
    with _dashboard_of(chromium, live_server, master) as page:
        expect(page.locator("section.card h2")).to_have_text(
            ["Practice to rate", "Pairings waiting for your answer", "Your next sessions"]
        )
        card = card_titled(page, "Practice to rate")
        expect(card).to_contain_text("1 practice attempt waits for your rating")
        problems += _problems(page, "Amara")
        card.get_by_role("link", name="Rate practice").click()
        page.wait_for_url(re.compile(r"/practice/to-rate$"))
        expect(page.locator("li[id^=attempt-]")).to_contain_text("Priya Apprentice")

    # Tom, newly paired: answer the pairing first, then his session with Amara.
    with _dashboard_of(chromium, live_server, tom) as page:
        expect(page.locator("section.card h2")).to_have_text(
            ["Pairings waiting for your answer", "Your next sessions"]
        )
        expect(card_titled(page, "Your next sessions")).to_contain_text("You observe Amara Master")
        expect(page.get_by_text("Setup: all 4 steps done")).to_be_visible()
        problems += _problems(page, "Tom")
        card_titled(page, "Pairings waiting for your answer").get_by_role(
            "link", name="See your pairings"
        ).click()
        page.wait_for_url(re.compile(r"/pairings$"))
        expect(page.locator("h1")).to_have_text("Your pairings")

    assert problems == []
