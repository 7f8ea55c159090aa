"""What the booking page offers (issue 24): lengths that fit each start, the micro skill asked
for when the pair shares more than one, no month already over, and the seat's own time marked
on the move page."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from sqlalchemy import select

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import SessionMode, SessionObserver, ShadowingSession

from .database import count
from .factories import first_open_slot, give_skill, make_micro_skill, next_month


def _slot_block(page: str, starts_at: datetime) -> str:
    """The HTML of the one slot on the page starting at that instant."""
    (block,) = [
        part
        for part in page.split('<li class="slot')[1:]
        if f'name="starts_at" value="{starts_at.isoformat()}"' in part
    ]
    return block


def _lengths(block: str) -> list[str]:
    return re.findall(r'<option value="([^"]+)">', block)


def test_each_start_offers_only_the_lengths_that_fit_the_masters_free_time(login, office):
    # The master is free 09:00-17:00 in London on weekdays: 16:00 leaves one hour.
    tom = office["apprentices"][0]
    first = first_open_slot(office["master"], tom)
    page = (
        login(tom).get(f"/book/{office['master'].id}?month={next_month()}").get_data(as_text=True)
    )
    day = first.starts_at.astimezone(office["master"].zone)
    at = {hour: day.replace(hour=hour).astimezone(UTC) for hour in (9, 14, 16)}
    assert _lengths(_slot_block(page, at[9])) == ["1", "2", "3", "4"]
    assert _lengths(_slot_block(page, at[14])) == ["1", "2", "3"]
    assert _lengths(_slot_block(page, at[16])) == ["1"]


def test_the_page_asks_which_micro_skill_when_the_pair_shares_more_than_one(login, office):
    tom, master = office["apprentices"][0], office["master"]
    framing = make_micro_skill("Framing", area=office["skill"].area)
    give_skill(master, framing, "master", hosts=True)
    give_skill(tom, framing, "apprentice", develops=True)
    client = login(tom)
    url = f"/book/{master.id}?month={next_month()}"

    page = client.get(url).get_data(as_text=True)
    assert "Which micro skill is this session for?" in page
    assert 'name="starts_at"' not in page  # no time to book before the micro skill is chosen

    page = client.get(f"{url}&skill={framing.id}").get_data(as_text=True)
    assert f'<input type="hidden" name="micro_skill_id" value="{framing.id}">' in page
    slot = first_open_slot(master, tom)
    booking = {"starts_at": slot.starts_at.isoformat(), "hours": 1, "mode": "virtual"}

    response = client.post(url, data=booking)
    assert "Choose which micro skill the session is for." in unescape(
        response.get_data(as_text=True)
    )
    assert count(ShadowingSession) == 0

    response = client.post(url, data=booking | {"micro_skill_id": framing.id})
    assert response.status_code == 302
    assert db.session.scalars(select(ShadowingSession)).one().micro_skill_id == framing.id


def test_a_micro_skill_the_master_cannot_show_is_refused(office):
    tom, master = office["apprentices"][0], office["master"]
    other = make_micro_skill("Closing")
    slot = first_open_slot(master, tom)
    with pytest.raises(Refusal) as refusal:
        actions.book(tom, master, slot.starts_at, slot.ends_at, SessionMode.VIRTUAL, other.id)
    assert str(refusal.value) == "Choose one of the micro skills Amara Master can show you."
    assert count(ShadowingSession) == 0


def test_months_already_over_are_not_offered(login, office):
    tom = office["apprentices"][0]
    this_month = Month.containing(datetime.now(UTC).astimezone(tom.zone).date())
    client = login(tom)
    page = client.get(f"/book/{office['master'].id}?month={this_month}").get_data(as_text=True)
    assert f"← {this_month.previous.label}" not in page
    assert f"{this_month.next.label} →" in page
    page = client.get(f"/book/{office['master'].id}?month=2020-01").get_data(as_text=True)
    assert f"<strong>{this_month.label}</strong>" in page and "January 2020" not in page


def test_the_move_page_marks_the_seats_current_time(login, office):
    tom = office["apprentices"][0]
    first = first_open_slot(office["master"], tom)
    seat = actions.book(tom, office["master"], first.starts_at, first.ends_at, SessionMode.VIRTUAL)
    page = (
        login(tom)
        .get(f"/sessions/{seat.session_id}/move?month={next_month()}")
        .get_data(as_text=True)
    )
    assert page.count("Your seat now</strong>") == 1
    assert "Your seat now</strong>" in _slot_block(page, first.starts_at)
    assert "Your seat now</strong>" not in _slot_block(page, first.starts_at + timedelta(hours=1))
    assert count(SessionObserver) == 1
    # Without a month asked for, the page opens on the seat's own month.
    page = login(tom).get(f"/sessions/{seat.session_id}/move").get_data(as_text=True)
    assert f"<strong>{Month.parse(next_month()).label}</strong>" in page
    assert "Your seat now</strong>" in _slot_block(page, first.starts_at)


def test_a_moved_seat_keeps_the_micro_skill_it_was_booked_for(office):
    tom, master = office["apprentices"][0], office["master"]
    framing = make_micro_skill("Framing", area=office["skill"].area)
    give_skill(master, framing, "master", hosts=True)
    give_skill(tom, framing, "apprentice", develops=True)
    first, later = first_open_slot(master, tom, 0), first_open_slot(master, tom, 1)
    seat = actions.book(
        tom, master, first.starts_at, first.ends_at, SessionMode.VIRTUAL, framing.id
    )
    moved = actions.reschedule_seat(tom, seat, later.starts_at, later.ends_at, SessionMode.VIRTUAL)
    assert moved.session.micro_skill_id == framing.id
