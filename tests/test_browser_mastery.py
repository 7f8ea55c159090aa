"""From booking to a verified mastery record, in a real browser.

Tom books a session with Amara; Amara confirms he attended; Tom records what he observed and
rates the session; Amara rates his practice; his charts show the hours; and the mastery record
he publishes is verified by a stranger who holds only its link, until he revokes it.
"""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import rules
from mentor_match.extensions import db
from mentor_match.models import (
    Attendance,
    Feedback,
    FeedbackKind,
    MasteryRecord,
    PracticeAttempt,
    SessionMode,
    SessionObserver,
)

from .browser import (
    DESKTOP,
    PHONE,
    card_titled,
    expect_flash,
    log_in,
    menu,
    new_page,
    overflows_sideways,
    serious_accessibility_faults,
    sessions_nav,
)
from .database import move_into_the_past
from .factories import first_open_slot, next_month

pytestmark = pytest.mark.browser

LONDON = ZoneInfo("Europe/London")
SKILL = "Negotiation: Anchoring"
OBSERVED = "Amara named a high anchor first and held it through two counter-offers."
SESSION_NOTE = "Clear, and she stopped to explain each move afterwards."
PRACTICE = "Opened a supplier call with a firm anchor 20% above our target price."
TOUGH_NOTE = "Firm opening, but you explained the anchor away at once. Say it and stop talking."


def _check(page, problems: list[str], where: str) -> None:
    """Axe's serious faults at desktop width, then whether the page scrolls sideways on a phone."""
    problems += [f"{where}: {fault}" for fault in serious_accessibility_faults(page)]
    desktop = page.viewport_size
    page.set_viewport_size(PHONE)
    if overflows_sideways(page):
        problems.append(f"{where}: scrolls sideways at phone width")
    page.set_viewport_size(desktop)


