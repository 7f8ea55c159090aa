"""Booking in a real browser: book, move and cancel a seat; open, join and cancel a session."""

import re
import urllib.request
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from playwright.sync_api import expect
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import services
from mentor_match.extensions import db
from mentor_match.models import Notification, SessionMode, SessionObserver, ShadowingSession

from .browser import PHONE, log_in, menu, new_page, page_problems, sessions_nav
from .factories import first_open_slot, make_admin, next_month

pytestmark = pytest.mark.browser

KOLKATA = ZoneInfo("Asia/Kolkata")
LONDON = ZoneInfo("Europe/London")
WHEN = "%a %d %b %Y, %H:%M"  # the session page's "When", before the end time and zone


def _show_month(page, label: str) -> None:
    """On a page of open times, follow the month links until the month shown is `label`."""
    months = page.get_by_role("navigation", name="Other months")
    if months.locator("strong").inner_text() != label:
        months.get_by_role("link", name=f"{label} →").click()
    expect(months.locator("strong")).to_have_text(label)


def _figure(page, term: str):
    """The value of one of the session page's figures (When, Where, Seats taken)."""
    return page.locator(".figures div", has=page.locator(f"dt:text-is('{term}')")).locator("dd")


def _when_text(starts_at: datetime, ends_at: datetime, zone: ZoneInfo) -> str:
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    return f"{start:{WHEN}}–{end:%H:%M %Z}"


def _feed_events(url: str) -> dict[str, dict]:
    """The feed's VEVENTs by UID, fetched without a log-in (calendar apps have none)."""
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/calendar")
        calendar = Calendar.from_ical(response.read())
    return {
        str(event["UID"]): {
            "start": event.decoded("DTSTART"),
            "end": event.decoded("DTEND"),
            "status": str(event["STATUS"]),
            "summary": str(event["SUMMARY"]),
        }
        for event in calendar.walk("VEVENT")
    }


def _uid(session_id: int) -> str:
    return f"session-{session_id}@mentor-match"


def _pick_slot(slot_item, hours: int) -> datetime:
    """Choose a length in one slot's form; returns the slot's start (UTC) the form will send."""
    starts_at = datetime.fromisoformat(slot_item.locator("input[name=starts_at]").input_value())
    slot_item.get_by_label("Length").select_option(str(hours))
    return starts_at.astimezone(UTC)


