"""Calendars: .ics files and feeds in UTC across DST, the feed's secret, video links, reminders."""

import hashlib
import re
import threading
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy import select

from mentor_match.calendars import services
from mentor_match.calendars.reminders import send_reminders
from mentor_match.extensions import db
from mentor_match.models import (
    Notification,
    OutboxMessage,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    utcnow,
)

from .conftest import log_in
from .database import count
from .factories import make_apprentice, make_area, make_master, make_site

# Helpers ------------------------------------------------------------------------------------


def make_session(
    master,
    starts_at: datetime,
    hours: float = 2,
    *,
    observers=(),
    mode: SessionMode = SessionMode.IN_PERSON,
    site=None,
    micro_skill=None,
    seats: int | None = None,
    cancelled_at: datetime | None = None,
    note: str = "",
) -> ShadowingSession:
    """A session with a seat for each observer; times are given in any zone, stored in UTC."""
    starts_at = starts_at.astimezone(UTC)
    ends_at = starts_at + timedelta(hours=hours)
    session = ShadowingSession(
        master=master,
        starts_at=starts_at,
        ends_at=ends_at,
        mode=mode,
        seats=seats or max(1, len(observers)),
        site=site,
        micro_skill=micro_skill,
        cancelled_at=cancelled_at,
        note=note,
    )
    for apprentice in observers:
        session.observers.append(
            SessionObserver(apprentice=apprentice, starts_at=starts_at, ends_at=ends_at)
        )
    db.session.add(session)
    db.session.commit()
    return session


def cancel_seat(session: ShadowingSession, apprentice, when: datetime | None = None) -> None:
    seat = next(seat for seat in session.observers if seat.apprentice_id == apprentice.id)
    seat.cancelled_at = when or utcnow()
    db.session.commit()


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def events(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def uid(session: ShadowingSession) -> str:
    return f"session-{session.id}@mentor-match"


@pytest.fixture
def skill():
    return make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]


@pytest.fixture
def london():
    return make_site("London HQ", "Europe/London")


@pytest.fixture
def amara(london):
    return make_master("Amara Okafor", site=london, timezone="Europe/London")


@pytest.fixture
def tom(london):
    return make_apprentice("Tom Gallagher", site=london, timezone="Europe/London")


