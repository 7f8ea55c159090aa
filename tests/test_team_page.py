"""The team page: a manager sees each member's learning time, sessions ahead and progress,
never feedback or notes; a person with no team is told so; no one sees another's team."""

from datetime import UTC, datetime, timedelta

from mentor_match.allowances.usage import month_of
from mentor_match.extensions import db
from mentor_match.models import AllowanceKind, AllowanceRequest, LearningAllowance, RequestState

from .factories import give_skill, make_apprentice, make_master, make_micro_skill, make_month_plan
from .learning_time import observed, seat_in, session_of, set_organisation_allowance

NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def _team():
    manager = make_master("Grace Manager", timezone="America/New_York")
    tom = make_apprentice("Tom Member", timezone="Europe/London")
    amara = make_master("Amara Host")
    tom.manager_id = manager.id
    db.session.commit()
    return manager, tom, amara


def test_a_manager_sees_a_members_granted_and_verified_hours_and_plan(login, client):
    manager, tom, amara = _team()
    set_organisation_allowance(observing=6, hosting=8)
    this_month = month_of(NOW, tom.zone)
    start = datetime(this_month.year, this_month.month, 2, 10, tzinfo=UTC)
    observed(amara, tom, start, hours=2, minutes=90)
    make_month_plan(tom, str(this_month), observation_hours=5)
    db.session.add(LearningAllowance(person_id=tom.id, observing_hours=4))
    db.session.commit()
    login(manager)
    page = client.get("/team").get_data(as_text=True)
    assert "Tom Member" in page
    row = page.split(f'<th scope="row">{this_month.label}</th>', 1)[1].split("</tr>", 1)[0]
    assert "4 h" in row and "5 h" in row and "1.5 h" in row


def test_an_approved_request_shows_as_the_granted_figure(login, client):
    manager, tom, _ = _team()
    set_organisation_allowance(observing=6)
    month = month_of(NOW, tom.zone)
    db.session.add(
        AllowanceRequest(
            person_id=tom.id,
            month=str(month),
            kind=AllowanceKind.OBSERVING,
            hours=10,
            allowance_hours=6,
            state=RequestState.APPROVED,
        )
    )
    db.session.commit()
    login(manager)
    page = client.get("/team").get_data(as_text=True)
    row = page.split(f'<th scope="row">{month.label}</th>', 1)[1].split("</tr>", 1)[0]
    assert "10 h" in row


def test_sessions_ahead_show_time_in_the_managers_zone_master_and_skill_but_no_notes(login, client):
    manager, tom, amara = _team()
    skill = make_micro_skill("Anchoring")
    give_skill(tom, skill, develops=True)
    starts = (NOW + timedelta(days=3)).replace(hour=15)
    session = session_of(amara, starts, 1, skill)
    seat_in(session, tom)
    past = observed(amara, tom, NOW - timedelta(days=2), hours=1, skill=skill)
    from mentor_match.models import Feedback, FeedbackKind, Observation

    db.session.add(Observation(seat_id=past.observers[0].id, notes="Secret observation notes"))
    db.session.add(
        Feedback(
            kind=FeedbackKind.PRACTICE,
            giver_id=amara.id,
            receiver_id=tom.id,
            micro_skill_id=skill.id,
            rating=4,
            note="Private feedback words",
        )
    )
    db.session.commit()
    login(manager)
    page = client.get("/team").get_data(as_text=True)
    local = starts.astimezone(manager.zone)
    assert local.strftime("%a %d %b, %H:%M") in page
    assert "Observes Amara Host" in page and "Anchoring" in page
    for secret in ("Secret observation notes", "Private feedback words", "Hargreaves"):
        assert secret not in page
    # Progress toward the next stage, from the progress page's own figures.
    assert "Progress toward the next stage" in page and "1 of" in page


def test_a_person_with_no_team_is_told_so_and_has_no_menu_link(login, client, app):
    alone = make_master("No Team")
    login(alone)
    response = client.get("/team")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No one has you as their manager, so you have no team to show." in page
    assert 'href="/team"' not in client.get("/dashboard").get_data(as_text=True)


def test_the_menu_links_the_team_page_for_a_manager(login, client):
    manager, _, _ = _team()
    login(manager)
    assert 'href="/team"' in client.get("/dashboard").get_data(as_text=True)


def test_another_managers_member_and_a_deactivated_one_are_not_found(login, client):
    manager, tom, _ = _team()
    other = make_master("Other Manager")
    login(other)
    assert client.get(f"/team/members/{tom.id}").status_code == 404
    assert "Tom Member" not in client.get("/team").get_data(as_text=True)
    client.post("/logout")
    login(manager)
    assert client.get(f"/team/members/{tom.id}").status_code == 200
    tom.active = False
    db.session.commit()
    assert client.get(f"/team/members/{tom.id}").status_code == 404
    assert "Tom Member" not in client.get("/team").get_data(as_text=True)


def test_a_plan_above_the_granted_figure_says_it_is_capped(login, client):
    manager, tom, _ = _team()
    set_organisation_allowance(observing=6)
    month = month_of(NOW, tom.zone)
    make_month_plan(tom, str(month), observation_hours=9)
    login(manager)
    page = client.get("/team").get_data(as_text=True)
    row = page.split(f'<th scope="row">{month.label}</th>', 1)[1].split("</tr>", 1)[0]
    assert '9 h <span class="muted">(above what is granted: capped at 6 h)</span>' in row


def test_the_team_page_leads_to_each_allowance_and_to_the_requests(login, client):
    manager, tom, _ = _team()
    login(manager)
    page = client.get("/team").get_data(as_text=True)
    assert f'href="/team/{tom.id}/allowance"' in page
    assert "Raise or lower Tom Member's allowance" in page
    assert 'href="/team/requests"' in page
    assert client.get(f"/team/{tom.id}/allowance").status_code == 200
