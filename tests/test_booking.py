"""Booking rules: who may book whom, seats, limits, one place at a time, cancel and move."""

from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions, offers, rules
from mentor_match.calendars.services import session_event
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    Notification,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    utcnow,
)

from .database import count
from .factories import (
    first_open_slot,
    give_skill,
    make_apprentice,
    make_area,
    make_master,
    make_weekly_window,
    next_month,
)


def test_masters_open_to_bookings_who_teach_above_your_stage_are_offered(office):
    tom = office["apprentices"][0]
    closed = make_master("Closed Master")
    give_skill(closed, office["skill"], "master", hosts=True)
    peer = make_master("Peer Journeyman", open_to_bookings=True)
    give_skill(peer, office["skill"], "apprentice", hosts=True)  # not above Tom's stage
    names = [choice.master.name for choice in offers.bookable_masters(tom)]
    assert names == ["Amara Master"]
    with pytest.raises(Refusal, match="only from apprentices they are paired with"):
        slot = first_open_slot(office["master"], tom)
        actions.book(tom, closed, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)


def test_slots_offer_the_room_only_to_people_at_the_masters_site(office):
    remote = make_apprentice("Remote Apprentice")
    give_skill(remote, office["skill"], "apprentice", develops=True)
    here = first_open_slot(office["master"], office["apprentices"][0])
    there = first_open_slot(office["master"], remote)
    assert (here.room_seats, here.video_seats) == (1, 2)
    assert (there.room_seats, there.video_seats) == (None, 2)
    with pytest.raises(Refusal, match="Seats in the room are for people at Booking HQ"):
        actions.book(
            remote, office["master"], there.starts_at, there.ends_at, SessionMode.IN_PERSON
        )


def test_booking_makes_a_session_and_the_next_apprentice_joins_it(office):
    tom, priya, lena = office["apprentices"]
    slot = first_open_slot(office["master"], tom)
    seat = actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    assert seat.session.mode is SessionMode.VIRTUAL and seat.session.seats == 2
    second = actions.book(
        priya, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL
    )
    assert second.session_id == seat.session_id
    with pytest.raises(Refusal, match="That seat was just taken"):
        actions.book(lena, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    assert count(SessionObserver) == 2
    # The master hears of each booking, on the site and by mail.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.person_id == office["master"].id)
        )
        == 2
    )
    remaining = {
        s.starts_at: s for s in offers.open_slots(office["master"], lena, Month.parse(next_month()))
    }
    assert remaining[slot.starts_at].video_seats == 0


def test_the_room_and_video_have_their_own_seats(office):
    tom, priya, _ = office["apprentices"]
    slot = first_open_slot(office["master"], tom)
    actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.IN_PERSON)
    with pytest.raises(Refusal, match="That seat was just taken"):
        actions.book(priya, office["master"], slot.starts_at, slot.ends_at, SessionMode.IN_PERSON)
    actions.book(priya, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)


def test_monthly_hours_are_a_limit_with_a_clear_message(office):
    tom = office["apprentices"][0]
    month = Month.parse(next_month())
    for offset in range(3):
        slot = first_open_slot(office["master"], tom, offset)
        actions.book(
            tom,
            office["master"],
            slot.starts_at,
            slot.starts_at + timedelta(hours=2),
            SessionMode.VIRTUAL,
        )
    slot = first_open_slot(office["master"], tom, 3)
    with pytest.raises(Refusal, match=f"past your 6 hours for {month.label}"):
        actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    assert count(SessionObserver) == 3


def test_a_full_month_is_the_answer_whatever_the_time_chosen(office):
    """With the month's hours used up, no other time will do: that is what the refusal says,
    even for a time the apprentice is busy at, rather than sending them to pick another time."""
    tom = office["apprentices"][0]
    month = Month.parse(next_month())
    booked = []
    for offset in range(3):
        slot = first_open_slot(office["master"], tom, offset)
        booked.append(slot)
        actions.book(
            tom,
            office["master"],
            slot.starts_at,
            slot.starts_at + timedelta(hours=2),
            SessionMode.VIRTUAL,
        )
    with pytest.raises(Refusal, match=f"past your 6 hours for {month.label}"):
        actions.book(
            tom, office["master"], booked[0].starts_at, booked[0].ends_at, SessionMode.VIRTUAL
        )
    assert count(SessionObserver) == 3


def test_a_masters_hosting_hours_are_a_limit(office):
    master = office["master"]
    tom, priya, lena = office["apprentices"]
    for person, offset in ((tom, 0), (priya, 1)):
        slot = first_open_slot(master, person, offset)
        actions.book(
            person, master, slot.starts_at, slot.starts_at + timedelta(hours=4), SessionMode.VIRTUAL
        )
    slot = first_open_slot(master, lena, 2)
    with pytest.raises(Refusal, match="past their 10 hosting hours"):
        actions.book(
            lena, master, slot.starts_at, slot.starts_at + timedelta(hours=3), SessionMode.VIRTUAL
        )
    # Joining hours the master already hosts costs them nothing more.
    taken = first_open_slot(master, tom, 0)
    actions.book(
        lena, master, taken.starts_at, taken.starts_at + timedelta(hours=1), SessionMode.VIRTUAL
    )


