"""The whole of Mentor Match in one browser journey, as CI runs it.

A master and an apprentice sign up through the form and set their skills, weekly availability
and month plan; an admin opens next month's round, both confirm, the admin runs and publishes
it and the apprentice accepts the pairing; the apprentice books a further session, the master
confirms the hours, feedback goes both ways, the apprentice's progress shows the verified
hours, a stranger verifies the mastery record he publishes, and the admin's reports (page and
CSV) count the same hours.
"""

import csv
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import rules
from mentor_match.extensions import db
from mentor_match.models import (
    Attendance,
    MasteryRecord,
    MonthPlan,
    Pairing,
    Person,
    PracticeAttempt,
    Response,
    RoundRun,
    SessionMode,
    ShadowingSession,
)
from mentor_match.rounds.queue import wait_for_background_jobs

from .browser import (
    card_titled,
    confirm_sign_up,
    expect_flash,
    log_in,
    menu,
    new_page,
    serious_accessibility_faults,
    sessions_nav,
)
from .database import move_into_the_past
from .factories import DEFAULT_PASSWORD, make_admin, make_area, make_site, next_month

pytestmark = pytest.mark.browser

LONDON = ZoneInfo("Europe/London")
SITE = "Journey HQ (Europe/London)"
SKILL = "Negotiation: Anchoring"
RUN_TIMEOUT_MS = 60_000  # the run happens on a background thread; give it room on a slow CI box
OBSERVED = "Amara named a high anchor first and held it through two counter-offers."
SESSION_NOTE = "Clear, and she explained each move afterwards."
PRACTICE = "Opened a supplier call with a firm anchor 20% above our target price."
PRACTICE_NOTE = "Firm opening; now stop talking once the anchor is out."


@pytest.fixture
def background_jobs_finish():
    """Let the run and mail threads finish before the tables are emptied under them."""
    yield
    wait_for_background_jobs(timeout=30)


def _sign_up(page, base, sent_mail, name, email, role_label):
    """Sign up through the form and confirm the address from the mail; on to the skills page."""
    page.goto(base + "/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_label("Repeat password").fill(DEFAULT_PASSWORD)
    page.get_by_label(role_label).check()
    page.get_by_label("Where you work").select_option(label=SITE)
    page.get_by_label("Time zone").select_option("Europe/London")
    page.get_by_role("button", name="Create my account").click()
    confirm_sign_up(page, base, sent_mail, email, DEFAULT_PASSWORD)
    expect(page.get_by_text("Welcome to Mentor Match")).to_be_visible()
    db.session.expire_all()
    return db.session.scalar(select(Person).where(Person.email == email))


def _add_skill(page, stage: str, flag_label: str):
    page.get_by_label("Micro skill").select_option(label="Anchoring")
    page.get_by_label("Your stage").select_option(stage)
    page.get_by_label(flag_label).check()
    page.get_by_role("button", name="Add micro skill").click()
    expect(page.get_by_role("rowheader", name=re.compile(SKILL))).to_be_visible()


def _add_weekly_windows(page, base):
    """Tuesday and Thursday mornings, 09:00-12:00, in the room or on video."""
    page.goto(base + "/availability/weekly")
    for day in ("Tuesday", "Thursday"):
        page.get_by_label("Day of the week").select_option(label=day)
        page.get_by_label("From").fill("09:00")
        page.get_by_label("Until").fill("12:00")
        page.get_by_label("How people can join").select_option("both")
        page.get_by_role("button", name="Add window").click()
        page.wait_for_url(re.compile(r"/availability/weekly"))


def _save_plan(page, base, month, numbers: dict[str, str]):
    page.goto(f"{base}/availability/plan?month={month}")
    for label, value in numbers.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name=f"Save plan for {Month.parse(month).label}").click()
    expect(
        page.get_by_text(f"These are the numbers you saved for {Month.parse(month).label}.")
    ).to_be_visible()


def _confirm_round(page, base, month_label):
    """The dashboard's round card leads to the plan page, where the person confirms."""
    page.goto(base + "/dashboard")
    card = page.locator(
        "section.card", has=page.get_by_role("heading", name=re.compile(r"matching round is open"))
    )
    card.get_by_role("link", name="Check and confirm").click()
    page.wait_for_url(re.compile(r"/availability/plan"))
    page.get_by_role("button", name=f"Confirm for {month_label}").click()
    expect(
        page.get_by_text(f"Confirmed: you are in the {month_label} matching round.")
    ).to_be_visible()


