"""Asking for more learning time from the month plan, deciding it, and who is told.

A plan above the granted figure is saved and asks the person's manager (or the admins); a new
ask replaces a waiting one; a plan within the figure withdraws it. The approver approves, or
declines with a reason; a decided request is not decided again; a manager who is deactivated
hands their open requests to the admins.
"""

import pytest
from sqlalchemy import select

from mentor_match.admin.services import deactivate_person
from mentor_match.allowances import requests
from mentor_match.allowances.figures import granted
from mentor_match.availability.expansion import Month
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    AllowanceKind,
    AllowanceRequest,
    ChangeRecord,
    LearningAllowance,
    MonthPlan,
    Notification,
    OrganisationSettings,
)
from mentor_match.rounds.notices import deliver_pending_mail

from .conftest import log_in
from .database import count
from .factories import make_admin, make_apprentice, make_master, next_month

OBSERVING = AllowanceKind.OBSERVING


@pytest.fixture
def login(client):
    """Call login(person) to sign that person in, signing out whoever was signed in."""

    def _login(person):
        client.post("/logout")
        response = log_in(client, person)
        assert response.status_code == 302
        return client

    return _login


@pytest.fixture
def team(app):
    """An organisation granting 6 h observing and 8 h hosting; Priya manages Tom and Sam."""
    # The first migration's row, if this test is the first to run; else a new one.
    settings = db.session.get(OrganisationSettings, 1) or OrganisationSettings(id=1)
    settings.observing_allowance_hours, settings.hosting_allowance_hours = 6, 8
    db.session.add(settings)
    admin = make_admin("Morgan Admin")
    second_admin = make_admin("Alex Admin")
    priya = make_master("Priya Manager")
    tom = make_apprentice("Tom Apprentice")
    sam = make_master("Sam Master")
    tom.manager = priya
    sam.manager = priya
    db.session.commit()
    return {
        "admin": admin,
        "second_admin": second_admin,
        "priya": priya,
        "tom": tom,
        "sam": sam,
        "month": next_month(),
    }


def _plan(client, month, **numbers):
    data = {"observation_hours": 4, "max_masters": 2} | numbers
    return client.post(f"/availability/plan?month={month}", data=data, follow_redirects=True)


def _requests():
    db.session.expire_all()
    return [
        (r.person.name, r.kind.value, r.hours, r.allowance_hours, r.state.value, r.approver_id)
        for r in db.session.scalars(select(AllowanceRequest).order_by(AllowanceRequest.id))
    ]


def _notices(person):
    return list(
        db.session.scalars(select(Notification.text).where(Notification.person_id == person.id))
    )


def test_the_plan_page_shows_the_granted_figure(login, team):
    month = Month.parse(team["month"])
    page = login(team["tom"]).get(f"/availability/plan?month={month}").get_data(as_text=True)
    assert (
        f"Your allowance for {month.label}: <strong>6 h observing, granted by the organisation"
        in page
    )
    assert "Why you need more hours" in page


def test_a_plan_within_the_figure_asks_nothing(login, team):
    response = _plan(login(team["tom"]), team["month"], observation_hours=6)
    assert "is saved" in response.get_data(as_text=True)
    assert count(AllowanceRequest) == 0 and count(Notification) == 0


def test_a_plan_above_is_saved_and_asks_the_manager(login, team, sent_mail):
    tom, priya, month = team["tom"], team["priya"], team["month"]
    label = Month.parse(month).label
    page = _plan(
        login(tom), month, observation_hours=10, reason="The negotiation course needs it."
    ).get_data(as_text=True)
    assert f"Your plan for {label} is saved." in page
    assert "You asked for 10 h observing, above your 6 h: see below who decides." in page
    assert (
        "You asked for 10 h observing; Priya Manager decides. Until it is approved, the round "
        "and booking use 6 h." in page
    )
    assert db.session.scalar(select(MonthPlan.observation_hours)) == 10
    assert _requests() == [("Tom Apprentice", "observing", 10, 6, "waiting", priya.id)]
    assert db.session.scalar(select(AllowanceRequest.reason)) == "The negotiation course needs it."
    assert _notices(priya) == [f"Tom Apprentice asks for 10 h observing in {label} (6 h granted)."]
    assert _notices(team["admin"]) == []
    deliver_pending_mail()
    (mail,) = sent_mail
    assert mail.recipient == priya.email
    assert mail.subject == f"Tom Apprentice asks for more learning time in {label}"
    assert "Their reason: The negotiation course needs it." in mail.body
    assert "/team/requests" in mail.body


