"""Who manages whom: set by the person on their profile or by an admin, never to themselves,
never in a circle, never to someone deactivated; logged, and a manager who stops managing
someone hands that person's open requests to the admins."""

import threading

import pytest
from sqlalchemy import select

from mentor_match.allowances.managers import person_named, set_manager
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    AllowanceKind,
    AllowanceRequest,
    ChangeRecord,
    Notification,
    Person,
    RequestState,
)

from .database import count
from .factories import make_admin, make_apprentice, make_master


@pytest.fixture
def people(app):
    admin = make_admin("Morgan Admin")
    tom = make_apprentice("Tom Apprentice")
    priya = make_master("Priya Manager")
    lee = make_master("Lee Director")
    db.session.commit()
    return {"admin": admin, "tom": tom, "priya": priya, "lee": lee}


def _managers() -> dict[str, str | None]:
    db.session.expire_all()
    return {
        person.name: person.manager.name if person.manager else None
        for person in db.session.scalars(select(Person))
    }


def _refused(actor, person, manager, message):
    before = (_managers(), count(ChangeRecord), count(Notification))
    with pytest.raises(Refusal) as refusal:
        set_manager(actor, person, manager)
    assert str(refusal.value) == message
    db.session.rollback()
    assert (_managers(), count(ChangeRecord), count(Notification)) == before


def test_a_person_sets_their_own_manager_and_it_is_logged(people):
    tom, priya = people["tom"], people["priya"]
    assert set_manager(tom, tom, priya) is True
    assert _managers()["Tom Apprentice"] == "Priya Manager"
    assert priya.team == [tom]
    (record,) = db.session.scalars(select(ChangeRecord)).all()
    assert (record.actor_id, record.subject, record.subject_id) == (
        tom.id,
        "person_manager",
        tom.id,
    )
    assert (record.before, record.after) == ("none", f"Priya Manager <{priya.email}>")
    # The same manager again changes and logs nothing.
    assert set_manager(tom, tom, priya) is False
    assert count(ChangeRecord) == 1


def test_refusals_leave_everything_as_it_was(people):
    admin, tom, priya, lee = people["admin"], people["tom"], people["priya"], people["lee"]
    _refused(tom, tom, tom, "You cannot be your own manager.")
    _refused(admin, tom, tom, "Tom Apprentice cannot be their own manager.")
    _refused(priya, tom, priya, "You can set only your own manager; an admin can set anyone's.")
    lee.active = False
    db.session.commit()
    _refused(
        tom,
        tom,
        lee,
        "Lee Director is deactivated and cannot be a manager; choose someone active.",
    )
    # An admin who has been deactivated can no longer set anyone's manager.
    admin.active = False
    db.session.commit()
    _refused(admin, tom, priya, "You can set only your own manager; an admin can set anyone's.")


def test_a_circle_of_any_length_is_refused(people):
    admin, tom, priya, lee = people["admin"], people["tom"], people["priya"], people["lee"]
    # Two: Priya manages Tom, so Tom cannot manage Priya.
    set_manager(tom, tom, priya)
    _refused(
        priya,
        priya,
        tom,
        "Tom Apprentice reports to you, directly or through others, so cannot be your manager.",
    )
    # Three: Lee manages Priya manages Tom, so Tom cannot manage Lee.
    set_manager(admin, priya, lee)
    _refused(
        admin,
        lee,
        tom,
        "Tom Apprentice reports to Lee Director, directly or through others, "
        "so cannot be Lee Director's manager.",
    )
    # Nothing in the chain stops an unrelated choice, nor removing a manager.
    set_manager(admin, lee, admin)
    set_manager(tom, tom, None)
    assert _managers() == {
        "Morgan Admin": None,
        "Tom Apprentice": None,
        "Priya Manager": "Lee Director",
        "Lee Director": "Morgan Admin",
    }


