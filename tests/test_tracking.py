"""After a session: host-verified hours, disputes, observations, ratings and practice."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    Attendance,
    ChangeRecord,
    Event,
    Feedback,
    Notification,
    Observation,
    PracticeAttempt,
    SessionMode,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from mentor_match.tracking import services
from mentor_match.tracking.hours import hours_by_skill, verified_seats

from .conftest import log_in
from .database import count
from .factories import give_skill, make_admin, make_apprentice, make_master


@pytest.fixture
def login(app):
    """login(person): a client of that person's own, so several people can act in one test."""

    def _login(person):
        client = app.test_client()
        assert log_in(client, person).status_code == 302
        return client

    return _login


def past_session(office, hours_ago: int = 5, length: int = 2, observers=None) -> ShadowingSession:
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours_ago)
    session = ShadowingSession(
        master_id=office["master"].id,
        starts_at=start,
        ends_at=start + timedelta(hours=length),
        mode=SessionMode.VIRTUAL,
        seats=3,
        micro_skill_id=office["skill"].id,
    )
    db.session.add(session)
    db.session.flush()
    for person in observers or office["apprentices"][:1]:
        db.session.add(
            SessionObserver(
                session_id=session.id,
                apprentice_id=person.id,
                starts_at=session.starts_at,
                ends_at=session.ends_at,
            )
        )
    db.session.commit()
    return session


def test_the_master_sees_what_to_confirm_and_confirms(login, office):
    session = past_session(office, observers=office["apprentices"][:2])
    client = login(office["master"])
    assert "2 observers in your past sessions wait" in client.get("/dashboard").get_data(
        as_text=True
    )
    page = client.get("/sessions/to-confirm").get_data(as_text=True)
    assert "Tom Apprentice" in page and "Priya Apprentice" in page
    seat = session.observers[0]
    client.post(f"/seats/{seat.id}/attendance", data={"minutes": 90})
    attendance = db.session.scalars(select(Attendance)).one()
    assert attendance.minutes == 90 and attendance.confirmed_by_id == office["master"].id
    assert f"/seats/{seat.id}/attendance" not in client.get("/sessions/to-confirm").get_data(
        as_text=True
    )
    change = db.session.scalars(select(ChangeRecord)).one()
    assert (change.actor_id, change.subject, change.action, change.after) == (
        office["master"].id,
        "attendance",
        "confirmed",
        "90",
    )
    assert count(Notification, Notification.person_id == seat.apprentice_id) == 1
    assert [event.kind for event in db.session.scalars(select(Event))] == ["session.confirmed"]
    # Hours now count, to the session's micro skill.
    assert hours_by_skill(verified_seats([seat.apprentice_id])) == {office["skill"].id: 1.5}


