"""A matching round in a real browser: create, open, confirm, run, review, publish, accept."""

import re
import threading
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.extensions import db
from mentor_match.models import Notification, Pairing, Response, RoundRun, SessionObserver
from mentor_match.rounds import opening, runs, solving
from mentor_match.rounds.publication import publish
from mentor_match.rounds.queue import wait_for_background_jobs

from .browser import (
    PHONE,
    log_in,
    new_page,
    page_problems,
    serious_accessibility_faults,
)
from .factories import (
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_confirmed_plan,
    make_master,
    make_month_plan,
    make_round,
    make_site,
    make_weekly_window,
    next_month,
)

pytestmark = pytest.mark.browser

KOLKATA = "Asia/Kolkata"
REVIEW_TIMEOUT_MS = 30_000


def _organisation():
    """Two masters of anchoring and four apprentices at one site, free Tuesday and Thursday
    mornings.

    Master One and Priya (an apprentice who lives by Kolkata time) confirm in the browser;
    the others are confirmed here; Late Apprentice never confirms.
    """
    site = make_site("Round HQ", "Europe/London")
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    admin = make_admin("Morgan Admin", site=site)
    masters = [make_master("Master One", site=site), make_master("Master Two", site=site)]
    priya = make_apprentice("Priya Apprentice", site=site, timezone=KOLKATA)
    others = [make_apprentice(f"Apprentice {n}", site=site) for n in ("Two", "Three", "Four")]
    late = make_apprentice("Late Apprentice", site=site)
    for master in masters:
        give_skill(master, skill, "master", hosts=True)
    for apprentice in [priya, *others, late]:
        give_skill(apprentice, skill, "apprentice", develops=True)
    for person in [*masters, *others, late]:
        for weekday in (1, 3):
            make_weekly_window(person, weekday=weekday, start=clock(9), end=clock(12))
    # Priya's windows are in her own zone: Kolkata afternoons cover London mornings all year.
    for weekday in (1, 3):
        make_weekly_window(priya, weekday=weekday, start=clock(12), end=clock(18))
    # Room for everyone: 2 masters x 10 hours and 4 seats against 4 apprentices x 4 hours.
    master_limits = {"max_hosting_hours": 10, "max_apprentices": 4}
    apprentice_limits = {"observation_hours": 4, "max_masters": 2}
    month = next_month()
    make_month_plan(masters[0], month, **master_limits)  # saved, confirmed in the browser
    make_month_plan(priya, month, **apprentice_limits)
    make_confirmed_plan(masters[1], month, **master_limits)
    for apprentice in others:
        make_confirmed_plan(apprentice, month, **apprentice_limits)
    return {"admin": admin, "masters": masters, "priya": priya, "others": others, "late": late}


def _confirm_in_browser(chromium, base, person, month_label):
    """The person sees the open round on the dashboard, follows it and confirms their plan."""
    context, page = new_page(chromium)
    try:
        log_in(page, base, person)
        page.goto(base + "/dashboard")
        card = page.locator(
            "section.card",
            has=page.get_by_role("heading", name=re.compile(r"matching round is open")),
        )
        assert card.is_visible()
        # The opening told them on the site too: the menu counts the unread notification.
        assert page.locator("nav[aria-label='Main'] .count").inner_text() == "1"
        # ...and the notifications page lists it, linking to a page that opens.
        page.get_by_role("navigation", name="Main").get_by_role(
            "link", name=re.compile("^Notifications")
        ).click()
        notice = page.get_by_role("link", name=re.compile(r"matching round is open: confirm"))
        expect(notice).to_have_count(1)
        assert page.request.get(notice.get_attribute("href")).ok
        page.goto(base + "/dashboard")
        card.get_by_role("link", name="Check and confirm").click()
        page.wait_for_url(re.compile(r"/availability/plan"))
        page.get_by_role("button", name=f"Confirm for {month_label}").click()
        expect(
            page.get_by_text(f"Confirmed: you are in the {month_label} matching round.")
        ).to_be_visible()
        assert page.get_by_role("button", name=f"Confirm for {month_label}").count() == 0
        page.goto(base + "/dashboard")
        assert page.get_by_text("You confirmed on").is_visible()
    finally:
        context.close()


@pytest.fixture
def release_solver(monkeypatch):
    """Hold each run's solver at its start until the test sets this event (at most 20 s)."""
    release = threading.Event()
    solve = solving.solve

    def held_solve(*args, **kwargs):
        release.wait(20)
        return solve(*args, **kwargs)

    monkeypatch.setattr(solving, "solve", held_solve)
    yield release
    release.set()
    # Let the run and mail threads finish before the tables are emptied under them.
    wait_for_background_jobs(timeout=30)