def test_a_manager_replaced_hands_that_persons_open_requests_to_the_admins(people):
    admin, tom, priya = people["admin"], people["tom"], people["priya"]
    ana = make_apprentice("Ana Apprentice")
    db.session.commit()
    set_manager(tom, tom, priya)
    set_manager(ana, ana, priya)
    for person in (tom, ana):
        db.session.add(
            AllowanceRequest(
                person=person,
                month="2026-12",
                kind=AllowanceKind.OBSERVING,
                hours=10,
                allowance_hours=6,
                approver=priya,
            )
        )
    db.session.commit()
    set_manager(tom, tom, None)
    db.session.expire_all()
    approvers = {
        r.person.name: r.approver_id
        for r in db.session.scalars(select(AllowanceRequest))
        if r.state is RequestState.WAITING
    }
    assert approvers == {"Tom Apprentice": None, "Ana Apprentice": priya.id}
    (notice,) = db.session.scalars(select(Notification)).all()
    assert notice.person_id == admin.id
    assert notice.text == (
        "Priya Manager no longer manages Tom Apprentice: 1 request(s) for more learning time "
        "now wait for the admins."
    )


def test_finding_a_manager_by_email_or_name(people):
    assert person_named(people["priya"].email.upper()) == people["priya"]
    assert person_named("priya manager") == people["priya"]
    assert person_named("  ") is None
    with pytest.raises(Refusal, match="No one has that name or email"):
        person_named("nobody@example.org")
    make_master("Priya Manager", email="priya2@example.org")
    with pytest.raises(Refusal, match="More than one person has that name"):
        person_named("Priya Manager")


def test_profile_page_sets_and_clears_your_manager(login, people):
    tom, priya = people["tom"], people["priya"]
    client = login(tom)
    page = client.get("/profile").get_data(as_text=True)
    assert "You have no manager" in page and 'list="active-people"' in page
    response = client.post("/profile/manager", data={"manager": priya.email}, follow_redirects=True)
    assert "Priya Manager is now your manager." in response.get_data(as_text=True)
    assert _managers()["Tom Apprentice"] == "Priya Manager"
    response = client.post("/profile/manager", data={"manager": tom.email}, follow_redirects=True)
    assert "You cannot be your own manager." in response.get_data(as_text=True)
    people["lee"].active = False
    db.session.commit()
    response = client.post(
        "/profile/manager", data={"manager": "Lee Director"}, follow_redirects=True
    )
    assert (
        "Lee Director is deactivated and cannot be a manager; choose someone active."
        in response.get_data(as_text=True)
    )
    response = client.post(
        "/profile/manager", data={"manager": "ghost@example.org"}, follow_redirects=True
    )
    assert "No one has that name or email" in response.get_data(as_text=True)
    assert _managers()["Tom Apprentice"] == "Priya Manager"
    response = client.post("/profile/manager", data={"manager": ""}, follow_redirects=True)
    assert "You have no manager now" in response.get_data(as_text=True)
    assert _managers()["Tom Apprentice"] is None


def test_admin_sets_anyones_manager_on_their_admin_page(login, people):
    admin, tom, priya = people["admin"], people["tom"], people["priya"]
    client = login(admin)
    assert "Manager" in client.get("/admin/people").get_data(as_text=True)
    response = client.post(f"/admin/people/{priya.id}/manager", data={"manager": "Tom Apprentice"})
    assert response.status_code == 302
    response = client.post(f"/admin/people/{tom.id}/manager", data={"manager": "Priya Manager"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (
        "Priya Manager reports to Tom Apprentice, directly or through others, "
        "so cannot be Tom Apprentice&#39;s manager." in page
    )
    assert _managers()["Tom Apprentice"] is None
    assert _managers()["Priya Manager"] == "Tom Apprentice"


def test_two_people_naming_each_other_at_once_make_no_circle(app, people):
    """On PostgreSQL both rows are locked before the chain is read, so the second waits for
    the first and sees it: one is set, the other refused. (SQLite serialises every write.)"""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one write lock")
    tom_id, priya_id = people["tom"].id, people["priya"].id
    ready = threading.Barrier(2)
    outcomes = []

    def name(person_id, manager_id):
        with app.app_context():
            person = db.session.get(Person, person_id)
            manager = db.session.get(Person, manager_id)
            ready.wait()
            try:
                set_manager(person, person, manager)
                outcomes.append("set")
            except Refusal:
                db.session.rollback()
                outcomes.append("refused")

    threads = [
        threading.Thread(target=name, args=(tom_id, priya_id)),
        threading.Thread(target=name, args=(priya_id, tom_id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "set"]
    managers = _managers()
    assert [managers["Tom Apprentice"], managers["Priya Manager"]].count(None) == 1