def test_saving_the_same_ask_again_asks_nothing_new(login, team):
    client = login(team["tom"])
    _plan(client, team["month"], observation_hours=10)
    _plan(client, team["month"], observation_hours=10, reason="Better reason.")
    assert [r[4] for r in _requests()] == ["waiting"]
    assert db.session.scalar(select(AllowanceRequest.reason)) == "Better reason."
    assert len(_notices(team["priya"])) == 1


def test_a_new_ask_replaces_the_waiting_one_and_a_plan_within_withdraws_it(login, team):
    client = login(team["tom"])
    priya = team["priya"]
    _plan(client, team["month"], observation_hours=10)
    _plan(client, team["month"], observation_hours=12)
    assert _requests() == [
        ("Tom Apprentice", "observing", 10, 6, "withdrawn", priya.id),
        ("Tom Apprentice", "observing", 12, 6, "waiting", priya.id),
    ]
    assert len(_notices(priya)) == 2
    page = _plan(client, team["month"], observation_hours=5).get_data(as_text=True)
    assert "request for more is withdrawn" in page
    assert [r[4] for r in _requests()] == ["withdrawn", "withdrawn"]
    actions = db.session.scalars(
        select(ChangeRecord.action).where(ChangeRecord.subject == "allowance_request")
    ).all()
    assert sorted(actions) == ["asked", "asked", "withdrawn", "withdrawn"]


def test_with_no_active_manager_every_active_admin_is_asked(login, team):
    tom = team["tom"]
    tom.manager = None
    team["second_admin"].active = False
    db.session.commit()
    _plan(login(tom), team["month"], observation_hours=9)
    assert _requests() == [("Tom Apprentice", "observing", 9, 6, "waiting", None)]
    assert len(_notices(team["admin"])) == 1
    assert _notices(team["second_admin"]) == []


def test_a_master_asks_for_hosting_hours(login, team):
    data = {"max_hosting_hours": 12, "max_apprentices": 2, "in_person_seats": 0}
    _plan(login(team["sam"]), team["month"], **data, virtual_seats=2)
    assert _requests() == [("Sam Master", "hosting", 12, 8, "waiting", team["priya"].id)]


def _ask(team, hours=10):
    requests.ask_for_plan(
        team["tom"], Month.parse(team["month"]), {"observation_hours": hours}, reason="Course."
    )
    return db.session.scalar(select(AllowanceRequest).where(AllowanceRequest.state == "waiting"))


def test_the_manager_approves_and_the_figure_is_the_one_asked(login, team, sent_mail):
    tom, priya = team["tom"], team["priya"]
    month = Month.parse(team["month"])
    request = _ask(team)
    client = login(priya)
    page = client.get("/team/requests").get_data(as_text=True)
    assert "Tom Apprentice" in page and "Approve 10 h" in page
    response = client.post(f"/team/requests/{request.id}/approve", follow_redirects=True)
    assert "Approved: Tom Apprentice is told." in response.get_data(as_text=True)
    assert _requests() == [("Tom Apprentice", "observing", 10, 6, "approved", priya.id)]
    assert granted(tom, month, OBSERVING).hours == 10
    assert _notices(tom) == [
        f"Priya Manager approved 10 h observing in {month.label}: rounds and booking now use 10 h."
    ]
    deliver_pending_mail()
    mail = next(m for m in sent_mail if m.recipient == tom.email)
    assert mail.subject == f"Your learning time for {month.label} is approved"
    # Decided once: a second approval, or a decline, is refused, and nothing changes.
    before = (_requests(), count(Notification), count(ChangeRecord))
    response = client.post(f"/team/requests/{request.id}/decline", data={"reason": "No."})
    assert response.status_code == 302
    page = client.get("/team/requests").get_data(as_text=True)
    assert "This request is no longer waiting (it is approved); look again at the list." in page
    assert (_requests(), count(Notification), count(ChangeRecord)) == before