def test_minutes_that_are_not_a_number_come_back_as_typed_beside_the_error(login, office):
    session = past_session(office, observers=office["apprentices"][:2])
    client = login(office["master"])
    typed, other = session.observers
    response = client.post(f"/seats/{typed.id}/attendance", data={"minutes": "ninety"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        f'<input id="minutes-{typed.id}" name="minutes" type="text" inputmode="numeric" '
        f'value="ninety" aria-invalid="true" aria-describedby="minutes-{typed.id}-error">'
    ) in page
    assert (
        f'<p class="error" id="minutes-{typed.id}-error">Enter the minutes watched, from 0.</p>'
    ) in page
    # The other row keeps its own value and has no error.
    assert (
        f'<input id="minutes-{other.id}" name="minutes" type="text" inputmode="numeric" '
        'value="120">'
    ) in page
    assert page.count('class="error"') == 1
    assert count(Attendance) == 0


def test_unconfirmed_and_absent_seats_count_nothing(office):
    session = past_session(office, observers=office["apprentices"][:2])
    services.confirm_attendance(office["master"], session.observers[1], 0)
    assert verified_seats() == []


@pytest.mark.parametrize(("minutes", "message"), [(121, "from 0 to 120 minutes"), (-1, "from 0")])
def test_impossible_minutes_are_refused(login, office, minutes, message):
    session = past_session(office)
    response = login(office["master"]).post(
        f"/seats/{session.observers[0].id}/attendance",
        data={"minutes": minutes},
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    assert count(Attendance) == 0 and count(ChangeRecord) == 0


def test_only_the_host_confirms_and_only_after_the_session(login, office):
    session = past_session(office)
    other = make_master("Other Master")
    assert (
        login(other)
        .post(f"/seats/{session.observers[0].id}/attendance", data={"minutes": 60})
        .status_code
        == 404
    )
    future = past_session(office, hours_ago=-30)
    with pytest.raises(Refusal, match="once the session has ended"):
        services.confirm_attendance(office["master"], future.observers[0], 60)
    assert count(Attendance) == 0


def test_a_correction_is_recorded_with_before_and_after(office):
    seat = past_session(office).observers[0]
    services.confirm_attendance(office["master"], seat, 120)
    services.confirm_attendance(office["master"], seat, 60)
    changes = db.session.scalars(select(ChangeRecord).order_by(ChangeRecord.id)).all()
    assert [(c.action, c.before, c.after) for c in changes] == [
        ("confirmed", "", "120"),
        ("changed", "120", "60"),
    ]


def test_a_dispute_goes_to_the_admin_who_settles_it(login, office):
    admin = make_admin("Ada Admin")
    seat = past_session(office).observers[0]
    services.confirm_attendance(office["master"], seat, 30)
    tom = office["apprentices"][0]
    client = login(tom)
    page = client.get(f"/sessions/{seat.session_id}").get_data(as_text=True)
    assert "confirmed <strong>0.5 hours</strong>" in page
    response = client.post(
        f"/seats/{seat.id}/dispute", data={"reason": "short"}, follow_redirects=True
    )
    assert "10 to 1000 characters" in response.get_data(as_text=True)
    client.post(f"/seats/{seat.id}/dispute", data={"reason": "I was there the full two hours."})
    assert count(Notification, Notification.person_id == admin.id) == 1
    with pytest.raises(Refusal, match="disputes these hours"):
        services.confirm_attendance(office["master"], seat, 20)
    admin_client = login(admin)
    assert "I was there the full two hours." in admin_client.get("/admin/disputes").get_data(
        as_text=True
    )
    attendance = db.session.scalars(select(Attendance)).one()
    refused = admin_client.post(f"/admin/disputes/{attendance.id}", data={"minutes": "2h"})
    assert 'value="2h" aria-invalid="true"' in refused.get_data(as_text=True)
    assert "Enter minutes from 0." in refused.get_data(as_text=True)
    admin_client.post(f"/admin/disputes/{attendance.id}", data={"minutes": 120})
    db.session.refresh(attendance)
    assert attendance.minutes == 120 and not attendance.is_disputed
    resolved = db.session.scalars(
        select(ChangeRecord).where(ChangeRecord.action == "resolved")
    ).one()
    assert (resolved.actor_id, resolved.before, resolved.after) == (admin.id, "30", "120")


def test_the_apprentice_records_what_they_observed(login, office):
    seat = past_session(office).observers[0]
    client = login(office["apprentices"][0])
    client.post(
        f"/seats/{seat.id}/observation",
        data={"notes": "She anchored first and high.", "micro_skills": [office["skill"].id]},
    )
    observation = db.session.scalars(select(Observation)).one()
    assert observation.notes == "She anchored first and high."
    assert [s.id for s in observation.micro_skills] == [office["skill"].id]
    assert (
        login(office["apprentices"][1])
        .post(f"/seats/{seat.id}/observation", data={"notes": "x"})
        .status_code
        == 404
    )


def test_a_session_rating_is_seen_by_the_master_and_nobody_else(login, office):
    tom, priya, _ = office["apprentices"]
    session = past_session(office, observers=[tom, priya])
    tom_seat = next(s for s in session.observers if s.apprentice_id == tom.id)
    login(tom).post(
        f"/seats/{tom_seat.id}/rating", data={"rating": 2, "note": "Hard to hear the client."}
    )
    assert "Hard to hear the client." in login(office["master"]).get(
        f"/sessions/{session.id}"
    ).get_data(as_text=True)
    assert "Hard to hear the client." not in login(priya).get(f"/sessions/{session.id}").get_data(
        as_text=True
    )
    login(tom).post(f"/seats/{tom_seat.id}/rating", data={"rating": 6, "note": ""})
    assert db.session.scalars(select(Feedback)).one().rating == 2


def test_practice_is_rated_by_the_master_asked(login, office):
    tom = office["apprentices"][0]
    client = login(tom)
    page = client.get("/practice").get_data(as_text=True)
    assert "Amara Master" in page
    client.post(
        "/practice",
        data={
            "micro_skill_id": office["skill"].id,
            "master_id": office["master"].id,
            "practised_on": utcnow().date().isoformat(),
            "description": "Opened the supplier call with our anchor of 12% off.",
        },
    )
    attempt = db.session.scalars(select(PracticeAttempt)).one()
    assert count(Notification, Notification.person_id == office["master"].id) == 1
    other = make_master("Other Master")
    give_skill(other, office["skill"], "master", hosts=True)
    assert (
        login(other)
        .post(f"/practice/{attempt.id}/feedback", data={"rating": 5, "note": "Great anchoring."})
        .status_code
        == 404
    )
    master_client = login(office["master"])
    response = master_client.post(
        f"/practice/{attempt.id}/feedback", data={"rating": 3, "note": "ok"}, follow_redirects=True
    )
    assert "at least 10 characters" in response.get_data(as_text=True)
    master_client.post(
        f"/practice/{attempt.id}/feedback",
        data={"rating": 3, "note": "Anchor was fine; you conceded too fast after."},
    )
    feedback = db.session.scalars(select(Feedback)).one()
    assert (feedback.rating, feedback.giver_id, feedback.receiver_id, feedback.micro_skill_id) == (
        3,
        office["master"].id,
        tom.id,
        office["skill"].id,
    )
    assert "conceded too fast" in login(tom).get("/practice").get_data(as_text=True)
    assert "conceded too fast" not in login(office["apprentices"][1]).get("/practice").get_data(
        as_text=True
    )


def test_practice_needs_a_master_who_can_teach_it(login, office):
    outsider = make_apprentice("Outsider")
    give_skill(outsider, office["skill"], "journeyman", develops=True)
    peer = make_master("Peer")
    give_skill(peer, office["skill"], "journeyman", hosts=True)
    with pytest.raises(Refusal, match="above your stage"):
        services.log_practice(
            outsider, office["skill"].id, peer.id, utcnow().date(), "Tried anchoring high."
        )
    with pytest.raises(Refusal, match="in the future"):
        services.log_practice(
            office["apprentices"][0],
            office["skill"].id,
            office["master"].id,
            utcnow().date() + timedelta(days=3),
            "Tried anchoring high.",
        )
    assert count(PracticeAttempt) == 0


def test_practice_feedback_has_no_rating_until_the_master_chooses_one(login, office):
    tom = office["apprentices"][0]
    attempt = services.log_practice(
        tom,
        office["skill"].id,
        office["master"].id,
        utcnow().date(),
        "Opened the supplier call with our anchor of 12% off.",
    )
    master_client = login(office["master"])
    page = master_client.get("/practice/to-rate").get_data(as_text=True)
    assert '<option value="" selected>Choose a rating</option>' in page
    assert page.count(" selected>") == 1

    response = master_client.post(
        f"/practice/{attempt.id}/feedback", data={"note": "You conceded too fast after the anchor."}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<p class="error" id="rating-{attempt.id}-error">Choose a rating.</p>' in page
    assert "You conceded too fast after the anchor.</textarea>" in page
    assert count(Feedback) == 0


def test_a_session_rating_has_no_default_either(login, office):
    tom = office["apprentices"][0]
    session = past_session(office, observers=[tom])
    seat = session.observers[0]
    client = login(tom)
    page = client.get(f"/sessions/{session.id}").get_data(as_text=True)
    assert '<option value="" selected>Choose a rating</option>' in page
    assert page.count(" selected>") == 1
    response = client.post(f"/seats/{seat.id}/rating", data={"note": ""}, follow_redirects=True)
    assert "Choose a rating." in response.get_data(as_text=True)
    assert count(Feedback) == 0
