"""Busy times from the calendars people keep: fetched from a local server, taken out of what
the optimizer sees and what /book offers, and shown to their owner alone."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions, offers
from mentor_match.busy import services
from mentor_match.busy.services import SEALING_PURPOSE
from mentor_match.extensions import db
from mentor_match.models import (
    BusyInterval,
    CalendarFeed,
    OrganisationSettings,
    SessionMode,
    SessionObserver,
)
from mentor_match.rounds import jobs
from mentor_match.rounds.encoder import encode_round, master_ref
from mentor_match.rounds.queue import wait_for_background_jobs
from mentor_match.sealing import seal

from .busy_feeds import first_weekday, weekly_meeting
from .conftest import REDIS_URL, log_in
from .database import count
from .factories import (
    make_admin,
    make_round,
    make_small_round_organisation,
    next_month,
)
from .local_http import local_server

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def served():
    with local_server() as served:
        yield served


@pytest.fixture
def private_allowed(app):
    """The admin allows calendars on private networks, so tests serve them from 127.0.0.1."""
    services.save_private_addresses_setting(make_admin("Setting Admin"), allow=True)


@pytest.fixture
def signed_in(app):
    """signed_in(person): a client of its own, signed in as that person."""

    def sign_in(person):
        client = app.test_client()
        assert log_in(client, person).status_code == 302
        return client

    return sign_in


def _save_and_fetch(client, url: str):
    response = client.post("/availability/calendar-feed", data={"address": url})
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    wait_for_background_jobs()
    db.session.expire_all()


def _hours(windows: list[dict]) -> float:
    return (
        sum(
            (datetime.fromisoformat(w["end"]) - datetime.fromisoformat(w["start"])).total_seconds()
            for w in windows
        )
        / 3600
    )


def _weekdays(month: str, weekday: int) -> int:
    return sum(1 for day in Month.parse(month).days if day.weekday() == weekday)


def test_a_weekly_meeting_removes_exactly_those_hours_from_what_the_optimizer_sees(
    signed_in, served, private_allowed
):
    people = make_small_round_organisation()
    master = people["masters"][0]
    round_ = make_round()
    before = {m["id"]: m["availability"] for m in encode_round(round_)["masters"]}
    # Tuesdays 10:00-11:00 in London, inside the master's 09:00-12:00 window.
    served.answers["/master.ics"] = (
        200,
        {"Content-Type": "text/calendar"},
        weekly_meeting(round_.month, weekday=1, start=time(10), end=time(11)),
    )
    _save_and_fetch(signed_in(master), served.url("/master.ics"))
    feed = db.session.scalar(select(CalendarFeed))
    assert feed.error == ""

    after = {m["id"]: m["availability"] for m in encode_round(round_)["masters"]}
    tuesdays = _weekdays(round_.month, 1)
    assert _hours(before[master_ref(master.id)]) - _hours(after[master_ref(master.id)]) == tuesdays
    first = first_weekday(round_.month, 1)
    meeting = datetime.combine(first, time(10), LONDON).astimezone(UTC)
    windows_that_day = [
        (w["start"], w["end"])
        for w in after[master_ref(master.id)]
        if datetime.fromisoformat(w["start"]).date() == meeting.date()
    ]
    assert windows_that_day == [
        (_iso(meeting - timedelta(hours=1)), _iso(meeting)),
        (_iso(meeting + timedelta(hours=1)), _iso(meeting + timedelta(hours=2))),
    ]
    # The other master keeps every hour.
    other = master_ref(people["masters"][1].id)
    assert after[other] == before[other]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_book_no_longer_offers_the_masters_busy_hours(signed_in, office, served, private_allowed):
    master, tom = office["master"], office["apprentices"][0]
    month = next_month()
    served.answers["/amara.ics"] = (
        200,
        {},
        weekly_meeting(month, weekday=0, start=time(10), end=time(12)),
    )
    starts = {s.starts_at for s in offers.open_slots(master, tom, Month.parse(month))}
    _save_and_fetch(signed_in(master), served.url("/amara.ics"))

    slots = offers.open_slots(master, tom, Month.parse(month))
    local_starts = {
        (s.starts_at.astimezone(LONDON).weekday(), s.starts_at.astimezone(LONDON).time())
        for s in slots
    }
    assert (0, time(10)) not in local_starts
    assert (0, time(11)) not in local_starts
    assert (0, time(9)) in local_starts and (0, time(12)) in local_starts
    assert len(starts) - len(slots) == 2 * _weekdays(month, 0)
    # A slot before the meeting is free only until it starts.
    nine = next(
        s
        for s in slots
        if s.starts_at.astimezone(LONDON).weekday() == 0
        and s.starts_at.astimezone(LONDON).time() == time(9)
    )
    assert nine.free_until == nine.starts_at + timedelta(hours=1)

    page = signed_in(tom).get(f"/book/{master.id}?month={month}").get_data(as_text=True)
    monday = first_weekday(month, 0)
    assert (
        f'value="{datetime.combine(monday, time(9), LONDON).astimezone(UTC).isoformat()}"' in page
    )
    assert (
        f'value="{datetime.combine(monday, time(10), LONDON).astimezone(UTC).isoformat()}"'
        not in page
    )
    assert "Secret project sync" not in page and "busy in your calendar" not in page.lower()

    booked_at = datetime.combine(monday, time(10), LONDON).astimezone(UTC)
    with pytest.raises(actions.Refusal) as refused:
        actions.book(tom, master, booked_at, booked_at + timedelta(hours=1), SessionMode.IN_PERSON)
    assert str(refused.value) == (
        f"Amara Master is not available in the room at {actions.spoken_time(booked_at, master)}. "
        "Pick one of their open times."
    )


def test_the_apprentices_own_busy_time_blocks_booking_for_them(
    signed_in, office, served, private_allowed
):
    master, tom, priya = office["master"], *office["apprentices"][:2]
    month = next_month()
    served.answers["/tom.ics"] = (
        200,
        {},
        weekly_meeting(month, weekday=1, start=time(14), end=time(15)),
    )
    _save_and_fetch(signed_in(tom), served.url("/tom.ics"))

    tuesday = first_weekday(month, 1)
    two = datetime.combine(tuesday, time(14), LONDON).astimezone(UTC)
    for_tom = {s.starts_at: s for s in offers.open_slots(master, tom, Month.parse(month))}
    for_priya = {s.starts_at: s for s in offers.open_slots(master, priya, Month.parse(month))}
    assert for_tom[two].you_are_busy and not for_tom[two].bookable
    assert for_priya[two].bookable
    with pytest.raises(actions.Refusal) as refused:
        actions.book(tom, master, two, two + timedelta(hours=1), SessionMode.IN_PERSON)
    assert str(refused.value) == (
        f"Your calendar shows you busy then ({actions.spoken_time(two, tom)}). Pick another time."
    )
    assert count(SessionObserver) == 0
    actions.book(priya, master, two, two + timedelta(hours=1), SessionMode.IN_PERSON)
    assert count(SessionObserver) == 1


def test_the_feed_page_and_month_calendar_show_busy_times_to_their_owner_only(
    signed_in, office, served, private_allowed
):
    master, tom = office["master"], office["apprentices"][0]
    month = next_month()
    served.answers["/amara.ics"] = (
        200,
        {},
        weekly_meeting(month, weekday=0, start=time(10), end=time(12)),
    )
    _save_and_fetch(signed_in(master), served.url("/amara.ics"))
    client = signed_in(master)
    page = client.get("/availability/calendar-feed").get_data(as_text=True)
    assert "Calendar at <strong>127.0.0.1</strong>" in page
    feed = db.session.scalar(select(CalendarFeed))
    assert feed.event_count > 0
    calendar = client.get(f"/availability?month={month}").get_data(as_text=True)
    assert calendar.count("10:00–12:00 · Busy in your calendar") == _weekdays(month, 0)
    assert "Secret project sync" not in calendar

    # Nobody else sees them: not an apprentice, not an admin, on any page they can open.
    admin = make_admin("Curious Admin")
    for person, paths in (
        (
            tom,
            [
                "/availability/calendar-feed",
                f"/availability?month={month}",
                f"/people/{master.id}",
                f"/book/{master.id}?month={month}",
            ],
        ),
        (
            admin,
            [
                "/availability/calendar-feed",
                "/admin/calendar-addresses",
                f"/people/{master.id}",
                "/admin/people",
            ],
        ),
    ):
        other = signed_in(person)
        for path in paths:
            text = other.get(path).get_data(as_text=True)
            assert "Busy in your calendar" not in text, path
            assert "amara.ics" not in text and "Calendar at" not in text, path


def test_the_address_is_sealed_at_rest(signed_in, office, served, private_allowed):
    url = served.url("/very-secret-token-12345/basic.ics")
    served.answers["/very-secret-token-12345/basic.ics"] = (
        200,
        {},
        weekly_meeting(next_month(), weekday=0, start=time(10), end=time(11)),
    )
    _save_and_fetch(signed_in(office["master"]), url)
    feed = db.session.scalar(select(CalendarFeed))
    assert "very-secret-token" not in feed.sealed_address
    assert feed.refreshed_at is not None  # it was read back through the seal


def test_private_addresses_are_refused_unless_an_admin_allows_them(signed_in, office, served):
    served.answers["/cal.ics"] = (
        200,
        {},
        weekly_meeting(next_month(), weekday=0, start=time(10), end=time(11)),
    )
    client = signed_in(office["master"])
    _save_and_fetch(client, served.url("/cal.ics"))
    feed = db.session.scalar(select(CalendarFeed))
    assert feed.error == (
        "The address 127.0.0.1 of 127.0.0.1 is this machine itself, which this site does not reach."
    )
    assert count(BusyInterval) == 0
    assert "which this site does not reach." in client.get("/availability/calendar-feed").get_data(
        as_text=True
    )

    admin_client = signed_in(make_admin("Allowing Admin"))
    response = admin_client.post("/admin/calendar-addresses", data={"allow": "y"})
    assert response.status_code == 302
    assert db.session.get(OrganisationSettings, 1).allow_private_calendar_addresses is True
    assert services.refresh_feed(office["master"].id) == ""
    db.session.expire_all()
    assert db.session.scalar(select(CalendarFeed.error)) == ""
    # Every Monday from next month's first to the end of the window the fetch reads.
    first = datetime.combine(first_weekday(next_month(), 0), time(10), LONDON)
    _, window_end = services.window_for(office["master"], datetime.now(UTC))
    mondays = (window_end - first) // timedelta(weeks=1) + 1
    assert count(BusyInterval) == mondays


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (
            (200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>"),
            "The address did not give a calendar (an iCalendar file starts with BEGIN:VCALENDAR). "
            "Copy the calendar's private address in iCal format, not the address of its web page.",
        ),
        (
            (404, {}, b"gone"),
            "127.0.0.1 has no calendar at that address (HTTP 404). Copy the private address "
            "again from your calendar's settings.",
        ),
        (
            (
                200,
                {},
                b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            ),
            "The calendar could not be read: it is not valid iCalendar "
            "(END encountered without an accompanying BEGIN!).",
        ),
    ],
)
def test_a_feed_that_cannot_be_read_says_why_and_keeps_the_last_busy_times(
    signed_in, office, served, private_allowed, answer, message
):
    master = office["master"]
    served.answers["/cal.ics"] = (
        200,
        {},
        weekly_meeting(next_month(), weekday=0, start=time(10), end=time(11)),
    )
    _save_and_fetch(signed_in(master), served.url("/cal.ics"))
    kept = count(BusyInterval)
    assert kept > 0
    served.answers["/cal.ics"] = answer
    error = services.refresh_feed(master.id)
    assert error == message
    assert count(BusyInterval) == kept
    page = signed_in(master).get("/availability/calendar-feed").get_data(as_text=True)
    assert "failed:" in page and "still count" in page


def test_a_bad_address_is_refused_by_the_form(signed_in, office):
    client = signed_in(office["master"])
    for typed, message in (
        ("", "Paste your calendar&#39;s private address."),
        ("ftp://example.com/cal.ics", "Paste an address that starts with https://"),
        ("calendar.example.com/cal.ics", "Paste an address that starts with https://"),
    ):
        response = client.post("/availability/calendar-feed", data={"address": typed})
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
    assert count(CalendarFeed) == 0


def test_a_webcal_address_is_read_over_https(app, office):
    feed = services.save_address(office["master"], "webcal://p01-caldav.icloud.com/published/2/abc")
    assert feed.host == "p01-caldav.icloud.com"
    from mentor_match.sealing import unseal

    assert (
        unseal(feed.sealed_address, purpose=SEALING_PURPOSE)
        == "https://p01-caldav.icloud.com/published/2/abc"
    )


def test_removing_the_calendar_forgets_its_busy_times(signed_in, office, served, private_allowed):
    served.answers["/cal.ics"] = (
        200,
        {},
        weekly_meeting(next_month(), weekday=0, start=time(10), end=time(11)),
    )
    client = signed_in(office["master"])
    _save_and_fetch(client, served.url("/cal.ics"))
    assert count(BusyInterval) > 0
    response = client.post("/availability/calendar-feed/remove", follow_redirects=True)
    assert "Your calendar address and its busy times are removed." in response.get_data(
        as_text=True
    )
    assert count(BusyInterval) == 0 and count(CalendarFeed) == 0


def test_the_scheduled_job_refreshes_every_feed(office, served, private_allowed):
    month = next_month()
    master, tom = office["master"], office["apprentices"][0]
    for person, path in ((master, "/m.ics"), (tom, "/t.ics")):
        served.answers[path] = (
            200,
            {},
            weekly_meeting(month, weekday=2, start=time(9), end=time(10)),
        )
        services.save_address(person, served.url(path))
    db.session.add(
        CalendarFeed(
            person_id=office["apprentices"][1].id,
            sealed_address=seal("http://127.0.0.1:9/x", purpose=SEALING_PURPOSE),
            host="127.0.0.1",
        )
    )
    db.session.commit()
    assert jobs.refresh_calendars_job() == 3
    wait_for_background_jobs()
    db.session.expire_all()
    failing = db.session.scalars(select(CalendarFeed.person_id).where(CalendarFeed.error != ""))
    assert list(failing) == [office["apprentices"][1].id]
    people = set(db.session.scalars(select(BusyInterval.person_id)))
    assert people == {master.id, tom.id}


def test_saving_an_address_queues_the_fetch_on_rq(
    app, signed_in, office, served, private_allowed, monkeypatch, redis_connection
):
    """With Redis, the fetch is an RQ job that a worker runs: here RQ's in-process worker."""
    from rq import SimpleWorker

    from mentor_match.rounds.queue import redis_queue

    monkeypatch.setitem(app.config, "REDIS_URL", REDIS_URL)
    served.answers["/cal.ics"] = (
        200,
        {},
        weekly_meeting(next_month(), weekday=0, start=time(10), end=time(11)),
    )
    client = signed_in(office["master"])
    client.post("/availability/calendar-feed", data={"address": served.url("/cal.ics")})
    queue = redis_queue(app)
    (job,) = queue.get_jobs()
    assert (job.func_name, job.args) == (
        "mentor_match.rounds.jobs.refresh_calendar_job",
        (office["master"].id,),
    )
    assert count(BusyInterval) == 0  # nothing is read inside the request
    SimpleWorker([queue], connection=queue.connection).work(burst=True)
    db.session.expire_all()
    assert count(BusyInterval) > 0
    assert db.session.scalar(select(CalendarFeed.error)) == ""
    queue.connection.close()


def test_a_calendar_removed_while_it_is_read_leaves_no_busy_times(
    signed_in, office, served, private_allowed, monkeypatch
):
    master = office["master"]
    served.answers["/cal.ics"] = (
        200,
        {},
        weekly_meeting(next_month(), weekday=0, start=time(10), end=time(11)),
    )
    services.save_address(master, served.url("/cal.ics"))
    read = services._read_feed

    def removed_meanwhile(*args, **kwargs):
        found = read(*args, **kwargs)
        with db.engine.begin() as connection:  # the person's own request, elsewhere
            connection.execute(delete(CalendarFeed))
        return found

    monkeypatch.setattr(services, "_read_feed", removed_meanwhile)
    assert services.refresh_feed(master.id) == ""
    assert count(BusyInterval) == 0