def test_a_round_from_creation_to_an_accepted_pairing(chromium, live_server, release_solver):
    people = _organisation()
    month = next_month()
    month_label = Month.parse(month).label
    admin_context, admin = new_page(chromium)

    # The admin creates next month's round (the form's default) with a deadline, and opens it.
    log_in(admin, live_server, people["admin"])
    admin.goto(live_server + "/admin/")
    admin.get_by_role("navigation", name="Admin").get_by_role("link", name="Rounds").click()
    admin.wait_for_url(re.compile(r"/admin/rounds$"))
    assert admin.get_by_label("Month").input_value() == month
    deadline = Month.parse(month).first_day - timedelta(days=1)  # the last day allowed
    admin.get_by_label("Confirm by").fill(deadline.isoformat())
    admin.get_by_role("button", name="Create round").click()
    admin.wait_for_url(re.compile(rf"/admin/rounds/{month}$"))
    # The deadline is the end of that day in UTC, shown in the admin's own zone.
    end_of_day = datetime.combine(deadline, clock(23, 59), UTC).astimezone(
        ZoneInfo("Europe/London")
    )
    assert end_of_day.strftime("%a %d %b %Y, %H:%M %Z") in admin.locator("main").inner_text()
    assert f"{Month.parse(month).label} round" in admin.locator("h1").inner_text()
    assert "Draft" in admin.locator("h1").inner_text()
    admin.get_by_role("button", name="Open round and notify people").click()
    # Two masters and five apprentices are asked; the admin, neither, is not.
    expect(admin.get_by_text("Round opened: 7 people were asked to confirm")).to_be_visible()
    expect(admin.locator("h1")).to_contain_text("Open")
    confirmations = admin.locator(
        "section.card", has=admin.get_by_role("heading", name="Confirmations")
    )
    expect(confirmations).to_contain_text("4 confirmed · 3 not yet")
    db.session.expire_all()
    assert len(db.session.scalars(select(Notification)).all()) == 7

    # A master and an apprentice confirm through their dashboards.
    _confirm_in_browser(chromium, live_server, people["masters"][0], month_label)
    _confirm_in_browser(chromium, live_server, people["priya"], month_label)

    admin.reload()
    expect(confirmations).to_contain_text("6 confirmed · 1 not yet")
    confirmed = admin.locator("h3:text-is('Confirmed') + ul")
    waiting = admin.locator("h3:text-is('Not confirmed (left out)') + ul")
    for person in [*people["masters"], people["priya"], *people["others"]]:
        assert confirmed.get_by_role("link", name=person.name).is_visible()
    assert waiting.get_by_role("link", name="Late Apprentice").is_visible()
    assert confirmed.get_by_role("link", name="Late Apprentice").count() == 0

    # A five-second run. The solver is held at its start until the panel has shown the run
    # under way, so the check does not depend on how fast this machine solves a small round.
    admin.get_by_label("Time limit (seconds)").fill("5")
    admin.get_by_role("button", name="Run round").click()
    panel = admin.locator("#run-progress")
    expect(panel).to_be_visible()
    assert panel.locator("progress").count() == 1
    first_elapsed = panel.locator("[data-field='elapsed']").inner_text()
    admin.wait_for_function(
        """first => {
          const panel = document.querySelector("#run-progress");
          return panel.querySelector("[data-field='status']").textContent === "running"
            && panel.querySelector("[data-field='elapsed']").textContent !== first
            && panel.querySelector("progress").value > 0;
        }""",
        arg=first_elapsed,
    )
    assert serious_accessibility_faults(admin) == []
    release_solver.set()
    admin.wait_for_url(re.compile(rf"/admin/rounds/{month}/runs/\d+$"), timeout=REVIEW_TIMEOUT_MS)

    # The review shows the result the run saved.
    db.session.expire_all()
    run = db.session.scalars(select(RoundRun)).one()
    assert run.status.value == "succeeded", run.error
    assert admin.locator("h1").inner_text() == f"{Month.parse(month).label} round: run {run.id}"
    figures = {
        admin.locator(".figures dt").nth(i).inner_text(): admin.locator(".figures dd")
        .nth(i)
        .inner_text()
        for i in range(admin.locator(".figures dt").count())
    }
    assert figures["Observation hours"] == f"{run.observation_hours:.1f}"
    assert figures["Proven bound"] == f"{run.upper_bound:.1f}"
    assert figures["Apprentices paired"] == "4 of 4"
    assert run.observation_hours == 16  # four apprentices, four hours each
    scarce = admin.locator(
        "section.card", has=admin.get_by_role("heading", name="Where masters are scarce")
    )
    row = scarce.locator("tr", has=admin.get_by_role("rowheader", name="Negotiation: Anchoring"))
    # 4 apprentices want 16 hours; 2 masters host up to 80 observation hours (10 hours each,
    # with 4 observers at once: 5 seats, 4 apprentices at most); all 16 are delivered.
    assert row.get_by_role("cell").all_inner_texts() == ["4", "16.0", "2", "80.0", "16.0", "0.2"]
    listing = admin.locator(
        "section.card", has=admin.get_by_role("heading", name=re.compile(r"^Pairings \("))
    )
    pairings = listing.locator(".pairing")
    assert pairings.count() >= 4
    observed = " ".join(pairings.all_inner_texts())
    for person in [people["priya"], *people["others"]]:
        assert f"{person.name} observes" in observed
    assert "Late Apprentice" not in observed

    # Publishing asks first; the admin agrees.
    asked = []
    admin.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    admin.get_by_role("button", name=re.compile(r"^Publish \d+ pairings$")).click()
    admin.wait_for_url(re.compile(rf"/admin/rounds/{month}$"))
    assert asked == [
        "Publish these pairings and sessions and tell everyone? This cannot be undone."
    ]
    expect(
        admin.get_by_text(re.compile(r"^Published \d+ pairings and \d+ sessions"))
    ).to_be_visible()
    expect(admin.locator("h1")).to_contain_text("Published")
    admin_context.close()

    # Priya hears about it, opens her pairings (times in Kolkata time) and accepts.
    db.session.expire_all()
    priya = people["priya"]
    pairing = db.session.scalars(select(Pairing).where(Pairing.apprentice_id == priya.id)).first()
    assert pairing is not None
    starts = sorted(
        seat.session.starts_at
        for seat in db.session.scalars(
            select(SessionObserver).where(SessionObserver.pairing_id == pairing.id)
        )
    )
    assert starts
    unread = len(
        db.session.scalars(
            select(Notification).where(
                Notification.person_id == priya.id, Notification.read_at.is_(None)
            )
        ).all()
    )
    assert unread == 2  # the round opened; her pairing was published

    context, page = new_page(chromium)
    log_in(page, live_server, priya)
    menu = page.get_by_role("navigation", name="Main")
    assert menu.get_by_label(f"{unread} unread").inner_text() == str(unread)
    menu.get_by_role("link", name="Pairings").click()
    page.wait_for_url(re.compile(r"/pairings$"))
    card = page.locator(f"#pairing-{pairing.id}")
    assert f"you observe {pairing.master.name}" in card.get_by_role("heading").inner_text()
    sessions = card.locator("li").all_inner_texts()
    assert len(sessions) == len(starts)
    first = starts[0].astimezone(ZoneInfo(KOLKATA))
    assert sessions[0].startswith(first.strftime("%a %d %b %Y, %H:%M"))
    assert "IST" in sessions[0]
    # Slots start on the hour in UTC, so at half past in Kolkata (UTC+05:30): not UTC shown as is.
    assert first.minute == 30
    card.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Accepted: see you at the sessions.")).to_be_visible()
    card = page.locator(f"#pairing-{pairing.id}")
    expect(card).to_contain_text("you: accepted")
    assert card.get_by_role("button", name="Accept").count() == 0
    context.close()
    db.session.expire_all()
    assert db.session.get(Pairing, pairing.id).apprentice_response is Response.ACCEPTED


