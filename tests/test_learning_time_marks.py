"""Protected learning time: sessions within a person's granted hours for their month are marked
in their calendar feed and on their dashboard; beyond the figure, or with none set, they are not."""

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from mentor_match.allowances.protected import learning_time
from mentor_match.allowances.usage import month_of
from mentor_match.calendars import services as calendars
from mentor_match.extensions import db
from mentor_match.models import LearningAllowance

from .factories import make_apprentice, make_master
from .learning_time import seat_in, session_of, set_organisation_allowance

# Days ahead in this month where possible, else the next month: all in one month.
NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _days_in_one_month():
    """Three 09:00 UTC starts in one month, all ahead of now."""
    start = NOW + timedelta(days=1)
    if start.day > 24:
        start = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    start = start.replace(hour=9)
    return [start + timedelta(days=offset) for offset in range(3)]


def _three_sessions(apprentice, master):
    sessions = []
    for starts_at in _days_in_one_month():
        session = session_of(master, starts_at, 2)
        seat_in(session, apprentice)
        sessions.append(session)
    return sessions


def _events(person):
    feed = Calendar.from_ical(calendars.feed_calendar(person, now=NOW))
    return {str(event["UID"]): event for event in feed.walk("VEVENT")}


def test_sessions_within_the_granted_hours_are_learning_time_in_date_order():
    tom, amara = make_apprentice("Tom"), make_master("Amara")
    set_organisation_allowance(observing=4)
    first, second, third = _three_sessions(tom, amara)
    marked = learning_time(tom, [first, second, third])
    assert sorted(marked) == [first.id, second.id]  # 2 h + 2 h = 4 h; the third is beyond
    events = _events(tom)
    month = month_of(first.starts_at, tom.zone)
    inside = events[f"session-{first.id}@mentor-match"]
    assert [str(c) for c in inside["CATEGORIES"].cats] == ["Learning time"]
    assert (
        f"Protected learning time: within your 4 h granted for {month.label} (observing)."
        in str(inside["DESCRIPTION"])
    )
    beyond = events[f"session-{third.id}@mentor-match"]
    assert "CATEGORIES" not in beyond and "Protected" not in str(beyond["DESCRIPTION"])


def test_nothing_is_marked_when_no_allowance_is_set():
    tom, amara = make_apprentice("Tom"), make_master("Amara")
    sessions = _three_sessions(tom, amara)
    assert learning_time(tom, sessions) == {}
    assert all("CATEGORIES" not in event for event in _events(tom).values())


def test_a_members_own_allowance_counts_and_masters_hosting_counts_too():
    tom, amara = make_apprentice("Tom"), make_master("Amara")
    set_organisation_allowance(observing=4, hosting=2)
    db.session.add(LearningAllowance(person_id=tom.id, observing_hours=6))
    db.session.commit()
    sessions = _three_sessions(tom, amara)
    assert sorted(learning_time(tom, sessions)) == sorted(s.id for s in sessions)
    hosted = learning_time(amara, sessions)
    assert sorted(hosted) == [sessions[0].id]
    event = _events(amara)[f"session-{sessions[0].id}@mentor-match"]
    assert "granted for" in str(event["DESCRIPTION"]) and "(hosting)" in str(event["DESCRIPTION"])


def test_a_cancelled_seat_frees_its_hours_for_the_next_session():
    tom, amara = make_apprentice("Tom"), make_master("Amara")
    set_organisation_allowance(observing=4)
    first, second, third = _three_sessions(tom, amara)
    first.observers[0].cancelled_at = NOW
    db.session.commit()
    assert sorted(learning_time(tom, [first, second, third])) == [second.id, third.id]


def test_the_dashboard_shows_a_learning_time_badge_only_within_the_figure(login, client):
    tom, amara = make_apprentice("Tom"), make_master("Amara")
    set_organisation_allowance(observing=2)
    _three_sessions(tom, amara)
    login(tom)
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count('<span class="badge" title="Protected learning time') == 1
    assert ">learning time</span>" in page