def test_an_apprentice_books_moves_and_cancels_a_seat(chromium, live_server, office):
    master, tom = office["master"], office["apprentices"][0]
    month_label = Month.parse(next_month()).label
    # No notice period, so the journey also works on the last day of a month, when next
    # month's first slot may be less than the default 24 hours away.
    services.save_notice_hours(0)
    context, page = new_page(chromium)

    # Tom lives by Kolkata time: he says so on his profile first.
    log_in(page, live_server, tom)
    page.goto(live_server + "/profile")
    page.get_by_label("Time zone").select_option("Asia/Kolkata")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Your profile has been saved.")).to_be_visible()
    db.session.expire_all()
    assert tom.timezone == "Asia/Kolkata"

    # Sessions > Book a session > Amara Master, and next month's open times in his zone.
    menu(page).get_by_role("link", name="Sessions").click()
    page.wait_for_url(re.compile(r"/sessions$"))
    sessions_nav(page).get_by_role("link", name="Book a session").click()
    page.wait_for_url(re.compile(r"/book$"))
    masters = page.locator(
        "section.card", has=page.get_by_role("heading", name="Masters you can book")
    )
    masters.get_by_role("link", name="Amara Master").click()
    page.wait_for_url(re.compile(rf"/book/{master.id}"))
    expect(page.locator("h1")).to_have_text("Book Amara Master")
    _show_month(page, month_label)
    expect(page.get_by_text("shown in your time zone (Asia/Kolkata)")).to_be_visible()

    first = page.locator("li.slot:not(.unavailable)").first
    expected = first_open_slot(master, tom)
    booked_start = _pick_slot(first, hours=2)
    assert booked_start == expected.starts_at
    local = booked_start.astimezone(KOLKATA)
    # The master's hours start on the hour in London, so at half past in Kolkata.
    assert local.minute == 30
    assert first.locator(".slot-time").inner_text() == f"{local:%H:%M}"
    day_heading = page.locator("h2.day-heading").first.inner_text()
    assert day_heading == local.strftime("%A %d %B")
    assert "Room: 1 seat" in first.inner_text() and "Video: 2 seats" in first.inner_text()
    # Kolkata is on the half hour, so so are his bookings: starts every half hour of the
    # master's clock, shown in both zones, and lengths in half hours.
    london = booked_start.astimezone(LONDON)
    expect(first.locator(".slot-their-time")).to_have_text(f"({london:%H:%M} for Amara Master)")
    then = page.locator("li.slot:not(.unavailable)").nth(1)
    expect(then.locator(".slot-time")).to_have_text(f"{local + timedelta(minutes=30):%H:%M}")
    expect(first.get_by_label("Length").locator("option[value='1.5']")).to_have_text("1 h 30")
    first.get_by_role("button", name="Book: video").click()

    # The session page: his zone's time, on video, the call's link and the .ics download.
    page.wait_for_url(re.compile(r"/sessions/\d+$"))
    first_id = int(page.url.rsplit("/", 1)[1])
    booked_end = booked_start + timedelta(hours=2)
    expect(page.get_by_text("Booked: Amara Master has been told.")).to_be_visible()
    expect(page.locator("h1")).to_have_text("Shadowing Amara Master")
    expect(_figure(page, "When")).to_have_text(_when_text(booked_start, booked_end, KOLKATA))
    assert "IST" in _figure(page, "When").inner_text()
    expect(_figure(page, "Where")).to_have_text("On video")
    call = page.locator("a[href^='https://meet.jit.si/']")
    expect(call).to_have_count(1)
    db.session.expire_all()
    session = db.session.get(ShadowingSession, first_id)
    assert call.get_attribute("href") == f"https://meet.jit.si/{session.video_room}"
    assert session.starts_at == booked_start and session.ends_at == booked_end
    assert session.mode is SessionMode.VIRTUAL
    ics_link = page.get_by_role("link", name="Add to calendar (.ics)")
    expect(ics_link).to_be_visible()
    download = page.request.get(live_server + ics_link.get_attribute("href"))
    assert download.ok and download.headers["content-type"].startswith("text/calendar")
    [event] = Calendar.from_ical(download.body()).walk("VEVENT")
    assert event.decoded("DTSTART") == booked_start

    # His feed: he makes its address on /calendar (shown once), and anyone holding it can read it.
    sessions_nav(page).get_by_role("link", name="Calendar feed").click()
    page.wait_for_url(re.compile(r"/calendar$"))
    page.get_by_role("button", name="Make my calendar address").click()
    page.wait_for_url(re.compile(r"/calendar/reset$"))
    feed_url = page.get_by_label("Calendar address (copy this)").input_value()
    assert feed_url.startswith(live_server + "/calendar/") and feed_url.endswith(".ics")
    events = _feed_events(feed_url)
    assert list(events) == [_uid(first_id)]
    assert events[_uid(first_id)]["start"] == booked_start
    assert events[_uid(first_id)]["end"] == booked_end
    assert events[_uid(first_id)]["status"] == "CONFIRMED"
    assert events[_uid(first_id)]["summary"] == "Shadowing Amara Master: Negotiation: Anchoring"

    # He moves his seat to a later day (next month again, from the current month's page).
    page.goto(live_server + f"/sessions/{first_id}")
    page.get_by_role("link", name="Move my seat").click()
    page.wait_for_url(re.compile(rf"/sessions/{first_id}/move"))
    expect(page.locator("h1")).to_have_text("Move your seat with Amara Master")
    _show_month(page, month_label)
    later_day = page.locator("ul.slots").nth(1).locator("li.slot:not(.unavailable)").first
    moved_start = _pick_slot(later_day, hours=2)
    assert moved_start == first_open_slot(master, tom, day_offset=1).starts_at
    assert moved_start.astimezone(KOLKATA).date() > local.date()
    later_day.get_by_role("button", name="Move here: video").click()
    page.wait_for_url(
        lambda url: re.search(r"/sessions/\d+$", url) and not url.endswith(f"/{first_id}")
    )
    moved_id = int(page.url.rsplit("/", 1)[1])
    moved_end = moved_start + timedelta(hours=2)
    expect(page.get_by_text("Moved: the master was told.")).to_be_visible()
    expect(_figure(page, "When")).to_have_text(_when_text(moved_start, moved_end, KOLKATA))
    expect(_figure(page, "Where")).to_have_text("On video")

    # The feed moves too: the new time is a live event, and the old session (it was his
    # booking alone, so it ended with his seat) stays in the feed marked cancelled, so a
    # subscribed calendar takes it off.
    events = _feed_events(feed_url)
    assert set(events) == {_uid(first_id), _uid(moved_id)}
    assert events[_uid(moved_id)]["start"] == moved_start
    assert events[_uid(moved_id)]["status"] == "CONFIRMED"
    assert events[_uid(first_id)]["start"] == booked_start
    assert events[_uid(first_id)]["status"] == "CANCELLED"
    db.session.expire_all()
    assert db.session.get(ShadowingSession, first_id).cancelled_at is not None

    # He cancels his seat, agreeing to the question first.
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Cancel my seat").click()
    page.wait_for_url(re.compile(r"/sessions$"))
    assert asked == ["Cancel your seat? The master is told."]
    expect(page.get_by_text("Your seat is cancelled and the master was told.")).to_be_visible()
    upcoming = page.locator("section.card", has=page.get_by_role("heading", name="Upcoming"))
    expect(upcoming.locator("li.session-item")).to_have_count(0)
    expect(upcoming).to_contain_text("Nothing booked yet.")
    page.goto(live_server + f"/sessions?view=month&month={next_month()}")
    expect(page.locator("a.diary-entry")).to_have_count(0)

    # The feed keeps both sessions, neither one live any more.
    events = _feed_events(feed_url)
    assert set(events) == {_uid(first_id), _uid(moved_id)}
    assert {event["status"] for event in events.values()} == {"CANCELLED"}
    assert events[_uid(moved_id)]["start"] == moved_start
    db.session.expire_all()
    seats = db.session.scalars(
        select(SessionObserver).where(SessionObserver.apprentice_id == tom.id)
    ).all()
    assert len(seats) == 2 and all(seat.cancelled_at is not None for seat in seats)
    context.close()

    # Amara heard of the booking, the move and the cancellation, on the site and by mail.
    notices = db.session.scalars(
        select(Notification).where(Notification.person_id == master.id).order_by(Notification.id)
    ).all()
    texts = [notice.text for notice in notices]
    assert len(texts) == 3, texts
    assert texts[0].startswith("Tom Apprentice booked a seat on video in your session on")
    assert texts[1].startswith("Tom Apprentice moved their seat from")
    assert texts[2].startswith("Tom Apprentice cancelled their seat in your session on")
    assert all(notice.read_at is None and notice.mail_subject for notice in notices)
    context, page = new_page(chromium)
    log_in(page, live_server, master)
    expect(menu(page).get_by_label("3 unread")).to_have_text("3")
    context.close()


