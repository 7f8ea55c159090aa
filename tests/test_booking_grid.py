"""Booking on a grid that fits the people: half hours with India, quarter hours with Nepal."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions, offers
from mentor_match.booking.grid import booking_grid
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import SessionMode, SessionObserver

from .factories import next_month

LONDON, KOLKATA, KATHMANDU = (
    ZoneInfo("Europe/London"),
    ZoneInfo("Asia/Kolkata"),
    ZoneInfo("Asia/Kathmandu"),
)
DECEMBER = Month.parse("2026-12")


# The grid alone: no app --------------------------------------------------------------------


def _starts(master_zone, others, start: time, end: time, length=timedelta(hours=1)) -> list[str]:
    grid = booking_grid(master_zone, others, DECEMBER)
    day = date(2026, 12, 8)
    window = (
        datetime.combine(day, start, master_zone).astimezone(UTC),
        datetime.combine(day, end, master_zone).astimezone(UTC),
    )
    return [f"{at.astimezone(master_zone):%H:%M}" for at in grid.starts(*window, length)]


@pytest.mark.database_independent
def test_a_london_pair_starts_on_the_hour():
    assert _starts(LONDON, ["Europe/London"], time(9), time(12)) == ["09:00", "10:00", "11:00"]


@pytest.mark.database_independent
def test_a_london_master_with_a_bangalore_apprentice_starts_on_the_hour_or_half_hour():
    assert _starts(LONDON, ["Asia/Kolkata"], time(9), time(11)) == ["09:00", "09:30", "10:00"]


@pytest.mark.database_independent
def test_a_window_starting_off_the_masters_hour_offers_the_next_one():
    assert _starts(LONDON, ["Europe/London"], time(9, 15), time(12)) == ["10:00", "11:00"]
    assert _starts(LONDON, ["Asia/Kolkata"], time(9, 15), time(11)) == ["09:30", "10:00"]


@pytest.mark.database_independent
def test_a_bangalore_master_starts_on_their_own_hour_and_half_hour():
    assert _starts(KOLKATA, ["Europe/London"], time(10), time(12)) == ["10:00", "10:30", "11:00"]


@pytest.mark.database_independent
def test_nepal_gets_a_quarter_hour_grid_but_offers_the_masters_hours_and_half_hours():
    grid = booking_grid(LONDON, ["Asia/Kathmandu"], DECEMBER)
    assert grid.minutes == 15
    assert _starts(LONDON, ["Asia/Kathmandu"], time(9), time(11)) == ["09:00", "09:30", "10:00"]
    # A Kathmandu master's :00 and :30 are on the quarter-hour grid (04:15 and 04:45 UTC).
    assert _starts(KATHMANDU, ["Europe/London"], time(10), time(11, 30)) == ["10:00", "10:30"]


@pytest.mark.parametrize(
    ("others", "lengths"),
    [
        (["Europe/London"], ["1 h", "2 h", "3 h", "4 h"]),
        (["Asia/Kolkata"], ["1 h", "1 h 30", "2 h", "2 h 30", "3 h", "3 h 30", "4 h"]),
    ],
)
@pytest.mark.database_independent
def test_lengths_offered_follow_the_grid(others, lengths):
    assert [length.label for length in booking_grid(LONDON, others, DECEMBER).lengths(4)] == lengths


# Booking through the services --------------------------------------------------------------


def _first_tuesday_at(zone: ZoneInfo, at: time) -> datetime:
    month = Month.parse(next_month())
    day = next(d for d in month.days if d.weekday() == 1)
    return datetime.combine(day, at, zone).astimezone(UTC)


@pytest.fixture
def tom_in_bangalore(office):
    tom = office["apprentices"][0]
    tom.timezone = "Asia/Kolkata"
    db.session.commit()
    return tom


def test_a_bangalore_apprentice_is_offered_half_hours_of_a_london_master(office, tom_in_bangalore):
    slots = offers.open_slots(office["master"], tom_in_bangalore, Month.parse(next_month()))
    minutes = {slot.starts_at.astimezone(LONDON).minute for slot in slots}
    assert minutes == {0, 30}  # before the grid: on the London hour only


def test_a_bangalore_apprentice_books_a_half_hour_start_for_ninety_minutes(
    office, tom_in_bangalore
):
    starts_at = _first_tuesday_at(LONDON, time(10, 30))  # 16:00 in Bangalore
    seat = actions.book(
        tom_in_bangalore,
        office["master"],
        starts_at,
        starts_at + timedelta(minutes=90),
        SessionMode.VIRTUAL,
    )
    assert seat.session.hours == 1.5
    assert seat.starts_at.astimezone(KOLKATA).time() == time(16)


def test_a_start_off_the_grid_is_refused_with_the_rule(office, tom_in_bangalore):
    off = _first_tuesday_at(LONDON, time(10, 15))
    with pytest.raises(Refusal, match="start on the hour or half hour and last whole half hours"):
        actions.book(
            tom_in_bangalore, office["master"], off, off + timedelta(hours=1), SessionMode.VIRTUAL
        )
    on = _first_tuesday_at(LONDON, time(10))
    with pytest.raises(Refusal, match="whole half hours"):
        actions.book(
            tom_in_bangalore, office["master"], on, on + timedelta(minutes=75), SessionMode.VIRTUAL
        )
    assert db.session.scalars(select(SessionObserver)).first() is None


def test_a_london_pair_keeps_the_hour(office):
    tom = office["apprentices"][0]
    half = _first_tuesday_at(LONDON, time(10, 30))
    with pytest.raises(Refusal, match="start on the hour and last whole hours"):
        actions.book(tom, office["master"], half, half + timedelta(hours=1), SessionMode.VIRTUAL)
    quarter = _first_tuesday_at(LONDON, time(10, 15))  # accepted before grids fitted people
    with pytest.raises(Refusal, match="start on the hour"):
        actions.book(
            tom, office["master"], quarter, quarter + timedelta(hours=1), SessionMode.VIRTUAL
        )


def test_a_nepal_apprentice_may_book_a_quarter_hour_start(office):
    tom = office["apprentices"][0]
    tom.timezone = "Asia/Kathmandu"
    db.session.commit()
    starts_at = _first_tuesday_at(LONDON, time(10, 15))  # 16:00 in Kathmandu
    seat = actions.book(
        tom, office["master"], starts_at, starts_at + timedelta(minutes=75), SessionMode.VIRTUAL
    )
    assert seat.starts_at.astimezone(KATHMANDU).time() == time(16)


def test_joining_a_session_keeps_its_time_whatever_the_grid(office, tom_in_bangalore):
    """A London apprentice joins the 10:30 session a Bangalore apprentice booked."""
    starts_at = _first_tuesday_at(LONDON, time(10, 30))
    first = actions.book(
        tom_in_bangalore,
        office["master"],
        starts_at,
        starts_at + timedelta(hours=1),
        SessionMode.VIRTUAL,
    )
    priya = office["apprentices"][1]
    second = actions.book(
        priya, office["master"], starts_at, starts_at + timedelta(hours=1), SessionMode.VIRTUAL
    )
    assert second.session_id == first.session_id


def test_a_session_must_lie_in_the_masters_windows_to_its_last_minute(office, tom_in_bangalore):
    late = _first_tuesday_at(LONDON, time(16))  # the master is free until 17:00
    with pytest.raises(Refusal, match="is not available"):
        actions.book(
            tom_in_bangalore,
            office["master"],
            late,
            late + timedelta(minutes=90),
            SessionMode.VIRTUAL,
        )


# Booking through the page ------------------------------------------------------------------


def test_the_page_offers_half_hours_and_books_ninety_minutes(login, office, tom_in_bangalore):
    client = login(tom_in_bangalore)
    page = client.get(f"/book/{office['master'].id}?month={next_month()}").get_data(as_text=True)
    assert '<option value="1.5">1 h 30</option>' in page
    assert "for Amara Master)" in page  # the master's own time beside the apprentice's
    starts_at = _first_tuesday_at(LONDON, time(9, 30))
    assert f'value="{starts_at.isoformat()}"' in page
    response = client.post(
        f"/book/{office['master'].id}",
        data={"starts_at": starts_at.isoformat(), "hours": "1.5", "mode": "virtual"},
    )
    assert response.status_code == 302
    seat = db.session.scalars(select(SessionObserver)).one()
    assert seat.ends_at - seat.starts_at == timedelta(minutes=90)


def test_the_page_refuses_an_off_grid_time_with_the_rule(login, office):
    tom = office["apprentices"][0]
    starts_at = _first_tuesday_at(LONDON, time(9, 30))
    page = login(tom).post(
        f"/book/{office['master'].id}",
        data={"starts_at": starts_at.isoformat(), "hours": "1", "mode": "virtual"},
        follow_redirects=True,
    )
    assert "Sessions with Amara Master start on the hour and last whole hours" in page.get_data(
        as_text=True
    )


def test_a_master_moving_a_ninety_minute_session_keeps_its_length(login, office, tom_in_bangalore):
    starts_at = _first_tuesday_at(LONDON, time(10, 30))
    seat = actions.book(
        tom_in_bangalore,
        office["master"],
        starts_at,
        starts_at + timedelta(minutes=90),
        SessionMode.VIRTUAL,
    )
    client = login(office["master"])
    page = client.get(f"/sessions/{seat.session_id}/move").get_data(as_text=True)
    assert '<option selected value="1.5">1 h 30</option>' in page
    later = starts_at.astimezone(LONDON) + timedelta(hours=3)
    response = client.post(
        f"/sessions/{seat.session_id}/move",
        data={
            "day": later.date().isoformat(),
            "start": later.hour * 4 + later.minute // 15,
            "hours": "1.5",
        },
    )
    assert response.status_code == 302
    db.session.refresh(seat)
    assert (seat.starts_at, seat.ends_at - seat.starts_at) == (
        later.astimezone(UTC),
        timedelta(minutes=90),
    )