def test_nobody_is_in_two_places_at_once(office):
    tom = office["apprentices"][0]
    other = make_master("Other Master", open_to_bookings=True)
    give_skill(other, office["skill"], "master", hosts=True)
    for weekday in range(5):
        make_weekly_window(other, weekday=weekday, start=time(9), end=time(17))
    slot = first_open_slot(office["master"], tom)
    actions.book(tom, office["master"], slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    with pytest.raises(Refusal, match="You already have a session then"):
        actions.book(tom, other, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    # A master who observes someone then cannot be booked then.
    give_skill(
        office["master"],
        make_area("Coaching", skills=("Listening",)).micro_skills[0],
        "apprentice",
        develops=True,
    )


def test_a_master_observing_elsewhere_cannot_be_booked_then(office):
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    teacher = make_master("Teacher")
    session = ShadowingSession(
        master_id=teacher.id,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        mode=SessionMode.VIRTUAL,
        seats=2,
    )
    db.session.add(session)
    db.session.flush()
    db.session.add(
        SessionObserver(
            session_id=session.id,
            apprentice_id=master.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
        )
    )
    db.session.commit()
    assert slot.starts_at not in {
        s.starts_at for s in offers.open_slots(master, tom, Month.parse(next_month()))
    }
    with pytest.raises(Refusal, match="observing another session then"):
        actions.book(tom, master, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)


def test_times_outside_the_masters_windows_are_refused(office):
    tom = office["apprentices"][0]
    slot = first_open_slot(office["master"], tom)
    evening = slot.starts_at.replace(hour=20)
    with pytest.raises(Refusal, match="is not available"):
        actions.book(
            tom, office["master"], evening, evening + timedelta(hours=1), SessionMode.VIRTUAL
        )
    with pytest.raises(Refusal, match="whole hours"):
        actions.book(
            tom,
            office["master"],
            slot.starts_at,
            slot.starts_at + timedelta(minutes=90),
            SessionMode.VIRTUAL,
        )
    past = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    with pytest.raises(Refusal, match="at least an hour from now"):
        actions.book(tom, office["master"], past, past + timedelta(hours=1), SessionMode.VIRTUAL)


def _soon_session(office, hours_ahead: int = 3) -> SessionObserver:
    start = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=hours_ahead)
    session = ShadowingSession(
        master_id=office["master"].id,
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        mode=SessionMode.VIRTUAL,
        seats=2,
    )
    db.session.add(session)
    db.session.flush()
    seat = SessionObserver(
        session_id=session.id,
        apprentice_id=office["apprentices"][0].id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
    )
    db.session.add(seat)
    db.session.commit()
    return seat


def test_cancelling_needs_the_notice_the_admin_set(office):
    seat = _soon_session(office, hours_ahead=3)
    with pytest.raises(Refusal, match="needs 24 hours' notice"):
        actions.cancel_seat(office["apprentices"][0], seat)
    rules.save_notice_hours(2)
    actions.cancel_seat(office["apprentices"][0], seat)
    db.session.refresh(seat)
    assert seat.cancelled_at is not None
    assert seat.session.cancelled_at is not None  # a booked session ends with its last seat


def test_a_master_who_cancels_frees_every_seat_and_tells_everyone(office):
    master = office["master"]
    tom, priya, _ = office["apprentices"]
    slot = first_open_slot(master, tom)
    seat = actions.book(tom, master, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    actions.book(priya, master, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL)
    assert actions.cancel_session(master, seat.session) == 2
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(SessionObserver)
            .where(SessionObserver.cancelled_at.is_(None))
        )
        == 0
    )
    told = {n.person_id for n in db.session.scalars(select(Notification)) if "cancelled" in n.text}
    assert told == {tom.id, priya.id}


def test_moving_a_seat_is_all_or_nothing(office):
    master = office["master"]
    tom, priya, _ = office["apprentices"]
    first, second = first_open_slot(master, tom, 0), first_open_slot(master, tom, 1)
    seat = actions.book(tom, master, first.starts_at, first.ends_at, SessionMode.VIRTUAL)
    actions.book(priya, master, second.starts_at, second.ends_at, SessionMode.IN_PERSON)
    with pytest.raises(Refusal, match="just taken"):
        actions.reschedule_seat(tom, seat, second.starts_at, second.ends_at, SessionMode.IN_PERSON)
    db.session.expire_all()
    assert db.session.get(SessionObserver, seat.id).cancelled_at is None
    moved = actions.reschedule_seat(
        tom,
        db.session.get(SessionObserver, seat.id),
        second.starts_at,
        second.ends_at,
        SessionMode.VIRTUAL,
    )
    assert moved.starts_at == second.starts_at
    assert db.session.get(SessionObserver, seat.id).cancelled_at is not None