def soon(days: float = 7) -> datetime:
    """A whole hour some days from now, for sessions that must be in the feed's window."""
    return (utcnow() + timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


# UTC instants across daylight-saving changes ------------------------------------------------

# (zone, the day of a 09:00 local start, the UTC instant it is): either side of each DST change.
DST_CASES = [
    ("Europe/London", date(2027, 3, 27), datetime(2027, 3, 27, 9, tzinfo=UTC)),  # GMT
    ("Europe/London", date(2027, 3, 29), datetime(2027, 3, 29, 8, tzinfo=UTC)),  # BST
    ("America/New_York", date(2027, 3, 13), datetime(2027, 3, 13, 14, tzinfo=UTC)),  # EST
    ("America/New_York", date(2027, 3, 15), datetime(2027, 3, 15, 13, tzinfo=UTC)),  # EDT
    ("Asia/Kolkata", date(2027, 3, 20), datetime(2027, 3, 20, 3, 30, tzinfo=UTC)),  # IST
    ("Asia/Kolkata", date(2027, 7, 20), datetime(2027, 7, 20, 3, 30, tzinfo=UTC)),  # no DST
]


@pytest.mark.parametrize(("zone", "day", "utc_start"), DST_CASES)
def test_session_ics_has_the_right_utc_instants_across_dst(login, skill, zone, day, utc_start):
    master = make_master("Amara Okafor", timezone=zone)
    observer = make_apprentice("Tom Gallagher", timezone=zone)
    session = make_session(
        master,
        datetime.combine(day, time(9), ZoneInfo(zone)),
        hours=2,
        observers=[observer],
        micro_skill=skill,
    )
    client = login(observer)
    response = client.get(f"/sessions/{session.id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data()
    assert f"DTSTART:{utc_start:%Y%m%dT%H%M%S}Z".encode() in body
    event = events(parse(body))[uid(session)]
    assert event.decoded("DTSTART") == utc_start
    assert event.decoded("DTEND") == utc_start + timedelta(hours=2)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert str(event["SUMMARY"]) == "Shadowing Amara Okafor: Negotiation: Anchoring"
    assert str(event["STATUS"]) == "CONFIRMED"


def test_feed_keeps_the_instants_of_sessions_across_the_dst_changes(skill):
    """A master in London and one in New York, observed by someone in Kolkata, in one feed."""
    kolkata = make_apprentice("Priya Nair", timezone="Asia/Kolkata")
    masters = {
        "Europe/London": make_master("Amara Okafor", timezone="Europe/London"),
        "America/New_York": make_master("Dana Brooks", timezone="America/New_York"),
        "Asia/Kolkata": make_master("Ravi Menon", timezone="Asia/Kolkata"),
    }
    expected = {}
    for zone, day, utc_start in DST_CASES:
        if zone == "Asia/Kolkata" and day.month == 7:
            continue  # one seat per apprentice at a time; the other Kolkata case is enough
        session = make_session(
            masters[zone],
            datetime.combine(day, time(9), ZoneInfo(zone)),
            observers=[kolkata],
            micro_skill=skill,
        )
        expected[uid(session)] = utc_start
    # Across the London gap: 00:30 GMT to 02:30 BST on 28 March is one real hour.
    gap = make_session(
        masters["Europe/London"],
        datetime(2027, 3, 28, 0, 30, tzinfo=ZoneInfo("Europe/London")),
        hours=1,
        observers=[kolkata],
    )
    expected[uid(gap)] = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)

    feed = parse(services.feed_calendar(kolkata, now=datetime(2027, 3, 1, tzinfo=UTC)))
    found = {key: event.decoded("DTSTART") for key, event in events(feed).items()}
    assert found == expected
    gap_event = events(feed)[uid(gap)]
    assert gap_event.decoded("DTEND") == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert gap_event.decoded("DTEND").astimezone(ZoneInfo("Europe/London")).hour == 2


def test_the_autumn_repeat_hour_is_written_as_two_different_instants():
    master = make_master(timezone="Europe/London")
    first, second = make_apprentice(), make_apprentice()
    zone = ZoneInfo("Europe/London")
    bst = make_session(
        master, datetime(2027, 10, 31, 1, 30, tzinfo=zone, fold=0), hours=0.5, observers=[first]
    )
    gmt = make_session(
        master, datetime(2027, 10, 31, 1, 30, tzinfo=zone, fold=1), hours=0.5, observers=[second]
    )
    feed = events(parse(services.feed_calendar(master, now=datetime(2027, 10, 1, tzinfo=UTC))))
    assert feed[uid(bst)].decoded("DTSTART") == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert feed[uid(gmt)].decoded("DTSTART") == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)


# The feed -----------------------------------------------------------------------------------


