"""The dashboard: a person's next sessions, the round that asks them to confirm, their checklist.

Its facts come in one statement, which also says which halves of the diary (hosting,
observing) have sessions ahead; these tests hold it to what the diary itself shows.
"""

from datetime import timedelta

from sqlalchemy import select

from mentor_match.booking import actions
from mentor_match.extensions import db
from mentor_match.models import MonthPlan, Person, SessionMode, utcnow

from .conftest import log_in, recorded_statements
from .factories import (
    first_open_slot,
    give_skill,
    make_admin,
    make_master,
    make_micro_skill,
    make_round,
    next_month,
)

HOUR = timedelta(hours=1)


def _dashboard(app, person: Person) -> str:
    """The person's dashboard, seen on a client of their own."""
    client = app.test_client()
    assert log_in(client, person).status_code == 302
    return client.get("/dashboard").get_data(as_text=True)


def test_the_host_and_the_observer_each_see_their_next_session(app, office):
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    actions.book(tom, master, slot.starts_at, slot.starts_at + HOUR, SessionMode.VIRTUAL)
    assert "You observe Amara Master" in _dashboard(app, tom)
    hosting = _dashboard(app, master)
    assert "Your next sessions" in hosting and "You host 1 observer" in hosting
    priya = office["apprentices"][1]
    assert "Your next sessions" not in _dashboard(app, priya)


def test_a_cancelled_seat_leaves_the_dashboard(app, office):
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    seat = actions.book(tom, master, slot.starts_at, slot.starts_at + HOUR, SessionMode.VIRTUAL)
    actions.cancel_seat(tom, seat)
    assert "Your next sessions" not in _dashboard(app, tom)
    assert "Your next sessions" not in _dashboard(app, master)


def test_someone_who_hosts_and_observes_sees_both_soonest_first(app, office):
    master, tom = office["master"], office["apprentices"][0]
    later = first_open_slot(master, tom, day_offset=1)
    actions.book(tom, master, later.starts_at, later.starts_at + HOUR, SessionMode.VIRTUAL)
    # Tom also hosts a session of his own, sooner than the one he observes.
    tom.is_master = True
    give_skill(tom, make_micro_skill("Active listening"), "master", hosts=True)
    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    actions.open_session(tom, soon, soon + timedelta(hours=1), SessionMode.VIRTUAL, 3, None, "")
    page = _dashboard(app, tom)
    assert page.index("You host 0 observers") < page.index("You observe Amara Master")


def test_an_open_round_asks_masters_and_apprentices_to_confirm(app, office):
    make_round(next_month())
    tom, priya = office["apprentices"][:2]
    plan = db.session.scalar(select(MonthPlan).where(MonthPlan.person_id == priya.id))
    plan.confirmed_at = utcnow()
    db.session.commit()
    asked = _dashboard(app, tom)
    assert f"The {next_month()} matching round is open" in asked and "Check and confirm" in asked
    confirmed = _dashboard(app, priya)
    assert "You confirmed on" in confirmed and "Check and confirm" not in confirmed
    # An admin who neither hosts nor observes is not asked.
    assert "matching round is open" not in _dashboard(app, make_admin())


def test_no_open_round_no_call(app, office):
    assert "matching round is open" not in _dashboard(app, office["apprentices"][0])


def test_a_hosts_next_sessions_come_with_their_skill_area_and_site_in_one_statement(app, office):
    """The host's half of the diary joins each session's micro skill, area and site; only the
    observers (a collection) follow, by one IN query: four statements in all, not six."""
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    actions.book(tom, master, slot.starts_at, slot.starts_at + HOUR, SessionMode.VIRTUAL)
    client = app.test_client()
    assert log_in(client, master).status_code == 302
    client.get("/dashboard")  # the first visit after signing in is like any other; warm it
    db.session.close()
    with recorded_statements() as seen:
        page = client.get("/dashboard").get_data(as_text=True)
    assert "You host 1 observer" in page and "Negotiation: Anchoring" in page
    details = [s for s, _ in seen if "micro_skills" in s or "areas" in s]
    assert len(details) == 1, details
    assert "FROM shadowing_sessions" in details[0] and "JOIN sites" in details[0], details
    assert len(seen) == 4, seen  # the person, the facts, the hosted sessions, their observers


def test_a_self_declared_master_is_asked_to_have_their_stage_verified(app, office):
    from mentor_match.models import StageSource

    claimant = make_master("Claimant")
    held = give_skill(
        claimant, office["skill"], "master", hosts=True, source=StageSource.SELF_DECLARED
    )
    step = "Have a stage you host verified by an admin or a verified master in the skill"
    page = _dashboard(app, claimant)
    assert f'<li class="todo"><a href="/profile/skills">{step}</a></li>' in page
    assert page.index(step) < page.index("Set your weekly availability")
    held.stage_source = StageSource.ADMIN
    db.session.commit()
    assert (
        f'<li class="done"><a href="/profile/skills">{step}</a> <span class="muted">(done)</span>'
        in _dashboard(app, claimant)
    )