def test_declining_needs_a_reason_and_tells_the_person_why(login, team, sent_mail):
    tom, priya = team["tom"], team["priya"]
    month = Month.parse(team["month"])
    request = _ask(team)
    before = (_requests(), count(Notification))
    with pytest.raises(Refusal) as refusal:
        requests.decline(priya, request, reason="  ")
    assert str(refusal.value) == "Say why you decline, so they know what to do next."
    db.session.rollback()
    assert (_requests(), count(Notification)) == before
    client = login(priya)
    client.post(f"/team/requests/{request.id}/decline", data={"reason": "Busy quarter."})
    assert _requests()[0][4] == "declined"
    assert granted(tom, month, OBSERVING).hours == 6
    assert _notices(tom) == [
        f"Priya Manager declined 10 h observing in {month.label}: rounds and booking keep 6 h."
    ]
    deliver_pending_mail()
    mail = next(m for m in sent_mail if m.recipient == tom.email)
    assert "Why: Busy quarter." in mail.body
    page = login(tom).get(f"/availability/plan?month={month}").get_data(as_text=True)
    assert "declined your request for 10 h observing: Busy quarter." in page


def test_only_the_approver_or_an_admin_decides_and_never_the_person(login, team):
    tom, sam, admin = team["tom"], team["sam"], team["admin"]
    request = _ask(team)
    before = (_requests(), count(Notification), count(ChangeRecord))
    with pytest.raises(Refusal) as refusal:
        requests.approve(sam, request)
    assert str(refusal.value) == "Only the person's manager or an admin can decide this request."
    assert login(sam).post(f"/team/requests/{request.id}/approve").status_code == 403
    assert (_requests(), count(Notification), count(ChangeRecord)) == before
    # An admin who asked cannot grant themself the hours.
    tom.is_admin = True
    db.session.commit()
    with pytest.raises(Refusal) as refusal:
        requests.approve(tom, request)
    assert str(refusal.value) == (
        "You cannot decide your own request; your manager or another admin does."
    )
    db.session.rollback()
    assert (_requests(), count(Notification), count(ChangeRecord)) == before
    # Any other admin may, for oversight.
    requests.approve(admin, request)
    assert _requests()[0][4] == "approved"


def test_a_deactivated_manager_hands_open_requests_to_the_admins(team):
    admin, priya = team["admin"], team["priya"]
    _ask(team)
    decided = _ask(team, hours=12)
    requests.approve(priya, decided)
    sam_request = AllowanceRequest(
        person=team["sam"],
        month=team["month"],
        kind=AllowanceKind.HOSTING,
        hours=12,
        allowance_hours=8,
        approver=priya,
    )
    db.session.add(sam_request)
    db.session.commit()
    deactivate_person(admin, priya)
    assert [(r[0], r[4], r[5]) for r in _requests()] == [
        ("Tom Apprentice", "withdrawn", priya.id),
        ("Tom Apprentice", "approved", priya.id),
        ("Sam Master", "waiting", None),
    ]
    text = (
        "Priya Manager was deactivated: 1 request(s) for more learning time now wait for the "
        "admins."
    )
    assert _notices(admin) == [text]
    assert _notices(team["second_admin"]) == [text]
    # A new ask from her team now goes to the admins.
    requests.ask_for_plan(team["tom"], Month.parse(team["month"]), {"observation_hours": 14})
    assert _requests()[-1][4:] == ("waiting", None)


def test_the_admins_page_shows_their_requests_and_others_for_oversight(login, team):
    tom = team["tom"]
    _ask(team)
    tom.manager = None
    ana = make_apprentice("Ana Apprentice")
    db.session.commit()
    requests.ask_for_plan(ana, Month.parse(team["month"]), {"observation_hours": 7})
    page = login(team["admin"]).get("/team/requests").get_data(as_text=True)
    for_you, others = page.split("Waiting for managers")
    assert "Ana Apprentice" in for_you and "Tom Apprentice" not in for_you
    assert "Tom Apprentice" in others.split("Decided lately")[0]
    # A manager sees only theirs.
    page = login(team["sam"]).get("/team/requests").get_data(as_text=True)
    assert "No request waits for you." in page and "Waiting for managers" not in page


