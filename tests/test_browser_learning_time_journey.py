"""Issue 27's whole journey: an apprentice asks for more hours than the organisation's allowance,
their manager approves in the browser, the next round gives the apprentice those hours, and the
admin's learning-time report shows that team's granted hours against its planned and used ones."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.extensions import db
from mentor_match.models import OrganisationSettings, SessionObserver
from mentor_match.rounds import runs, solving
from mentor_match.rounds.publication import publish

from .browser import log_in, new_page
from .factories import make_admin, make_master, make_round, make_small_round_organisation

pytestmark = pytest.mark.browser


def _row_cells(page, table_id: str, heading: str) -> list[str]:
    row = page.locator(f"#{table_id} tr", has=page.locator("th", has_text=heading))
    return [cell.strip() for cell in row.locator("th, td").all_inner_texts()]


def test_hours_asked_approved_given_by_the_round_and_reported(chromium, live_server):
    people = make_small_round_organisation(
        max_hosting_hours=10, max_apprentices=3, observation_hours=4
    )
    tom = people["apprentices"][0]
    manager = make_master("Priya Manager")
    admin = make_admin("Report Admin")
    tom.manager = manager
    settings = db.session.get(OrganisationSettings, 1) or OrganisationSettings(id=1)
    settings.observing_allowance_hours = 6
    db.session.add(settings)
    db.session.commit()
    round_ = make_round()
    month = Month.parse(round_.month)

    context, page = new_page(chromium)
    try:
        # Tom asks for 10 hours where the organisation grants 6, and says why.
        log_in(page, live_server, tom)
        page.goto(f"{live_server}/availability/plan?month={month}")
        page.get_by_label("Observation hours wanted").fill("10")
        page.get_by_label("Masters at most").fill("2")
        page.get_by_label("Why you need more hours").fill("Preparing for the spring contract.")
        page.get_by_role("button", name=f"Save plan for {month.label}").click()
        expect(page.locator("#allowance")).to_contain_text(
            "You asked for 10 h observing; Priya Manager decides. Until it is approved, the "
            "round and booking use 6 h."
        )
        context.clear_cookies()

        # His manager approves it from the requests page.
        log_in(page, live_server, manager)
        page.goto(f"{live_server}/team/requests")
        row = page.locator("tr", has_text="Apprentice 1")
        expect(row).to_contain_text("Preparing for the spring contract.")
        row.get_by_role("button", name="Approve 10 h").click()
        expect(page.get_by_text("Approved: Apprentice 1 is told.")).to_be_visible()
        context.clear_cookies()

        # The round runs and is published: Tom observes the 10 hours approved, not 6.
        db.session.expire_all()
        run = runs.start_run(round_, admin, time_limit=5)
        assert solving.perform_run(run.id) is True
        db.session.refresh(run)
        publish(run)
        seats = db.session.scalars(
            select(SessionObserver).where(
                SessionObserver.apprentice_id == tom.id, SessionObserver.cancelled_at.is_(None)
            )
        ).all()
        given = sum((s.ends_at - s.starts_at).total_seconds() for s in seats) / 3600
        assert given == 10

        # The report shows the team's granted hours against what it planned and used.
        log_in(page, live_server, admin)
        page.goto(f"{live_server}/admin/reports/learning-time?from={month}&to={month}")
        team = _row_cells(page, "learning-time-by-team", "Priya Manager")
        # Team, people, observing granted, planned, observed (host-verified: none yet, the
        # month is ahead), hosting granted, planned, hosted, requests approved, declined.
        assert team == ["Priya Manager", "1", "10.00", "10.00", "0.00"] + ["0.00"] * 3 + ["1", "0"]
    finally:
        context.close()
