"""Helpers for the browser tests: log-in, accessibility checks and phone-width layout checks."""

import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from mentor_match.rounds.queue import wait_for_background_jobs

from .factories import DEFAULT_PASSWORD

PHONE = {"width": 375, "height": 740}
_axe = Axe()


def serious_accessibility_faults(page) -> list[str]:
    """axe-core's serious and critical WCAG 2 A/AA violations on the page, one line each."""
    results = _axe.run(
        page,
        # Only violations come back: a page's passes, thousands of nodes on a month of
        # booking slots, cost seconds to serialise and were never read.
        options={
            "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
            "resultTypes": ["violations"],
        },
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def overflows_sideways(page) -> bool:
    """True when the page is wider than the viewport, so a phone user must scroll sideways."""
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")


DESKTOP = {"width": 1280, "height": 900}


def confirm_sign_up(page, base: str, sent_mail: list, email: str, password: str) -> None:
    """After the sign-up form: follow the mailed link and confirm with the password chosen."""
    page.wait_for_url(re.compile(r"/login$"))
    expect(page.get_by_text("Nearly there: we have mailed")).to_be_visible()
    wait_for_background_jobs()
    (mail,) = [mail for mail in sent_mail if mail.recipient == email]
    path = re.search(r"https?://[^/\s]+(/signup/confirm/\S+)", mail.body).group(1)
    page.goto(base + path)
    page.get_by_label("The password you chose").fill(password)
    page.get_by_role("button", name="Confirm and sign in").click()
    page.wait_for_url(re.compile(r"/profile/skills$"))


def new_page(chromium, viewport=None):
    """A fresh browser context (its own cookies) and page; returns both, close the context."""
    context = chromium.new_context(viewport=viewport or DESKTOP)
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def log_in(page, base, person, password=DEFAULT_PASSWORD):
    """Log in through the real form and wait to leave the log-in page."""
    page.goto(base + "/login")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def page_problems(chromium, base, person, paths, viewport=None) -> list[str]:
    """Problems on each page: an HTTP error, not one h1, axe faults (at any width), or (on a
    phone) sideways scroll or a menu that is not one line behind its button."""
    problems = []
    context, page = new_page(chromium, viewport)
    try:
        log_in(page, base, person)
        for path in paths:
            response = page.goto(base + path)
            if response.status != 200:
                problems.append(f"{path}: HTTP {response.status}")
                continue
            if page.locator("h1").count() != 1:
                problems.append(f"{path}: {page.locator('h1').count()} h1 headings")
            where = f"{path} at {PHONE['width']} px" if viewport is PHONE else path
            if viewport is PHONE:
                if overflows_sideways(page):
                    problems.append(f"{path}: scrolls sideways at phone width")
                problems += [f"{path}: {problem}" for problem in phone_menu_problems(page)]
            problems += [f"{where}: {fault}" for fault in serious_accessibility_faults(page)]
    finally:
        context.close()
    return problems


def phone_menu_problems(page) -> list[str]:
    """At phone width: the header is one line (the brand and a Menu button), and the button
    opens the links; axe is run with the menu open too. Leaves the menu closed."""
    problems = []
    header = page.locator("header.site-header").bounding_box()
    if header["height"] > 64:
        problems.append(f"the header is {header['height']:.0f} px high at phone width")
    button = menu(page).locator("summary")
    if not button.is_visible():
        return [*problems, "no Menu button at phone width"]
    button.click()
    if not menu(page).get_by_role("link").first.is_visible():
        problems.append("the Menu button does not show the links")
    problems += [f"menu open: {fault}" for fault in serious_accessibility_faults(page)]
    button.click()
    return problems


def menu(page):
    """The site's main navigation."""
    return page.get_by_role("navigation", name="Main")


def sessions_nav(page):
    """The navigation of the Sessions pages."""
    return page.get_by_role("navigation", name="Sessions")


def card_titled(page, heading: str):
    """The card section whose heading is exactly `heading`."""
    return page.locator("section.card", has=page.get_by_role("heading", name=heading, exact=True))


def expect_flash(page, text: str) -> None:
    """A flash message containing `text` is shown."""
    expect(page.locator(".flashes")).to_contain_text(text)