def test_a_manager_sets_a_members_own_allowance(login, team):
    tom, priya, sam = team["tom"], team["priya"], team["sam"]
    month = Month.parse(team["month"])
    client = login(priya)
    page = client.get(f"/team/{tom.id}/allowance").get_data(as_text=True)
    assert "6 h observing and" in page
    response = client.post(
        f"/team/{tom.id}/allowance", data={"observing_hours": "9", "hosting_hours": ""}
    )
    assert response.status_code == 302
    assert granted(tom, month, OBSERVING).hours == 9
    own = db.session.scalar(select(LearningAllowance))
    assert (own.observing_hours, own.hosting_hours, own.set_by_id) == (9, None, priya.id)
    (record,) = db.session.scalars(
        select(ChangeRecord).where(ChangeRecord.subject == "learning_allowance")
    ).all()
    assert (record.before, record.after) == (
        "observing_hours: the organisation's",
        "observing_hours: 9 h",
    )
    response = client.post(
        f"/team/{tom.id}/allowance", data={"observing_hours": "745", "hosting_hours": "x"}
    )
    page = response.get_data(as_text=True)
    assert page.count("Enter whole hours from 0 to 744, or leave it empty.") == 2
    assert db.session.scalar(select(LearningAllowance.observing_hours)) == 9
    # Not their manager: Sam cannot see or set Tom's; Tom cannot set his own.
    assert login(sam).get(f"/team/{tom.id}/allowance").status_code == 403
    before = (count(LearningAllowance), count(ChangeRecord))
    assert (
        login(tom).post(f"/team/{tom.id}/allowance", data={"observing_hours": "100"}).status_code
        == 403
    )
    assert (count(LearningAllowance), count(ChangeRecord)) == before
    from mentor_match.allowances.standing import set_member_allowance

    with pytest.raises(Refusal) as refusal:
        set_member_allowance(sam, tom, observing_hours=100, hosting_hours=None)
    assert (
        str(refusal.value) == "Only Tom Apprentice's manager or an admin can set their allowance."
    )
    db.session.rollback()
    assert db.session.scalar(select(LearningAllowance.observing_hours)) == 9


def test_the_admin_sets_the_organisations_allowance(login, app):
    admin = make_admin("Morgan Admin")
    tom = make_apprentice("Tom Apprentice")
    month = Month.parse(next_month())
    client = login(admin)
    page = client.get("/admin/organisation").get_data(as_text=True)
    assert "Learning time allowance" in page
    response = client.post(
        "/admin/organisation/allowance",
        data={"allowance-observing_hours": "6", "allowance-hosting_hours": ""},
    )
    assert response.status_code == 302
    assert granted(tom, month, OBSERVING).hours == 6
    assert granted(tom, month, AllowanceKind.HOSTING).hours is None
    records = db.session.scalars(
        select(ChangeRecord.after).where(ChangeRecord.subject == "organisation_allowance")
    ).all()
    assert records == ["observing_allowance_hours: 6 h"]
    response = client.post(
        "/admin/organisation/allowance",
        data={"allowance-observing_hours": "-1", "allowance-hosting_hours": ""},
    )
    assert "Enter whole hours from 0 to 744, or leave it empty." in response.get_data(as_text=True)
    assert granted(tom, month, OBSERVING).hours == 6
    # Emptied: no allowance, plans need no one's approval.
    client.post(
        "/admin/organisation/allowance",
        data={"allowance-observing_hours": "", "allowance-hosting_hours": ""},
    )
    assert granted(tom, month, OBSERVING).hours is None
    assert count(ChangeRecord) == 2


def test_only_an_active_admin_sets_the_organisations_allowance(team):
    from mentor_match.organisation.services import save_allowances

    before = (
        db.session.get(OrganisationSettings, 1).observing_allowance_hours,
        count(ChangeRecord),
    )
    for actor in (team["priya"], team["tom"]):
        with pytest.raises(Refusal) as refusal:
            save_allowances(actor, observing_hours=100, hosting_hours=None)
        assert str(refusal.value) == "Only an admin can change the organisation's settings."
    team["admin"].active = False
    db.session.commit()
    with pytest.raises(Refusal):
        save_allowances(team["admin"], observing_hours=100, hosting_hours=None)
    db.session.rollback()
    db.session.expire_all()
    after = (db.session.get(OrganisationSettings, 1).observing_allowance_hours, count(ChangeRecord))
    assert after == before == (6, 0)