def test_the_full_journey_from_sign_up_to_the_admin_reports(
    chromium, live_server, background_jobs_finish, sent_mail
):
    base = live_server
    make_site("Journey HQ", "Europe/London")
    make_area("Negotiation", skills=("Anchoring",))
    admin_person = make_admin("Morgan Admin")
    # No notice period, so booking next month works on the last day of this month too.
    rules.save_notice_hours(0)
    month = next_month()
    month_label = Month.parse(month).label
    amara_context, amara = new_page(chromium)
    tom_context, tom = new_page(chromium)
    admin_context, admin = new_page(chromium)
    problems: list[str] = []

    # 1. A master signs up, says she can be observed anchoring, gives her week and her month.
    master = _sign_up(amara, base, sent_mail, "Amara Master", "amara@example.org", "I am a master")
    assert master.is_master and not master.is_apprentice
    _add_skill(amara, "master", "I can be observed doing this")
    _add_weekly_windows(amara, base)
    _save_plan(
        amara,
        base,
        month,
        {
            "Hosting hours at most": "10",
            "Apprentices at most": "2",
            "Seats in the room": "1",
            "Seats on video": "2",
        },
    )
    # 2. An apprentice signs up the same way, wanting to develop anchoring.
    apprentice = _sign_up(
        tom, base, sent_mail, "Tom Apprentice", "tom@example.org", "I am an apprentice"
    )
    assert apprentice.is_apprentice and not apprentice.is_master
    _add_skill(tom, "apprentice", "I want to develop this")
    _add_weekly_windows(tom, base)
    _save_plan(tom, base, month, {"Observation hours wanted": "4", "Masters at most": "1"})
    problems += [f"/availability/plan: {f}" for f in serious_accessibility_faults(tom)]
    db.session.expire_all()
    assert len(master.weekly_windows) == 2 and len(apprentice.weekly_windows) == 2
    plans = {
        p.person_id: p
        for p in db.session.scalars(select(MonthPlan).where(MonthPlan.month == month))
    }
    assert (plans[master.id].max_hosting_hours, plans[master.id].virtual_seats) == (10, 2)
    assert (plans[apprentice.id].observation_hours, plans[apprentice.id].max_masters) == (4, 1)
    # Her dashboard counts skills and availability as done.
    amara.goto(base + "/dashboard")
    done = " ".join(amara.locator(".checklist .done").all_inner_texts())
    assert "weekly availability" in done and "observed doing" in done

    # 3. The admin creates next month's round and opens it: the two new people are asked.
    log_in(admin, base, admin_person)
    admin.goto(base + "/admin/rounds")
    assert admin.get_by_label("Month").input_value() == month
    admin.get_by_label("Confirm by").fill(
        (Month.parse(month).first_day - timedelta(days=1)).isoformat()
    )
    admin.get_by_role("button", name="Create round").click()
    admin.wait_for_url(re.compile(rf"/admin/rounds/{month}$"))
    expect(admin.locator("h1")).to_contain_text("Draft")
    admin.get_by_role("button", name="Open round and notify people").click()
    expect(admin.get_by_text("Round opened: 2 people were asked to confirm")).to_be_visible()
    confirmations = card_titled(admin, "Confirmations")
    expect(confirmations).to_contain_text("0 confirmed · 2 not yet")

    # 4. Both confirm from their dashboards; the admin sees it.
    _confirm_round(amara, base, month_label)
    _confirm_round(tom, base, month_label)
    admin.reload()
    expect(confirmations).to_contain_text("2 confirmed · 0 not yet")

    # 4b. Amara declared herself a master: until it is verified she hosts nobody. Her skills
    # page and dashboard say so, and the admin verifies her from the queue.
    amara.goto(base + "/profile/skills")
    expect(amara.get_by_role("rowheader", name=re.compile(SKILL))).to_contain_text(
        "self-declared, waiting for verification"
    )
    amara.goto(base + "/dashboard")
    expect(amara.locator(".checklist .todo").first).to_contain_text(
        "Have a stage you host verified"
    )
    admin.get_by_role("navigation", name="Admin").get_by_role(
        "link", name="Stages to verify"
    ).click()
    claim = admin.locator("article.stage-claim", has_text="Amara Master")
    expect(claim).to_contain_text("master in Negotiation: Anchoring")
    problems += [f"/admin/verification: {f}" for f in serious_accessibility_faults(admin)]
    claim.get_by_label("Reason, or a note for Amara Master").fill(
        "Seen her anchor our supplier talks."
    )
    claim.get_by_role("button", name="Verify as master").click()
    expect_flash(admin, "Amara Master's stage master in Negotiation: Anchoring is verified")
    expect(admin.get_by_text("No stage is waiting for verification.")).to_be_visible()
    amara.goto(base + "/profile/skills")
    expect(amara.get_by_role("rowheader", name=re.compile(SKILL))).to_contain_text(
        "set by Morgan Admin (admin) on"
    )
    admin.goto(f"{base}/admin/rounds/{month}")

    # 5. A five-second run on the background thread, then its review.
    admin.get_by_label("Time limit (seconds)").fill("5")
    admin.get_by_role("button", name="Run round").click()
    admin.wait_for_url(re.compile(rf"/admin/rounds/{month}/runs/\d+$"), timeout=RUN_TIMEOUT_MS)
    db.session.expire_all()
    run = db.session.scalars(select(RoundRun)).one()
    assert run.status.value == "succeeded", run.error
    assert run.observation_hours == 4  # Tom wants four hours; Amara can host ten
    figures = dict(
        zip(
            admin.locator(".figures dt").all_inner_texts(),
            admin.locator(".figures dd").all_inner_texts(),
            strict=True,
        )
    )
    assert figures["Observation hours"] == "4.0"
    assert figures["Apprentices paired"] == "1 of 1"
    listing = admin.locator(
        "section.card", has=admin.get_by_role("heading", name=re.compile(r"^Pairings \("))
    )
    expect(listing.locator(".pairing")).to_have_count(1)
    expect(listing.locator(".pairing")).to_contain_text("Tom Apprentice observes")

    # 6. The admin publishes, agreeing to the question.
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name=re.compile(r"^Publish 1 pairings?$")).click()
    admin.wait_for_url(re.compile(rf"/admin/rounds/{month}$"))
    expect(
        admin.get_by_text(re.compile(r"^Published 1 pairing and \d+ sessions?;"))
    ).to_be_visible()
    expect(admin.locator("h1")).to_contain_text("Published")

    # 7. Tom accepts his pairing with Amara.
    db.session.expire_all()
    pairing = db.session.scalars(
        select(Pairing).where(Pairing.apprentice_id == apprentice.id)
    ).one()
    assert pairing.master_id == master.id
    menu(tom).get_by_role("link", name="Pairings").click()
    tom.wait_for_url(re.compile(r"/pairings$"))
    card = tom.locator(f"#pairing-{pairing.id}")
    expect(card.get_by_role("heading")).to_contain_text("you observe Amara Master")
    card.get_by_role("button", name="Accept").click()
    expect(tom.get_by_text("Accepted: see you at the sessions.")).to_be_visible()
    expect(tom.locator(f"#pairing-{pairing.id}")).to_contain_text("you: accepted")
    db.session.expire_all()
    assert db.session.get(Pairing, pairing.id).apprentice_response is Response.ACCEPTED

    # 8. Amara opens herself to bookings on her Sessions page.
    menu(amara).get_by_role("link", name="Sessions").click()
    amara.wait_for_url(re.compile(r"/sessions$"))
    amara.get_by_role("button", name="Let any apprentice who can learn from me book").click()
    expect_flash(amara, "Any apprentice who can learn from you may now book you.")
    expect(amara.get_by_role("button", name="Only my paired apprentices")).to_be_visible()
    db.session.expire_all()
    assert db.session.get(Person, master.id).open_to_bookings is True

    # 9. Tom books a further two hours on video with her, next month. The round used all four
    # hours of his plan, so the booking is refused until he raises his plan to six.
    def book_two_hours_on_video():
        menu(tom).get_by_role("link", name="Sessions").click()
        sessions_nav(tom).get_by_role("link", name="Book a session").click()
        tom.wait_for_url(re.compile(r"/book$"))
        card_titled(tom, "Masters you can book").get_by_role("link", name="Amara Master").click()
        tom.wait_for_url(re.compile(rf"/book/{master.id}"))
        months = tom.get_by_role("navigation", name="Other months")
        if months.locator("strong").inner_text() != month_label:
            months.get_by_role("link", name=f"{month_label} →").click()
        expect(months.locator("strong")).to_have_text(month_label)
        # The first open hour followed by another open hour, so two hours fit wherever the
        # round's sessions fell.
        free = tom.locator("li.slot").evaluate_all(
            """items => items.map(item => {
                 const next = item.nextElementSibling;
                 const open = el => el !== null && !el.classList.contains("unavailable");
                 return open(item) && open(next)
                   && Number(next.querySelector(".slot-time").textContent.slice(0, 2))
                      === Number(item.querySelector(".slot-time").textContent.slice(0, 2)) + 1;
               })"""
        )
        slot = tom.locator("li.slot").nth(free.index(True))
        slot_start = datetime.fromisoformat(slot.locator("input[name=starts_at]").input_value())
        # Both are free only on Tuesday and Thursday mornings, London time.
        assert slot_start.astimezone(LONDON).weekday() in (1, 3)
        assert 9 <= slot_start.astimezone(LONDON).hour < 11
        slot.get_by_label("Length").select_option("2")
        slot.get_by_role("button", name="Book: video").click()

    # His round sessions show as busy times on Amara's booking page.
    book_two_hours_on_video()
    expect(
        tom.get_by_text(
            f"This would take you past your 4 hours for {month_label} (you have 4 booked)."
        )
    ).to_be_visible()
    expect(tom.locator("li.slot", has_text="(you are busy)")).to_have_count(4)
    _save_plan(tom, base, month, {"Observation hours wanted": "6", "Masters at most": "1"})
    book_two_hours_on_video()
    tom.wait_for_url(re.compile(r"/sessions/\d+$"))
    expect(tom.get_by_text("Booked: Amara Master has been told.")).to_be_visible()
    session_id = int(tom.url.rsplit("/", 1)[1])
    db.session.expire_all()
    booked = db.session.get(ShadowingSession, session_id)
    assert booked.master_id == master.id and booked.mode is SessionMode.VIRTUAL
    assert booked.hours == 2 and booked.micro_skill.full_name == SKILL

    session = move_into_the_past(session_id)
    seat_id = session.observers[0].id
    local_start = session.starts_at.astimezone(LONDON)
    past_month_label = local_start.strftime("%B %Y")

    # 10. Amara confirms the full two hours (the round's sessions are still to come).
    amara.goto(base + "/dashboard")
    waiting_card = card_titled(amara, "Attendance to confirm")
    expect(waiting_card).to_contain_text(
        "1 observer in your past sessions waits for you to confirm their hours"
    )
    waiting_card.get_by_role("link", name="Confirm attendance").click()
    amara.wait_for_url(re.compile(r"/sessions/to-confirm$"))
    waiting = amara.locator("ul.sessions > li")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text("Tom Apprentice · On video")
    expect(waiting.get_by_label("Minutes watched")).to_have_value("120")
    waiting.get_by_role("button", name="Confirm").click()
    expect_flash(amara, "Confirmed 120 minutes for Tom Apprentice.")
    db.session.expire_all()
    attendance = db.session.scalar(select(Attendance).where(Attendance.seat_id == seat_id))
    assert (attendance.minutes, attendance.confirmed_by_id) == (120, master.id)

    # 11. Tom writes what he observed and rates the session.
    tom.goto(base + f"/sessions/{session_id}")
    expect(card_titled(tom, "Hours")).to_contain_text(
        re.compile(r"Amara Master confirmed 2(\.0+)? hours on")
    )
    observed = card_titled(tom, "What you observed")
    observed.get_by_label("Notes").fill(OBSERVED)
    observed.get_by_role("checkbox", name=SKILL).check()
    observed.get_by_role("button", name="Save notes").click()
    expect_flash(tom, "Your observation notes are saved.")
    rate = card_titled(tom, "Rate the session")
    rate.get_by_label("Rating").select_option("5")
    rate.get_by_label("Note", exact=True).fill(SESSION_NOTE)
    rate.get_by_role("button", name="Rate").click()
    expect_flash(tom, "Thank you: the master sees your rating; nobody else does.")
    expect(rate.get_by_label("Rating")).to_have_value("5")

    # 12. He logs practice; Amara rates it 4, and sees his 5 for her session.
    sessions_nav(tom).get_by_role("link", name="Practice").click()
    tom.wait_for_url(re.compile(r"/practice$"))
    tom.get_by_label("Micro skill", exact=True).select_option(label=SKILL)
    tom.get_by_label("Master to rate it").select_option(label="Amara Master")
    tom.get_by_label("When").fill(local_start.date().isoformat())
    tom.get_by_label("What you did").fill(PRACTICE)
    tom.get_by_role("button", name="Ask for feedback").click()
    expect_flash(tom, "Logged: the master has been asked to rate it.")
    amara.goto(base + "/practice/to-rate")
    attempt = amara.locator("li[id^=attempt-]")
    expect(attempt).to_have_count(1)
    expect(attempt).to_contain_text(PRACTICE)
    attempt.get_by_label("Rating").select_option("4")
    attempt.get_by_label("Note").fill(PRACTICE_NOTE)
    attempt.get_by_role("button", name="Give feedback").click()
    expect_flash(amara, "Your feedback is with Tom Apprentice.")
    amara.goto(base + f"/sessions/{session_id}")
    expect(card_titled(amara, "How your observers rated it")).to_contain_text(
        f"5/5 from Tom Apprentice: {SESSION_NOTE}"
    )
    db.session.expire_all()
    practice = db.session.scalar(
        select(PracticeAttempt).where(PracticeAttempt.apprentice_id == apprentice.id)
    )
    assert (practice.feedback.rating, practice.feedback.note) == (4, PRACTICE_NOTE)

    # 13. Tom's progress: two verified hours with one master, charted by month and by skill.
    menu(tom).get_by_role("link", name="Progress").click()
    tom.wait_for_url(re.compile(r"/progress$"))
    progress = tom.locator(".figures")
    expect(progress.locator("div", has_text="In all").locator("dd")).to_have_text("2 h")
    expect(progress.locator("div", has_text="Masters observed").locator("dd")).to_have_text("1")
    by_month = tom.locator("figure#hours-by-month")
    expect(
        by_month.get_by_role("img", name=re.compile("Verified hours by month"))
    ).to_have_accessible_name(
        re.compile(rf"2 verified hours in all; the most, 2, in {past_month_label}\.")
    )
    by_skill = tom.locator("figure#hours-by-skill")
    expect(
        by_skill.get_by_role("img", name=re.compile("Verified hours by micro skill"))
    ).to_have_accessible_name(re.compile(rf"2 verified hours in all; the most, 2, in {SKILL}\."))
    stage = card_titled(tom, "Toward the next stage").get_by_role("row", name=re.compile(SKILL))
    expect(stage).to_contain_text(re.compile(r"2 of 40\s+· not yet"))
    expect(stage).to_contain_text(re.compile(r"4\.00 from 1 rating"))
    problems += [f"/progress: {f}" for f in serious_accessibility_faults(tom)]

    # 14. He publishes a mastery record; a logged-out stranger checks its code at /verify.
    menu(tom).get_by_role("link", name="Records").click()
    tom.wait_for_url(re.compile(r"/records$"))
    tom.get_by_role("button", name="Publish a mastery record").click()
    link = tom.locator("table.records-list a.record-code")
    expect(link).to_have_count(1)
    code = link.inner_text()
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", code), code
    expect_flash(tom, f"Your mastery record is published. Its verification code is {code}.")
    stranger_context, stranger = new_page(chromium)
    stranger.goto(base + "/verify")
    expect(menu(stranger).get_by_role("link", name="Log in")).to_be_visible()
    stranger.get_by_label("Verification code").fill(code)
    stranger.get_by_role("button", name="Check").click()
    verdict = stranger.locator("section.record-banner")
    expect(verdict.get_by_role("heading")).to_have_text("Authentic")
    expect(verdict).to_contain_text(f"Record {code} was issued by Mentor Match on")
    stranger.goto(base + link.get_attribute("href"))
    expect(stranger.locator("h1")).to_have_text("Tom Apprentice")
    record_figures = stranger.locator(".record-figures")
    expect(
        record_figures.locator("div", has_text="Verified observation hours").locator("dd")
    ).to_have_text("2.0")
    expect(
        stranger.locator(
            "section", has=stranger.get_by_role("heading", name="Masters observed")
        ).locator("li")
    ).to_have_text(["Amara Master: 2.0 h"])
    stranger_context.close()
    db.session.expire_all()
    record = db.session.scalar(select(MasteryRecord).where(MasteryRecord.code == code))
    assert record.person_id == apprentice.id and record.revoked_at is None

    # 15. The admin's reports show the two verified hours, and so does the CSV download.
    admin.goto(base + "/admin/reports")
    expect(admin.locator("h1")).to_have_text("Reports")
    hours_card = admin.locator("section#hours-by-skill")
    row = hours_card.get_by_role("row", name=re.compile("Negotiation"))
    expect(row.get_by_role("cell")).to_have_text(["Anchoring", "2.00", "1", "1"])
    with admin.expect_download() as download_info:
        hours_card.get_by_role("link", name=re.compile("Download CSV")).click()
    download = download_info.value
    assert re.fullmatch(
        r"mentor-match-hours-by-skill-\d{4}-\d{2}-to-\d{4}-\d{2}\.csv", download.suggested_filename
    )
    with open(download.path(), encoding="utf-8-sig") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    assert rows[0] == ["Area", "Micro skill", "Verified hours", "Sessions", "Apprentices"]
    assert ["Negotiation", "Anchoring", "2.00", "1", "1"] in rows
    assert rows[-1] == ["All areas", "", "2.00", "1", "1"]
    problems += [f"/admin/reports: {f}" for f in serious_accessibility_faults(admin)]

    for context in (amara_context, tom_context, admin_context):
        context.close()
    assert problems == []