def _round_with_a_finished_run():
    """The organisation's round, opened and confirmed, with one finished run awaiting review."""
    people = _organisation()
    round_ = make_round()
    for person in (people["masters"][0], people["priya"]):
        opening.confirm_month(person, round_.month)
    run = runs.start_run(round_, people["admin"], time_limit=5)
    assert solving.perform_run(run.id) is True
    db.session.refresh(run)
    assert run.status.value == "succeeded", run.error
    return people, round_, run


def _admin_pages(month, run_id):
    return ["/admin/rounds", f"/admin/rounds/{month}", f"/admin/rounds/{month}/runs/{run_id}"]


PERSON_PAGES = ["/pairings", "/notifications", "/dashboard"]


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_round_pages_are_accessible_and_fit_a_phone(chromium, live_server, viewport):
    """Axe finds no serious faults and nothing scrolls sideways on a phone, before and after
    publishing."""
    people, round_, run = _round_with_a_finished_run()
    admin, priya = people["admin"], people["priya"]
    problems = page_problems(
        chromium, live_server, admin, _admin_pages(round_.month, run.id), viewport
    )

    publish(run)
    assert db.session.scalars(select(Pairing).where(Pairing.apprentice_id == priya.id)).first()
    problems += page_problems(
        chromium, live_server, admin, _admin_pages(round_.month, run.id), viewport
    )
    # Priya has pairings to answer and unread notifications.
    problems += page_problems(chromium, live_server, priya, PERSON_PAGES, viewport)
    assert problems == []