def test_a_master_moves_a_session_only_to_a_time_every_observer_is_free(office):
    master = office["master"]
    tom, priya, _ = office["apprentices"]
    first, second = first_open_slot(master, tom, 0), first_open_slot(master, tom, 1)
    seat = actions.book(tom, master, first.starts_at, first.ends_at, SessionMode.VIRTUAL)
    priyas = actions.book(priya, master, first.starts_at, first.ends_at, SessionMode.VIRTUAL)
    other = make_master("Second Master", open_to_bookings=True)
    give_skill(other, office["skill"], "master", hosts=True)
    for weekday in range(5):
        make_weekly_window(other, weekday=weekday, start=time(9), end=time(17))
    actions.book(tom, other, second.starts_at, second.ends_at, SessionMode.VIRTUAL)
    with pytest.raises(Refusal, match="Tom Apprentice already has a session then"):
        actions.reschedule_session(master, seat.session, second.starts_at, second.ends_at)
    db.session.rollback()
    later = second.starts_at + timedelta(hours=3)
    actions.reschedule_session(master, seat.session, later, later + timedelta(hours=1))
    db.session.refresh(seat)
    db.session.refresh(priyas)
    assert (seat.starts_at, priyas.starts_at, seat.session.starts_at) == (later, later, later)
    # Calendars that hold the event under its UID take the move, then the cancellation,
    # as newer versions only if SEQUENCE rises each time.
    event = session_event(seat.session, tom)
    assert (event.decoded("DTSTART"), event.decoded("SEQUENCE")) == (later, 1)
    actions.cancel_session(master, seat.session)
    db.session.refresh(seat.session)
    cancelled = session_event(seat.session, tom)
    assert (str(cancelled["STATUS"]), cancelled.decoded("SEQUENCE")) == ("CANCELLED", 2)


def test_a_master_opens_a_session_and_apprentices_join_until_it_is_full(office):
    master, (tom, priya, _) = office["master"], office["apprentices"]
    start = datetime.combine(Month.parse(next_month()).first_day + timedelta(days=9), time(19), UTC)
    session = actions.open_session(
        master,
        start,
        start + timedelta(hours=1),
        SessionMode.VIRTUAL,
        1,
        office["skill"].id,
        "Evening client call",
    )
    assert session in offers.open_sessions_to_join(tom)
    actions.join(tom, session)  # outside the master's windows: they chose this time
    with pytest.raises(Refusal, match="just taken"):
        actions.join(priya, session)


def test_a_remote_master_opens_video_sessions_only(office):
    remote = make_master("Remote Master")
    give_skill(remote, office["skill"], "master", hosts=True)
    start = datetime.combine(Month.parse(next_month()).first_day + timedelta(days=9), time(10), UTC)
    with pytest.raises(Refusal, match="video only"):
        actions.open_session(
            remote, start, start + timedelta(hours=1), SessionMode.IN_PERSON, 2, None, ""
        )


def test_a_seat_can_move_into_hours_it_overlaps_now(office):
    """Moving 09:00-11:00 to 10:00-12:00: the seat's own hour is free to move into."""
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    seat = actions.book(
        tom, master, slot.starts_at, slot.starts_at + timedelta(hours=2), SessionMode.VIRTUAL
    )
    month = Month.parse(next_month())
    later = slot.starts_at + timedelta(hours=1)
    offered = {s.starts_at: s for s in offers.open_slots(master, tom, month, exclude_seat=seat.id)}
    assert offered[later].bookable and offered[later].video_seats == 2
    assert not {s.starts_at: s for s in offers.open_slots(master, tom, month)}[later].bookable
    moved = actions.reschedule_seat(
        tom, seat, later, later + timedelta(hours=2), SessionMode.VIRTUAL
    )
    assert moved.starts_at == later


def test_bookings_cancellations_and_moves_are_in_the_event_log(office):
    import json

    from mentor_match.models import Event

    master, tom = office["master"], office["apprentices"][0]
    first, second = first_open_slot(master, tom, 0), first_open_slot(master, tom, 1)
    seat = actions.book(tom, master, first.starts_at, first.ends_at, SessionMode.VIRTUAL)
    moved = actions.reschedule_seat(
        tom, seat, second.starts_at, second.ends_at, SessionMode.VIRTUAL
    )
    actions.cancel_session(master, moved.session)
    events = db.session.scalars(select(Event).order_by(Event.id)).all()
    assert [e.kind for e in events] == ["session.booked", "session.moved", "session.cancelled"]
    assert json.loads(events[1].payload_json)["starts_at"] == second.starts_at.isoformat()
    with pytest.raises(Refusal):
        actions.book(
            tom, master, first.starts_at, first.ends_at + timedelta(minutes=30), SessionMode.VIRTUAL
        )
    assert count(Event) == 3  # a refused booking leaves no event
