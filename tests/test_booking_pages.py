"""Booking through the pages: what people see in their own zone, and clear refusals."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions
from mentor_match.extensions import db
from mentor_match.models import (
    BookingSettings,
    Notification,
    SessionMode,
    SessionObserver,
    ShadowingSession,
)

from .conftest import log_in
from .database import count
from .factories import first_open_slot, make_admin, make_apprentice, next_month


def test_the_book_page_lists_masters_and_their_times_in_my_zone(login, office):
    tom = office["apprentices"][0]
    tom.timezone = "Asia/Kolkata"
    db.session.commit()
    client = login(tom)
    assert "Amara Master" in client.get("/book").get_data(as_text=True)
    page = client.get(f"/book/{office['master'].id}?month={next_month()}").get_data(as_text=True)
    slot = first_open_slot(office["master"], tom)
    local = slot.starts_at.astimezone(tom.zone)
    assert f"{local:%H:%M}" in page and local.minute == 30  # London 09:00 is 14:30 in Kolkata
    assert "Room: 1 seat" in page and "Video: 2 seats" in page


def test_booking_through_the_page_and_seeing_the_session(login, office):
    tom = office["apprentices"][0]
    slot = first_open_slot(office["master"], tom)
    client = login(tom)
    response = client.post(
        f"/book/{office['master'].id}?month={next_month()}",
        data={"starts_at": slot.starts_at.isoformat(), "hours": 2, "mode": "virtual"},
    )
    assert response.status_code == 302
    seat = db.session.scalars(select(SessionObserver)).one()
    assert seat.ends_at - seat.starts_at == timedelta(hours=2)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Shadowing Amara Master" in page and "https://meet.jit.si/mentor-match-" in page
    assert "calendar.ics" in page
    confirmation = db.session.scalars(
        select(Notification).where(Notification.person_id == tom.id)
    ).one()
    assert (
        seat.session.video_room in confirmation.mail_body
        and "calendar.ics" in confirmation.mail_body
    )
    assert "Amara Master" in client.get("/sessions").get_data(as_text=True)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert "Your next sessions" in dashboard and "You observe Amara Master" in dashboard
    month_page = client.get(f"/sessions?view=month&month={next_month()}").get_data(as_text=True)
    assert f"{slot.starts_at.astimezone(tom.zone):%H:%M} Amara Master" in month_page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"starts_at": "not a time", "hours": 1, "mode": "virtual"},
            "Choose one of the times offered",
        ),
        ({"hours": 1, "mode": "virtual"}, "Choose a time"),
        (
            {"starts_at": "2020-01-01T09:00:00+00:00", "hours": 1, "mode": "virtual"},
            "at least an hour from now",
        ),
        ({"starts_at": "SLOT", "hours": 9, "mode": "virtual"}, "Not a valid choice"),
        ({"starts_at": "SLOT", "hours": 1, "mode": "teleport"}, "Not a valid choice"),
    ],
)
def test_bad_bookings_are_refused_clearly_and_change_nothing(login, office, data, message):
    tom = office["apprentices"][0]
    if data.get("starts_at") == "SLOT":
        data = data | {"starts_at": first_open_slot(office["master"], tom).starts_at.isoformat()}
    response = login(tom).post(f"/book/{office['master'].id}", data=data)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(SessionObserver) == 0 and count(ShadowingSession) == 0


def test_an_apprentice_who_cannot_learn_from_a_master_is_told_why(login, office):
    outsider = make_apprentice("Outsider")
    response = login(outsider).get(f"/book/{office['master'].id}")
    assert response.status_code == 200
    assert "does not host a micro skill you are developing" in response.get_data(as_text=True)


def test_cancel_from_the_session_page(login, office):
    tom = office["apprentices"][0]
    slot = first_open_slot(office["master"], tom)
    seat = actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    client = login(tom)
    client.post(f"/sessions/{seat.session_id}/cancel")
    db.session.refresh(seat)
    assert seat.cancelled_at is not None


def test_other_people_cannot_see_or_cancel_a_session(login, office):
    tom, priya, _ = office["apprentices"]
    slot = first_open_slot(office["master"], tom)
    seat = actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    client = login(priya)
    assert client.get(f"/sessions/{seat.session_id}").status_code == 404
    assert client.post(f"/sessions/{seat.session_id}/cancel").status_code == 404
    db.session.refresh(seat)
    assert seat.cancelled_at is None


def test_an_observer_who_gave_up_their_seat_sees_neither_the_page_nor_its_calendar(
    app, login, office
):
    tom, priya, _ = office["apprentices"]
    slot = first_open_slot(office["master"], tom)
    seat = actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    actions.book(priya, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    client = login(tom)
    client.post(f"/sessions/{seat.session_id}/cancel")
    db.session.refresh(seat)
    assert seat.cancelled_at is not None and seat.session.cancelled_at is None  # Priya stays
    # No longer in the session: its page (with the video call) and its .ics agree.
    assert client.get(f"/sessions/{seat.session_id}").status_code == 404
    assert client.get(f"/sessions/{seat.session_id}/calendar.ics").status_code == 404
    assert client.post(f"/sessions/{seat.session_id}/cancel").status_code == 404
    for still_in in (priya, office["master"]):
        other = app.test_client()
        log_in(other, still_in)
        assert other.get(f"/sessions/{seat.session_id}").status_code == 200


def test_moving_a_seat_through_the_page(login, office):
    tom = office["apprentices"][0]
    first, second = (
        first_open_slot(office["master"], tom, 0),
        first_open_slot(office["master"], tom, 1),
    )
    seat = actions.book(tom, office["master"], first.starts_at, first.ends_at, SessionMode.VIRTUAL)
    client = login(tom)
    page = client.get(f"/sessions/{seat.session_id}/move?month={next_month()}").get_data(
        as_text=True
    )
    assert "Move here" in page
    response = client.post(
        f"/sessions/{seat.session_id}/move?month={next_month()}",
        data={"starts_at": second.starts_at.isoformat(), "hours": 1, "mode": "in_person"},
    )
    assert response.status_code == 302
    live = db.session.scalars(
        select(SessionObserver).where(SessionObserver.cancelled_at.is_(None))
    ).one()
    assert live.starts_at == second.starts_at and live.session.mode is SessionMode.IN_PERSON


def test_a_master_opens_a_session_in_their_own_time(login, office):
    master = office["master"]
    master.timezone = "America/New_York"
    db.session.commit()
    day = Month.parse(next_month()).first_day + timedelta(days=10)
    response = login(master).post(
        "/sessions/open",
        data={
            "day": day.isoformat(),
            "start": 14 * 4 + 2,
            "hours": 2,
            "mode": "virtual",
            "seats": 4,
            "micro_skill_id": office["skill"].id,
            "note": "Supplier call",
        },
    )
    assert response.status_code == 302
    session = db.session.scalars(select(ShadowingSession)).one()
    assert session.starts_at.astimezone(master.zone).time() == time(14, 30)
    assert session.opened_by_master and session.seats == 4


def test_opening_a_session_at_a_time_the_clocks_skip_is_refused(login, office):
    master = office["master"]
    master.timezone = "Europe/London"
    db.session.commit()
    response = login(master).post(
        "/sessions/open",
        data={
            "day": date(2027, 3, 28).isoformat(),
            "start": 1 * 4 + 2,
            "hours": 1,
            "mode": "virtual",
            "seats": 2,
            "micro_skill_id": office["skill"].id,
            "note": "",
        },
        follow_redirects=True,
    )
    assert "01:30 does not exist on 28 Mar 2027" in response.get_data(as_text=True)
    assert count(ShadowingSession) == 0


def test_a_master_moves_a_session_through_the_page(login, office):
    tom = office["apprentices"][0]
    slot = first_open_slot(office["master"], tom)
    seat = actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    later = slot.starts_at.astimezone(office["master"].zone) + timedelta(hours=3)
    response = login(office["master"]).post(
        f"/sessions/{seat.session_id}/move",
        data={"day": later.date().isoformat(), "start": later.hour * 4, "hours": 1},
    )
    assert response.status_code == 302
    db.session.refresh(seat)
    assert seat.starts_at == later.astimezone(UTC)


def test_a_master_chooses_who_may_book_them(login, office):
    master = office["master"]
    login(master).post("/sessions/open-to-bookings", data={"open": "0"})
    db.session.refresh(master)
    assert master.open_to_bookings is False


def test_the_admin_sets_the_notice_period(login, office):
    client = login(make_admin("Admin"))
    assert client.post("/admin/booking", data={"notice_hours": 999}).status_code == 200
    assert count(BookingSettings) == 0
    client.post("/admin/booking", data={"notice_hours": 48})
    assert db.session.get(BookingSettings, 1).notice_hours == 48


def test_joining_an_open_session_from_the_book_page(login, office):
    master, tom = office["master"], office["apprentices"][0]
    start = datetime.combine(
        Month.parse(next_month()).first_day + timedelta(days=12), time(18), UTC
    )
    session = actions.open_session(
        master, start, start + timedelta(hours=1), SessionMode.VIRTUAL, 2, None, ""
    )
    client = login(tom)
    assert "Open sessions to join" in client.get("/book").get_data(as_text=True)
    assert client.post(f"/sessions/{session.id}/join").status_code == 302
    assert count(SessionObserver) == 1