def test_a_session_goes_from_booking_to_a_verified_mastery_record(chromium, live_server, office):
    master, tom = office["master"], office["apprentices"][0]
    base, problems = live_server, []
    # No notice period, so booking works on the last day of a month too (as in the booking test).
    rules.save_notice_hours(0)
    tom_context, tom_page = new_page(chromium)
    amara_context, amara = new_page(chromium)

    # 1. Tom books two hours on video with Amara, through the pages.
    log_in(tom_page, base, tom)
    menu(tom_page).get_by_role("link", name="Sessions").click()
    sessions_nav(tom_page).get_by_role("link", name="Book a session").click()
    tom_page.wait_for_url(re.compile(r"/book$"))
    card_titled(tom_page, "Masters you can book").get_by_role("link", name="Amara Master").click()
    tom_page.wait_for_url(re.compile(rf"/book/{master.id}"))
    label = Month.parse(next_month()).label
    months = tom_page.get_by_role("navigation", name="Other months")
    if months.locator("strong").inner_text() != label:
        months.get_by_role("link", name=f"{label} →").click()
    expect(months.locator("strong")).to_have_text(label)
    slot = tom_page.locator("li.slot:not(.unavailable)").first
    booked_start = datetime.fromisoformat(slot.locator("input[name=starts_at]").input_value())
    assert booked_start.astimezone(UTC) == first_open_slot(master, tom).starts_at
    slot.get_by_label("Length").select_option("2")
    slot.get_by_role("button", name="Book: video").click()
    tom_page.wait_for_url(re.compile(r"/sessions/\d+$"))
    session_id = int(tom_page.url.rsplit("/", 1)[1])
    expect(tom_page.get_by_text("Booked: Amara Master has been told.")).to_be_visible()

    session = move_into_the_past(session_id)
    assert session.mode is SessionMode.VIRTUAL and session.micro_skill.full_name == SKILL
    seat_id = session.observers[0].id
    local_start = session.starts_at.astimezone(LONDON)
    month_label = local_start.strftime("%B %Y")  # Tom's charts count months in London time

    # 2. Amara's dashboard asks her to confirm; she confirms the full two hours.
    log_in(amara, base, master)
    amara.goto(base + "/dashboard")
    card = card_titled(amara, "Attendance to confirm")
    expect(card).to_contain_text(
        "1 observer in your past sessions waits for you to confirm their hours"
    )
    card.get_by_role("link", name="Confirm attendance").click()
    amara.wait_for_url(re.compile(r"/sessions/to-confirm$"))
    expect(amara.locator("h1")).to_have_text("Confirm attendance")
    waiting = amara.locator("ul.sessions > li")
    expect(waiting).to_have_count(1)
    expect(waiting).to_contain_text(f"{local_start:%a %d %b, %H:%M}–")
    expect(waiting).to_contain_text("Tom Apprentice · On video")
    minutes = waiting.get_by_label("Minutes watched")
    expect(minutes).to_have_value("120")
    _check(amara, problems, "/sessions/to-confirm")
    minutes.fill("120")
    waiting.get_by_role("button", name="Confirm").click()
    amara.wait_for_url(re.compile(r"/sessions/to-confirm$"))
    expect_flash(amara, "Confirmed 120 minutes for Tom Apprentice.")
    expect(amara.get_by_text("Nothing to confirm: every finished session is done.")).to_be_visible()
    amara.goto(base + "/dashboard")
    expect(card_titled(amara, "Attendance to confirm")).to_have_count(0)
    db.session.expire_all()
    attendance = db.session.scalar(select(Attendance).where(Attendance.seat_id == seat_id))
    assert (attendance.minutes, attendance.confirmed_by_id) == (120, master.id)

    # 3. Tom's session page: the confirmed hours, his observation notes and his rating.
    tom_page.goto(base + f"/sessions/{session_id}")
    hours_card = card_titled(tom_page, "Hours")
    expect(hours_card).to_contain_text(re.compile(r"Amara Master confirmed 2(\.0+)? hours on"))
    expect(hours_card.get_by_text("Not right? Dispute these hours")).to_be_visible()
    expect(tom_page.get_by_role("button", name="Cancel my seat")).to_have_count(0)  # it is over
    observed = card_titled(tom_page, "What you observed")
    observed.get_by_label("Notes").fill(OBSERVED)
    observed.get_by_role("checkbox", name=SKILL).check()
    observed.get_by_role("button", name="Save notes").click()
    tom_page.wait_for_url(re.compile(rf"/sessions/{session_id}$"))
    expect_flash(tom_page, "Your observation notes are saved.")
    expect(observed.get_by_label("Notes")).to_have_value(OBSERVED)
    expect(observed.get_by_role("checkbox", name=SKILL)).to_be_checked()
    rate = card_titled(tom_page, "Rate the session")
    expect(rate).to_contain_text("Only Amara Master sees your rating.")
    rate.get_by_label("Rating").select_option("5")
    rate.get_by_label("Note", exact=True).fill(SESSION_NOTE)
    rate.get_by_role("button", name="Rate").click()
    tom_page.wait_for_url(re.compile(rf"/sessions/{session_id}$"))
    expect_flash(tom_page, "Thank you: the master sees your rating; nobody else does.")
    expect(rate.get_by_label("Rating")).to_have_value("5")
    expect(rate.get_by_role("button", name="Change rating")).to_be_visible()
    _check(tom_page, problems, "the session page after the session")
    db.session.expire_all()
    seat = db.session.get(SessionObserver, seat_id)
    assert seat.observation.notes == OBSERVED
    assert [skill.full_name for skill in seat.observation.micro_skills] == [SKILL]

    # He logs a practice attempt and asks Amara to rate it.
    sessions_nav(tom_page).get_by_role("link", name="Practice").click()
    tom_page.wait_for_url(re.compile(r"/practice$"))
    tom_page.get_by_label("Micro skill", exact=True).select_option(label=SKILL)
    tom_page.get_by_label("Master to rate it").select_option(label="Amara Master")
    tom_page.get_by_label("When").fill(local_start.date().isoformat())
    tom_page.get_by_label("What you did").fill(PRACTICE)
    tom_page.get_by_role("button", name="Ask for feedback").click()
    tom_page.wait_for_url(re.compile(r"/practice$"))
    expect_flash(tom_page, "Logged: the master has been asked to rate it.")
    attempts = card_titled(tom_page, "Your attempts and the feedback you got")
    expect(attempts).to_contain_text(f"{local_start:%d %b %Y} · {SKILL} · asked Amara Master")
    expect(attempts).to_contain_text("Waiting for feedback.")
    _check(tom_page, problems, "/practice")

    # 4. Amara gives tough feedback on the practice, and sees Tom's rating of her session.
    menu(amara).get_by_role("link", name="Sessions").click()
    sessions_nav(amara).get_by_role("link", name="Practice to rate").click()
    amara.wait_for_url(re.compile(r"/practice/to-rate$"))
    attempt = amara.locator("li[id^=attempt-]")
    expect(attempt).to_have_count(1)
    expect(attempt).to_contain_text(f"Tom Apprentice · {SKILL}")
    expect(attempt).to_contain_text(PRACTICE)
    _check(amara, problems, "/practice/to-rate")
    attempt.get_by_label("Rating").select_option("4")
    attempt.get_by_label("Note").fill(TOUGH_NOTE)
    attempt.get_by_role("button", name="Give feedback").click()
    amara.wait_for_url(re.compile(r"/practice/to-rate$"))
    expect_flash(amara, "Your feedback is with Tom Apprentice.")
    expect(attempt.get_by_role("button", name="Change feedback")).to_be_visible()
    amara.goto(base + f"/sessions/{session_id}")
    expect(amara.locator("h1")).to_have_text("You host")
    expect(card_titled(amara, "How your observers rated it")).to_contain_text(
        f"5/5 from Tom Apprentice: {SESSION_NOTE}"
    )
    db.session.expire_all()
    practice = db.session.scalar(
        select(PracticeAttempt).where(PracticeAttempt.apprentice_id == tom.id)
    )
    assert (practice.feedback.rating, practice.feedback.note) == (4, TOUGH_NOTE)
    given = db.session.scalars(select(Feedback).order_by(Feedback.id)).all()
    assert [(f.kind, f.giver_id, f.rating) for f in given] == [
        (FeedbackKind.SESSION, tom.id, 5),
        (FeedbackKind.PRACTICE, master.id, 4),
    ]

    # His practice page now shows the rating.
    tom_page.reload()
    expect(attempts).to_contain_text(f"4/5: {TOUGH_NOTE}")

    # 5. Tom's progress: two verified hours in the month charts, the skill chart, and toward
    # journeyman.
    menu(tom_page).get_by_role("link", name="Progress").click()
    tom_page.wait_for_url(re.compile(r"/progress$"))
    figures = tom_page.locator(".figures")
    expect(figures.locator("div", has_text="In all").locator("dd")).to_have_text("2 h")
    expect(figures.locator("div", has_text="Masters observed").locator("dd")).to_have_text("1")
    by_month = tom_page.locator("figure#hours-by-month")
    expect(
        by_month.get_by_role("img", name=re.compile("Verified hours by month"))
    ).to_have_accessible_name(
        re.compile(rf"2 verified hours in all; the most, 2, in {month_label}\.")
    )
    expect(by_month.locator("rect.bar title", has_text=f"{month_label}:")).to_have_text(
        f"{month_label}: 2 h"
    )
    by_month.get_by_text("Verified hours by month, last 12 months as a table").click()
    month_row = by_month.get_by_role("row", name=month_label)
    expect(month_row.get_by_role("cell")).to_have_text("2")
    by_skill = tom_page.locator("figure#hours-by-skill")
    expect(
        by_skill.get_by_role("img", name=re.compile("Verified hours by micro skill"))
    ).to_have_accessible_name(re.compile(rf"2 verified hours in all; the most, 2, in {SKILL}\."))
    by_skill.get_by_text("Verified hours by micro skill as a table").click()
    expect(by_skill.get_by_role("row", name=SKILL).get_by_role("cell")).to_have_text("2")
    stage = card_titled(tom_page, "Toward the next stage").get_by_role(
        "row", name=re.compile(SKILL)
    )
    expect(stage).to_contain_text("Apprentice")
    expect(stage).to_contain_text("Journeyman")
    expect(stage).to_contain_text(re.compile(r"2 of 40\s+· not yet"))
    expect(stage).to_contain_text(re.compile(r"4\.00 from 1 rating,\s+needs 3\.5\s+· reached"))
    expect(stage).to_contain_text("Not yet eligible")
    masters_row = card_titled(tom_page, "Your masters").get_by_role(
        "row", name=re.compile("Amara Master")
    )
    expect(masters_row.get_by_role("cell")).to_have_text(["2", "1"])
    feedback = card_titled(tom_page, "Feedback on your practice").locator("ol.feedback-list > li")
    expect(feedback).to_have_count(1)
    expect(feedback).to_contain_text(f"4 of 5 · {SKILL}")
    expect(feedback).to_contain_text("Amara Master,")
    expect(feedback).to_contain_text(TOUGH_NOTE)
    _check(tom_page, problems, "/progress")

    # 6. Tom publishes a mastery record.
    menu(tom_page).get_by_role("link", name="Records").click()
    tom_page.wait_for_url(re.compile(r"/records$"))
    tom_page.get_by_role("button", name="Publish a mastery record").click()
    tom_page.wait_for_url(re.compile(r"/records$"))
    link = tom_page.locator("table.records-list a.record-code")
    expect(link).to_have_count(1)
    code = link.inner_text()
    assert re.fullmatch(r"[0-9A-Z]{5}(-[0-9A-Z]{5}){3}", code), code
    expect_flash(tom_page, f"Your mastery record is published. Its verification code is {code}.")
    expect(tom_page.locator("table.records-list tbody tr")).to_contain_text("Active")
    _check(tom_page, problems, "/records")
    public_url = base + link.get_attribute("href")
    assert public_url == f"{base}/r/{code}"

    # A stranger opens the link in a new browser, logged out: authentic, two hours with Amara.
    stranger_context, stranger = new_page(chromium)
    response = stranger.goto(public_url)
    assert response.status == 200 and response.headers["x-robots-tag"] == "noindex"
    expect(menu(stranger).get_by_role("link", name="Log in")).to_be_visible()
    banner = stranger.locator(".record-banner")
    expect(banner).to_contain_text("Verified by Mentor Match: authentic")
    expect(banner).to_contain_text("Signed by Mentor Match and unaltered since it was issued.")
    expect(stranger.locator("h1")).to_have_text("Tom Apprentice")
    expect(stranger.locator(".record-footer .record-code")).to_have_text(code)
    record_figures = stranger.locator(".record-figures")
    expect(
        record_figures.locator("div", has_text="Verified observation hours").locator("dd")
    ).to_have_text("2.0")
    expect(record_figures.locator("div", has_text="Masters observed").locator("dd")).to_have_text(
        "1"
    )
    skill_row = stranger.locator("table.record-table").get_by_role("row", name=re.compile(SKILL))
    # His apprentice stage is his own word: a record states no stage for it.
    expect(skill_row.get_by_role("cell")).to_have_text(["—", "2.0", "1", "4.0"])
    masters = stranger.locator(
        "section", has=stranger.get_by_role("heading", name="Masters observed")
    )
    expect(masters.locator("li")).to_have_text(["Amara Master: 2.0 h"])
    # The notes stay private: a record carries counts and averages only.
    expect(stranger.get_by_text(TOUGH_NOTE)).to_have_count(0)
    _check(stranger, problems, "the public record page")
    phone_context, phone = new_page(chromium, PHONE)
    phone.goto(public_url)
    expect(phone.locator(".record-banner")).to_contain_text("authentic")
    assert not overflows_sideways(phone), "the public record page scrolls sideways on a phone"
    phone_context.close()

    # The check page, from the record's own link, says the same.
    stranger.locator(".record-footer").get_by_role("link", name=re.compile(r"verify$")).click()
    stranger.wait_for_url(re.compile(r"/verify\?code="))
    expect(stranger.get_by_label("Verification code")).to_have_value(code)
    stranger.get_by_role("button", name="Check").click()
    verdict = stranger.locator("section.record-banner")
    expect(verdict.get_by_role("heading")).to_have_text("Authentic")
    expect(verdict).to_contain_text(f"Record {code} was issued by Mentor Match on")
    expect(verdict).to_contain_text("and is unaltered.")
    _check(stranger, problems, "/verify")

    # Tom's progress page at phone width, logged in.
    tom_page.set_viewport_size(PHONE)
    tom_page.goto(base + "/progress")
    assert not overflows_sideways(tom_page), "/progress scrolls sideways on a phone"
    tom_page.set_viewport_size(DESKTOP)

    # Tom revokes the record: its page and the check page now say so.
    tom_page.goto(base + "/records")
    asked = []
    tom_page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    tom_page.get_by_role("button", name="Revoke").click()
    tom_page.wait_for_url(re.compile(r"/records$"))
    assert asked == ["Revoke this record? Its page will say it is revoked, for good."]
    expect_flash(tom_page, f"Record {code} is revoked: its page now says so to anyone who checks.")
    expect(tom_page.locator("table.records-list .badge")).to_contain_text("Revoked")
    stranger.goto(public_url)
    expect(stranger.locator(".record-banner")).to_contain_text("REVOKED on")
    expect(stranger.locator(".record-banner")).not_to_contain_text("authentic")
    expect(stranger.locator("table.record-table")).to_have_count(0)
    stranger.goto(base + f"/verify?code={code}")
    stranger.get_by_role("button", name="Check").click()
    expect(stranger.locator("section.record-banner").get_by_role("heading")).to_have_text("Revoked")
    db.session.expire_all()
    record = db.session.scalar(select(MasteryRecord).where(MasteryRecord.code == code))
    assert record.person_id == tom.id and record.revoked_at is not None

    for context in (stranger_context, amara_context, tom_context):
        context.close()
    # 7. No serious accessibility faults, and nothing scrolls sideways on a phone.
    assert problems == []
