"""The month plan page: numbers asked for before they are confirmed, and a cut below what is
booked shown, session by session, before it is saved (issue 24)."""

from datetime import UTC, datetime, timedelta
from html import unescape

from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import MonthPlan, SessionMode, SessionObserver, ShadowingSession

from .factories import (
    make_apprentice,
    make_master,
    make_month_plan,
    make_round,
    make_site,
    next_month,
)

MONTH = next_month()
NUMBERS = {"max_hosting_hours": "8", "max_apprentices": "3", "in_person_seats": "1"}


def _book(master, apprentices, day: int, hour: int, mode=SessionMode.VIRTUAL, hours: int = 2):
    """A session of the master's in MONTH with a seat for each apprentice (times in UTC)."""
    year, number = map(int, MONTH.split("-"))
    start = datetime(year, number, day, hour, tzinfo=UTC)
    session = ShadowingSession(
        master_id=master.id,
        starts_at=start,
        ends_at=start + timedelta(hours=hours),
        mode=mode,
        seats=len(apprentices),
    )
    db.session.add(session)
    db.session.flush()
    for apprentice in apprentices:
        db.session.add(
            SessionObserver(
                session_id=session.id,
                apprentice_id=apprentice.id,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
            )
        )
    db.session.commit()
    return session


def test_a_newcomer_saves_numbers_before_the_round_asks_to_confirm(login):
    make_round()
    newcomer = make_apprentice("Newcomer")
    client = login(newcomer)
    page = client.get(f"/availability/plan?month={MONTH}").get_data(as_text=True)
    assert "Confirm for" not in page
    assert "To be included, save your numbers above, then confirm here by" in page
    client.post(
        f"/availability/plan?month={MONTH}", data={"observation_hours": "6", "max_masters": "2"}
    )
    page = client.get(f"/availability/plan?month={MONTH}").get_data(as_text=True)
    # The button comes after the plan it confirms.
    assert page.index("Save plan for") < page.index("Confirm for")


def test_a_cut_below_booked_sessions_is_shown_before_it_is_saved(login):
    site = make_site("Paris office", "Europe/Paris")
    master = make_master("Amara Master", site=site, timezone="Europe/Paris")
    tom, priya = make_apprentice("Tom Apprentice"), make_apprentice("Priya Apprentice")
    make_month_plan(master, MONTH, max_hosting_hours=10, virtual_seats=4)
    _book(master, [tom, priya], day=10, hour=8)
    _book(master, [tom], day=17, hour=8)
    client = login(master)
    url = f"/availability/plan?month={MONTH}"

    response = client.post(url, data=NUMBERS | {"max_hosting_hours": "3", "virtual_seats": "1"})
    page = unescape(response.get_data(as_text=True))
    assert "Not saved yet: sessions already booked go beyond these numbers" in page
    assert "You host 4 hours in" in page and "the plan says 3 hours at most." in page
    # Said in the master's zone: 08:00 UTC is 09:00 in a Paris winter, 10:00 in summer.
    start = datetime(*map(int, MONTH.split("-")), 17, 8, tzinfo=UTC).astimezone(master.zone)
    end = start + timedelta(hours=2)
    said = f"{start:%a %d %b %Y, %H:%M}–{end:%H:%M %Z}</a> with Tom Apprentice"
    assert said in page
    assert "with Priya Apprentice, Tom Apprentice" in page  # the 10th: two seats on video, 1 left
    plan = db.session.scalar(select(MonthPlan))
    assert (plan.max_hosting_hours, plan.virtual_seats) == (10, 4)

    key = page.split('name="accept_cut" value="')[1].split('"')[0]
    # Confirming other numbers than those warned about warns again.
    client.post(
        url, data=NUMBERS | {"max_hosting_hours": "2", "virtual_seats": "1", "accept_cut": key}
    )
    db.session.expire_all()
    assert db.session.scalar(select(MonthPlan.max_hosting_hours)) == 10
    response = client.post(
        url, data=NUMBERS | {"max_hosting_hours": "3", "virtual_seats": "1", "accept_cut": key}
    )
    assert response.status_code == 302
    db.session.expire_all()
    plan = db.session.scalar(select(MonthPlan))
    assert (plan.max_hosting_hours, plan.virtual_seats) == (3, 1)


def test_a_plan_that_still_fits_the_bookings_saves_at_once(login):
    master = make_master("Amara Master", site=make_site("London office"))
    make_month_plan(master, MONTH, max_hosting_hours=10, virtual_seats=4)
    _book(master, [make_apprentice("Tom Apprentice")], day=10, hour=8)
    response = login(master).post(
        f"/availability/plan?month={MONTH}", data=NUMBERS | {"virtual_seats": "1"}
    )
    assert response.status_code == 302


def test_an_apprentice_cutting_hours_sees_the_masters_of_the_sessions(login):
    apprentice = make_apprentice("Tom Apprentice")
    amara, ben = make_master("Amara Master"), make_master("Ben Master")
    _book(amara, [apprentice], day=10, hour=8)
    _book(ben, [apprentice], day=12, hour=8)
    response = login(apprentice).post(
        f"/availability/plan?month={MONTH}", data={"observation_hours": "4", "max_masters": "1"}
    )
    page = unescape(response.get_data(as_text=True))
    assert "You observe 2 masters in" in page and "the plan says 1 at most." in page
    assert page.count("</a> with Ben Master") == 1
    assert "with Amara Master" not in page
    assert db.session.scalar(select(MonthPlan)) is None