def test_a_master_opens_a_session_an_apprentice_joins_and_the_master_cancels(
    chromium, live_server, office
):
    master, priya = office["master"], office["apprentices"][1]
    services.save_notice_hours(0)  # as above: safe on the last day of a month
    month = Month.parse(next_month())
    day = date(month.first_day.year, month.first_day.month, 10)
    starts_at = datetime.combine(day, clock(18), LONDON).astimezone(UTC)
    when = _when_text(starts_at, starts_at + timedelta(hours=1), LONDON)
    amara_context, amara = new_page(chromium)
    priya_context, apprentice = new_page(chromium)

    # Amara opens a video session at 18:00 on the 10th of next month, with two seats.
    log_in(amara, live_server, master)
    menu(amara).get_by_role("link", name="Sessions").click()
    amara.wait_for_url(re.compile(r"/sessions$"))
    sessions_nav(amara).get_by_role("link", name="Open a session").click()
    amara.wait_for_url(re.compile(r"/sessions/open$"))
    amara.get_by_label("Day").fill(day.isoformat())
    amara.get_by_label("Starts at").select_option(label="18:00")
    amara.get_by_label("Length").select_option(label="1 hour")
    amara.get_by_label("Where").select_option(label="On video")
    amara.get_by_label("Seats").fill("2")
    amara.get_by_role("button", name="Open session").click()
    amara.wait_for_url(re.compile(r"/sessions/\d+$"))
    session_id = int(amara.url.rsplit("/", 1)[1])
    expect(
        amara.get_by_text("Session opened: apprentices who can learn from you can now join it.")
    ).to_be_visible()
    expect(amara.locator("h1")).to_have_text("You host")
    expect(_figure(amara, "When")).to_have_text(when)
    expect(_figure(amara, "Where")).to_have_text("On video")
    expect(_figure(amara, "Seats taken")).to_have_text("0 of 2")
    expect(_figure(amara, "Micro skill")).to_have_text("Negotiation: Anchoring")
    expect(amara.get_by_text("Nobody has joined yet.")).to_be_visible()
    db.session.expire_all()
    session = db.session.get(ShadowingSession, session_id)
    assert (session.starts_at, session.seats, session.opened_by_master) == (starts_at, 2, True)

    # Priya finds it under "Open sessions to join" and joins.
    log_in(apprentice, live_server, priya)
    menu(apprentice).get_by_role("link", name="Sessions").click()
    sessions_nav(apprentice).get_by_role("link", name="Book a session").click()
    apprentice.wait_for_url(re.compile(r"/book$"))
    open_sessions = apprentice.locator(
        "section.card", has=apprentice.get_by_role("heading", name="Open sessions to join")
    )
    offer = open_sessions.locator("li", has_text="Amara Master")
    expect(offer).to_have_count(1)
    expect(offer).to_contain_text(f"{starts_at.astimezone(LONDON):%a %d %b, %H:%M}–")
    expect(offer).to_contain_text("On video · 2 seats left")
    offer.get_by_role("button", name="Join").click()
    apprentice.wait_for_url(re.compile(rf"/sessions/{session_id}$"))
    expect(apprentice.get_by_text("You have a seat in Amara Master's session.")).to_be_visible()
    expect(apprentice.locator("h1")).to_have_text("Shadowing Amara Master")
    expect(_figure(apprentice, "Seats taken")).to_have_text("1 of 2")

    # Amara's page lists Priya as an observer.
    amara.reload()
    observers = amara.locator("section.card", has=amara.get_by_role("heading", name="Observers"))
    expect(observers.get_by_role("link", name="Priya Apprentice")).to_be_visible()
    expect(_figure(amara, "Seats taken")).to_have_text("1 of 2")

    # Amara cancels the session, agreeing to the question first.
    asked = []
    amara.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    amara.get_by_role("button", name="Cancel the session").click()
    amara.wait_for_url(re.compile(r"/sessions$"))
    assert asked == ["Cancel this session? Every observer's seat is freed and they are told."]
    expect(amara.get_by_text("Session cancelled; 1 observer was told.")).to_be_visible()
    expect(amara.locator("li.session-item")).to_have_count(0)
    amara_context.close()

    # Priya is told, on her notifications page.
    apprentice.goto(live_server + "/dashboard")
    expect(menu(apprentice).get_by_label("2 unread")).to_have_text("2")  # joined; cancelled
    menu(apprentice).get_by_role("link", name=re.compile("^Notifications")).click()
    apprentice.wait_for_url(re.compile(r"/notifications$"))
    local = starts_at.astimezone(LONDON)
    notice = f"Amara Master cancelled the session on {local:%a %d %b %H:%M %Z}; your seat is freed."
    expect(apprentice.get_by_role("link", name=notice)).to_have_count(1)
    apprentice.goto(live_server + "/book")
    expect(open_sessions).to_contain_text("No open sessions right now.")
    priya_context.close()
    db.session.expire_all()
    session = db.session.get(ShadowingSession, session_id)
    assert session.cancelled_at is not None
    assert all(seat.cancelled_at is not None for seat in session.observers)


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_booking_pages_are_accessible_and_fit_a_phone(chromium, live_server, office, viewport):
    """Axe finds no serious faults and nothing scrolls sideways on a phone, with sessions to
    show."""
    master, (tom, priya, _) = office["master"], office["apprentices"]
    admin = make_admin("Morgan Admin", site=office["site"])
    tom.timezone = "Asia/Kolkata"
    db.session.commit()
    slot = first_open_slot(master, tom)
    seat = services.book(
        tom, master, slot.starts_at, slot.starts_at + timedelta(hours=2), SessionMode.VIRTUAL
    )
    # A session Amara opened, which Priya joined and Tom may still join.
    month = Month.parse(next_month())
    opened_at = datetime.combine(
        date(month.first_day.year, month.first_day.month, 12), clock(18), LONDON
    )
    opened = services.open_session(
        master,
        opened_at.astimezone(UTC),
        opened_at.astimezone(UTC) + timedelta(hours=1),
        SessionMode.VIRTUAL,
        3,
        office["skill"].id,
        "A client call; join muted.",
    )
    services.join(priya, opened)
    month_view = f"/sessions?view=month&month={month}"

    problems = page_problems(
        chromium,
        live_server,
        tom,
        [
            "/book",
            f"/book/{master.id}?month={month}",
            f"/sessions/{seat.session_id}",
            f"/sessions/{seat.session_id}/move?month={month}",
            "/sessions",
            "/sessions?view=month",
            month_view,
            "/calendar",
        ],
        viewport,
    )
    problems += page_problems(
        chromium,
        live_server,
        master,
        [
            "/sessions/open",
            f"/sessions/{opened.id}",
            f"/sessions/{seat.session_id}",
            "/sessions",
            month_view,
        ],
        viewport,
    )
    problems += page_problems(chromium, live_server, admin, ["/admin/booking"], viewport)
    assert problems == []