def test_feed_has_hosted_and_observed_sessions_and_not_other_peoples(client, skill, london, tom):
    person = make_master("James Whitfield", is_apprentice=True, timezone="Europe/London")
    amara = make_master("Amara Okafor", site=london)
    other = make_apprentice("Ines Carvalho", timezone="Europe/Lisbon")
    hosted = make_session(person, soon(3), observers=[tom, other], micro_skill=skill, site=london)
    observed = make_session(amara, soon(5), observers=[person], micro_skill=skill, site=london)
    not_his = make_session(amara, soon(6), observers=[tom], micro_skill=skill, site=london)

    response = client.get(f"/calendar/{services.new_feed_token(person)}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert "Set-Cookie" not in response.headers
    body = response.get_data()
    calendar = parse(body)
    assert str(calendar["X-WR-CALNAME"]) == "Mentor Match: James Whitfield"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in body
    assert b"X-PUBLISHED-TTL:PT1H" in body
    found = events(calendar)
    assert set(found) == {uid(hosted), uid(observed)}
    assert uid(not_his) not in found
    assert str(found[uid(hosted)]["SUMMARY"]) == "Hosting 2 observers: Negotiation: Anchoring"
    assert "Tom Gallagher, Ines Carvalho" in str(found[uid(hosted)]["DESCRIPTION"])
    assert str(found[uid(observed)]["SUMMARY"]) == "Shadowing Amara Okafor: Negotiation: Anchoring"
    assert str(found[uid(observed)]["LOCATION"]) == "London HQ"
    assert str(found[uid(observed)]["URL"]).endswith(f"/sessions/{observed.id}")
    assert str(found[uid(observed)]["URL"]).startswith("http://localhost/")
    for event in found.values():
        assert event.decoded("DTSTAMP").utcoffset() == timedelta(0)


def test_feed_keeps_30_days_of_past_and_cancelled_sessions(amara, tom):
    now = utcnow()
    recent = make_session(amara, now - timedelta(days=10), observers=[tom])
    old = make_session(amara, now - timedelta(days=40), observers=[tom])
    just_cancelled = make_session(
        amara, soon(2), observers=[tom], cancelled_at=now - timedelta(days=1)
    )
    long_cancelled = make_session(
        amara, soon(60), observers=[tom], cancelled_at=now - timedelta(days=31)
    )
    found = events(parse(services.feed_calendar(tom)))
    assert set(found) == {uid(recent), uid(just_cancelled)}
    assert uid(old) not in found and uid(long_cancelled) not in found


def test_a_cancelled_session_appears_cancelled_with_a_higher_sequence(client, login, amara, tom):
    live = make_session(amara, soon(2), observers=[tom])
    cancelled = make_session(amara, soon(4), observers=[tom], cancelled_at=utcnow())
    for person in (amara, tom):
        token = services.new_feed_token(person)
        found = events(parse(client.get(f"/calendar/{token}.ics").get_data()))
        assert str(found[uid(cancelled)]["STATUS"]) == "CANCELLED"
        assert found[uid(cancelled)].decoded("SEQUENCE") == 1
        assert str(found[uid(live)]["STATUS"]) == "CONFIRMED"
        assert found[uid(live)].decoded("SEQUENCE") == 0
    # The master may still download the cancelled session's .ics: it says it is cancelled.
    body = login(amara).get(f"/sessions/{cancelled.id}/calendar.ics").get_data()
    assert str(events(parse(body))[uid(cancelled)]["STATUS"]) == "CANCELLED"


def test_an_observer_who_gave_up_their_seat_sees_it_cancelled(amara, tom):
    other = make_apprentice("Ines Carvalho")
    session = make_session(amara, soon(3), observers=[tom, other])
    cancel_seat(session, tom)
    left = events(parse(services.feed_calendar(tom)))[uid(session)]
    assert str(left["STATUS"]) == "CANCELLED"
    # The session's page is no longer his to open, so the event does not point to it.
    assert "URL" not in left and "/sessions/" not in str(left["DESCRIPTION"])
    hosted = events(parse(services.feed_calendar(amara)))[uid(session)]
    assert str(hosted["STATUS"]) == "CONFIRMED"
    assert str(hosted["SUMMARY"]) == "Hosting 1 observer"


def test_unknown_token_and_inactive_person_get_404(client, amara, tom):
    make_session(amara, soon(), observers=[tom])
    assert client.get("/calendar/not-a-real-token.ics").status_code == 404
    assert client.get(f"/calendar/{'x' * 200}.ics").status_code == 404
    assert client.get("/calendar/caf%C3%A9.ics").status_code == 404
    token = services.new_feed_token(tom)
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    tom.active = False
    db.session.commit()
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def _shown_feed_url(page: str) -> str:
    return re.search(r'id="feed-url" value="([^"]+)"', page).group(1)


def test_a_feed_address_is_shown_once_when_made_and_a_new_one_voids_the_old(login, tom):
    client = login(tom)
    page = client.get("/calendar").get_data(as_text=True)
    assert "You have no feed address yet." in page and "Make my calendar address" in page
    assert "Google Calendar" in page and "Outlook" in page and "From URL" in page
    made = client.post("/calendar/reset").get_data(as_text=True)
    first = _shown_feed_url(made)
    token = first.removeprefix("http://localhost/calendar/").removesuffix(".ics")
    assert first == f"http://localhost/calendar/{token}.ics" and len(token) >= 32
    assert f"webcal://localhost/calendar/{token}.ics" in made
    assert "This is the only time the address is shown" in made
    assert "no longer works" not in made
    assert client.get(first).status_code == 200

    # Later the page cannot show it (only its digest is kept), and says how to get a new one.
    page = client.get("/calendar").get_data(as_text=True)
    assert token not in page and 'id="feed-url"' not in page
    assert "You have a feed address. It was shown only once" in page
    assert "Make a new calendar address" in page
    db.session.refresh(tom)
    assert tom.calendar_token_digest == hashlib.sha256(token.encode()).hexdigest()

    again = client.post("/calendar/reset").get_data(as_text=True)
    assert "Your calendar has a new address: the old one no longer works." in again
    second = _shown_feed_url(again)
    assert second != first
    assert client.get(first).status_code == 404
    assert client.get(second).status_code == 200


def test_settings_need_a_log_in(client):
    response = client.get("/calendar")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/calendar/reset").status_code == 302


# One session's .ics ------------------------------------------------------------------------


def test_session_ics_is_only_for_its_master_and_live_observers(app, amara, tom):
    outsider, leaver = make_apprentice("Outsider"), make_apprentice("Leaver")
    session = make_session(amara, soon(), observers=[tom, leaver])
    cancel_seat(session, leaver)
    url = f"/sessions/{session.id}/calendar.ics"

    def status(person=None, path=url):
        client = app.test_client()
        if person is not None:
            assert log_in(client, person).status_code == 302
        return client.get(path).status_code

    assert status(amara) == 200
    assert status(tom) == 200
    assert status(outsider) == 404
    assert status(leaver) == 404
    assert status(make_master("Admin", is_admin=True)) == 404
    assert status(amara, f"/sessions/{session.id + 1000}/calendar.ics") == 404
    assert status() == 302


def test_master_summary_and_description(login, amara, tom, skill, london):
    session = make_session(
        amara,
        soon(),
        observers=[tom],
        micro_skill=skill,
        site=london,
        note="Bring the client brief.",
    )
    event = events(parse(login(amara).get(f"/sessions/{session.id}/calendar.ics").get_data()))
    event = event[uid(session)]
    assert str(event["SUMMARY"]) == "Hosting 1 observer: Negotiation: Anchoring"
    description = str(event["DESCRIPTION"])
    assert "Tom Gallagher" in description and "Bring the client brief." in description
    assert "In the room at London HQ" in description


# Video links --------------------------------------------------------------------------------


def test_video_url_uses_the_configured_base_and_only_for_virtual_sessions(
    app, login, amara, tom, london, monkeypatch
):
    monkeypatch.setitem(app.config, "VIDEO_BASE_URL", "https://video.example.org/rooms/")
    virtual = make_session(amara, soon(2), observers=[tom], mode=SessionMode.VIRTUAL)
    in_person = make_session(amara, soon(4), observers=[tom], site=london)
    assert virtual.video_room.startswith("mentor-match-") and len(virtual.video_room) > 20
    expected = f"https://video.example.org/rooms/{virtual.video_room}"
    assert services.video_url(virtual) == expected
    assert services.video_url(in_person) is None

    feed = f"/calendar/{services.new_feed_token(tom)}.ics"
    found = events(parse(login(tom).get(feed).get_data()))
    assert str(found[uid(virtual)]["LOCATION"]) == expected
    assert expected in str(found[uid(virtual)]["DESCRIPTION"])
    assert str(found[uid(in_person)]["LOCATION"]) == "London HQ"
    assert "video.example.org" not in str(found[uid(in_person)]["DESCRIPTION"])


def test_video_url_defaults_to_jitsi(app, amara, tom):
    assert app.config["VIDEO_BASE_URL"] == "https://meet.jit.si"
    session = make_session(amara, soon(), observers=[tom], mode=SessionMode.VIRTUAL)
    assert services.video_url(session) == f"https://meet.jit.si/{session.video_room}"


# Reminders ----------------------------------------------------------------------------------

NOW = datetime(2027, 3, 28, 12, 0, tzinfo=UTC)


def notices_for(person) -> list[Notification]:
    return list(
        db.session.scalars(
            select(Notification)
            .where(Notification.person_id == person.id)
            .order_by(Notification.id)
        )
    )


def test_a_session_20_hours_ahead_is_reminded_once(amara, tom, skill, london):
    session = make_session(
        amara, NOW + timedelta(hours=20), observers=[tom], micro_skill=skill, site=london
    )
    assert send_reminders(now=NOW) == 1
    assert send_reminders(now=NOW) == 0
    assert send_reminders(now=NOW + timedelta(hours=1)) == 0
    db.session.refresh(session)
    assert session.reminded_at == NOW
    for person in (amara, tom):
        notices = notices_for(person)
        assert len(notices) == 1
        assert notices[0].mail_subject == "Reminder: shadowing tomorrow at 09:00"
        assert notices[0].link.endswith(f"/sessions/{session.id}")
    assert "you shadow Amara Okafor (Negotiation: Anchoring)" in notices_for(tom)[0].mail_body
    assert "you host Tom Gallagher" in notices_for(amara)[0].mail_body
    assert "In the room at London HQ" in notices_for(tom)[0].mail_body


def test_sessions_out_of_reach_cancelled_or_empty_are_not_reminded(amara, tom):
    later = make_session(amara, NOW + timedelta(hours=30), observers=[tom])
    cancelled = make_session(
        amara, NOW + timedelta(hours=20), observers=[tom], cancelled_at=NOW - timedelta(hours=1)
    )
    started = make_session(amara, NOW - timedelta(minutes=30), observers=[tom])
    empty = make_session(amara, NOW + timedelta(hours=5), observers=[tom])
    cancel_seat(empty, tom)
    assert send_reminders(now=NOW) == 0
    assert count(Notification) == 0
    for session in (later, cancelled, started, empty):
        db.session.refresh(session)
        assert session.reminded_at is None
    # The later one is reminded when its time comes.
    assert send_reminders(now=NOW + timedelta(hours=7)) == 1


def test_two_reminder_runs_at_once_remind_once(app, amara, tom):
    other = make_apprentice("Ines Carvalho")
    make_session(amara, NOW + timedelta(hours=20), observers=[tom, other])
    make_session(amara, NOW + timedelta(hours=23), observers=[tom])
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                barrier.wait()
                results.append(send_reminders(now=NOW))
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(results) == 2
    assert len(notices_for(amara)) == 2
    assert len(notices_for(tom)) == 2
    assert len(notices_for(other)) == 1


def test_reminder_mail_shows_the_time_in_each_recipients_zone(amara):
    kolkata = make_apprentice("Priya Nair", timezone="Asia/Kolkata")
    new_york = make_apprentice("Dana Brooks", timezone="America/New_York")
    # 08:00 UTC on 29 March 2027: 09:00 BST in London (the day after the clocks change),
    # 13:30 IST in Kolkata, 04:00 EDT in New York.
    session = make_session(
        amara,
        datetime(2027, 3, 29, 8, tzinfo=UTC),
        observers=[kolkata, new_york],
        mode=SessionMode.VIRTUAL,
    )
    assert send_reminders(now=NOW) == 1
    cases = [
        (amara, "09:00", "09:00–11:00 BST"),
        (kolkata, "13:30", "13:30–15:30 IST"),
        (new_york, "04:00", "04:00–06:00 EDT"),
    ]
    for person, at, span in cases:
        (notice,) = notices_for(person)
        assert notice.mail_subject == f"Reminder: shadowing tomorrow at {at}"
        assert span in notice.mail_body
        assert "Mon 29 Mar 2027" in notice.mail_body
        assert services.video_url(session) in notice.mail_body
        assert "On video" in notice.mail_body
        assert f"/sessions/{session.id}/calendar.ics" in notice.mail_body
    assert "(Asia/Kolkata)" in notices_for(kolkata)[0].mail_body
    assert "you host Priya Nair and Dana Brooks" in notices_for(amara)[0].mail_body


def test_a_session_later_today_says_today():
    master = make_master(timezone="Europe/London")
    observer = make_apprentice(timezone="Europe/London")
    make_session(master, NOW + timedelta(hours=3), observers=[observer])
    assert send_reminders(now=NOW) == 1
    assert notices_for(observer)[0].mail_subject == "Reminder: shadowing today at 16:00"


def test_session_links_use_site_url_outside_a_request(app, amara, tom, monkeypatch):
    monkeypatch.setitem(app.config, "SITE_URL", "https://mentor.example.org/")
    session = make_session(amara, NOW + timedelta(hours=20), observers=[tom])
    assert send_reminders(now=NOW) == 1
    assert notices_for(tom)[0].link == f"https://mentor.example.org/sessions/{session.id}"


def test_the_reminder_command_prints_counts_and_sends_the_mail(runner, amara, tom):
    make_session(amara, soon(days=20 / 24), observers=[tom])
    result = runner.invoke(args=["sessions", "send-reminders"])
    assert result.exit_code == 0, result.output
    assert "Reminded 1 session." in result.output
    assert "Sent 2 mails." in result.output
    assert {message.recipient for message in db.session.scalars(select(OutboxMessage))} == {
        amara.email,
        tom.email,
    }
    assert all(
        message.subject.startswith("Reminder: shadowing")
        for message in db.session.scalars(select(OutboxMessage))
    )

    again = runner.invoke(args=["sessions", "send-reminders"])
    assert again.exit_code == 0, again.output
    assert "Reminded 0 sessions." in again.output
    assert "Sent 0 mails." in again.output
    assert count(OutboxMessage) == 2


def test_the_reminder_command_takes_a_horizon(runner, amara, tom):
    make_session(amara, soon(days=30 / 24), observers=[tom])
    assert "Reminded 0 sessions." in runner.invoke(args=["sessions", "send-reminders"]).output
    result = runner.invoke(args=["sessions", "send-reminders", "--hours", "36"])
    assert "Reminded 1 session." in result.output
    assert runner.invoke(args=["sessions", "send-reminders", "--hours", "0"]).exit_code != 0
