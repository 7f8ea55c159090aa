"""Admin: access, people, the skill taxonomy, sites and the outbox."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from mentor_match.admin import services
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.mail.services import send_mail
from mentor_match.models import (
    Area,
    AreaIntent,
    MicroSkill,
    OutboxMessage,
    PersonArea,
    PersonSkill,
    Site,
    Stage,
)
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import (
    DEFAULT_PASSWORD,
    give_skill,
    make_admin,
    make_area,
    make_master,
    make_person,
    make_site,
)


def _sign_in(app, person):
    """A separate browser signed in as the person."""
    browser = app.test_client()
    response = browser.post("/login", data={"email": person.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return browser


def _admin_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("admin.")]


def _url(rule) -> str:
    return (
        rule.rule.replace("<int:person_id>", "1")
        .replace("<int:area_id>", "1")
        .replace("<int:micro_skill_id>", "1")
        .replace("<int:site_id>", "1")
        .replace("<int:message_id>", "1")
    )


# --- Access ------------------------------------------------------------------------------------


def test_every_admin_endpoint_refuses_non_admins(app, login):
    rules = _admin_rules(app)
    assert len(rules) >= 17
    client = login(make_master())
    for rule in rules:
        url = _url(rule)
        assert "<" not in url, url
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(url, method=method)
            assert response.status_code == 403, (method, url)


def test_every_admin_endpoint_sends_visitors_to_log_in(app, client):
    for rule in _admin_rules(app):
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(_url(rule), method=method)
            assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_admin_state_changes_need_csrf(client, csrf_enabled):
    admin = make_admin()
    target = make_person("Target")
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"',
        client.get("/login").get_data(as_text=True),
    ).group(1)
    client.post(
        "/login", data={"email": admin.email, "password": DEFAULT_PASSWORD, "csrf_token": token}
    )
    assert client.post(f"/admin/people/{target.id}/deactivate").status_code == 400
    assert client.post("/admin/areas", data={"name": "Negotiation"}).status_code == 400
    db.session.refresh(target)
    assert target.active and count(Area) == 0


def test_admin_state_changes_are_post_only(app):
    for rule in _admin_rules(app):
        if rule.rule.endswith(("/deactivate", "/reactivate", "-admin", "/delete")):
            assert rule.methods - {"HEAD", "OPTIONS"} == {"POST"}, rule.rule


def test_dashboard_counts(login):
    make_master(site=make_site())
    make_person(active=False)
    make_area(skills=("One", "Two"))
    page = login(make_admin()).get("/admin/").get_data(as_text=True)
    assert "2 active, 1 deactivated" in page
    assert "1 areas of mastery" in page and "2 micro skills" in page and "1 sites" in page


# --- People ------------------------------------------------------------------------------------


def test_people_list_searches_name_and_email(login):
    make_person("Ada Lovelace", email="ada@example.org")
    make_person("Grace Hopper", email="grace@navy.example")
    client = login(make_admin("The Admin"))
    page = client.get("/admin/people?q=LOVE").get_data(as_text=True)
    assert "Ada Lovelace" in page and "Grace Hopper" not in page
    page = client.get("/admin/people?q=navy").get_data(as_text=True)
    assert "Grace Hopper" in page and "Ada Lovelace" not in page
    page = client.get("/admin/people?q=%25").get_data(as_text=True)  # a literal "%"
    assert "Ada Lovelace" not in page and "No one matches." in page


def test_people_list_paginates(login):
    for n in range(30):
        make_person(f"Member {n:02d}")
    client = login(make_admin("Zz Admin"))
    first = client.get("/admin/people").get_data(as_text=True)
    assert "Member 24" in first and "Member 25" not in first and "Page 1 of 2" in first
    second = client.get("/admin/people?page=2").get_data(as_text=True)
    assert "Member 25" in second and "Zz Admin" in second


def test_deactivation_ends_sessions_and_blocks_log_in(app, login):
    person = make_master("Leaving Lee")
    theirs = _sign_in(app, person)
    assert theirs.get("/dashboard").status_code == 200
    client = login(make_admin())
    response = client.post(f"/admin/people/{person.id}/deactivate?q=Lee", follow_redirects=False)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/people?q=Lee"
    db.session.refresh(person)
    assert not person.active
    kicked = theirs.get("/dashboard")
    assert kicked.status_code == 302 and "/login" in kicked.headers["Location"]
    page = (
        app.test_client()
        .post(
            "/login",
            data={"email": person.email, "password": DEFAULT_PASSWORD},
            follow_redirects=True,
        )
        .get_data(as_text=True)
    )
    assert "deactivated" in page


def test_admin_cannot_deactivate_themself(login):
    admin = make_admin()
    client = login(admin)
    page = client.post(f"/admin/people/{admin.id}/deactivate", follow_redirects=True).get_data(
        as_text=True
    )
    assert "You cannot deactivate yourself." in page
    db.session.refresh(admin)
    assert admin.active
    assert client.get("/admin/").status_code == 200


def test_reactivate_lets_a_person_log_in_again(app, login):
    person = make_person(active=False)
    page = (
        login(make_admin())
        .post(f"/admin/people/{person.id}/reactivate", follow_redirects=True)
        .get_data(as_text=True)
    )
    assert "can sign in again" in page
    db.session.refresh(person)
    assert person.active
    _sign_in(app, person)


def test_grant_and_revoke_admin(app, login):
    person = make_master()
    client = login(make_admin())
    client.post(f"/admin/people/{person.id}/grant-admin")
    db.session.refresh(person)
    assert person.is_admin
    assert _sign_in(app, person).get("/admin/").status_code == 200
    client.post(f"/admin/people/{person.id}/revoke-admin")
    db.session.refresh(person)
    assert not person.is_admin


def test_deactivated_people_cannot_be_made_admin(login):
    person = make_person(active=False)
    page = (
        login(make_admin())
        .post(f"/admin/people/{person.id}/grant-admin", follow_redirects=True)
        .get_data(as_text=True)
    )
    assert "Reactivate them first" in page
    db.session.refresh(person)
    assert not person.is_admin


def test_the_last_admin_cannot_be_revoked(login):
    admin = make_admin()
    make_admin(active=False)  # a deactivated admin does not count
    client = login(admin)
    page = client.post(f"/admin/people/{admin.id}/revoke-admin", follow_redirects=True).get_data(
        as_text=True
    )
    assert "is the last admin" in page
    db.session.refresh(admin)
    assert admin.is_admin


def test_the_last_active_admin_cannot_be_deactivated():
    # Only reachable when two admins deactivate each other at once; the service still refuses.
    last = make_admin("Last Admin")
    gone = make_admin("Gone Admin", active=False)
    with pytest.raises(Refusal, match="Last Admin is the last admin"):
        services.deactivate_person(gone, last)
    db.session.refresh(last)
    assert last.active and last.is_admin


def test_an_admin_can_step_down_when_another_remains(login):
    admin = make_admin()
    make_admin()
    client = login(admin)
    response = client.post(f"/admin/people/{admin.id}/revoke-admin")
    assert response.headers["Location"] == "/dashboard"
    db.session.refresh(admin)
    assert not admin.is_admin
    assert client.get("/admin/").status_code == 403


def test_unknown_person_is_404(login):
    assert login(make_admin()).post("/admin/people/999999/deactivate").status_code == 404


# --- Taxonomy ----------------------------------------------------------------------------------


def test_create_edit_and_list_areas(login):
    client = login(make_admin())
    response = client.post("/admin/areas", data={"name": "  Negotiation ", "description": "Deals."})
    area = db.session.scalar(select(Area))
    assert response.headers["Location"] == f"/admin/areas/{area.id}"
    assert area.name == "Negotiation" and area.description == "Deals."
    assert (
        client.post(
            f"/admin/areas/{area.id}", data={"name": "Negotiating", "description": ""}
        ).status_code
        == 302
    )
    db.session.refresh(area)
    assert area.name == "Negotiating"
    assert "Negotiating" in client.get("/admin/areas").get_data(as_text=True)


def test_area_names_are_unique_by_key(login):
    make_area("Negotiation")
    other = make_area("Writing")
    client = login(make_admin())
    for name in ("Negotiation", "negotiation!"):
        page = client.post("/admin/areas", data={"name": name}).get_data(as_text=True)
        assert "An area named \u201cNegotiation\u201d already exists." in page
    page = client.post(f"/admin/areas/{other.id}", data={"name": "NEGOTIATION"}).get_data(
        as_text=True
    )
    assert "already exists" in page
    assert count(Area) == 2
    db.session.refresh(other)
    assert other.name == "Writing"


def test_area_form_messages(login):
    client = login(make_admin())
    page = client.post("/admin/areas", data={"name": "", "description": "x" * 2001}).get_data(
        as_text=True
    )
    assert "Enter a name." in page and "Keep the description to 2000 characters or fewer." in page
    page = client.post("/admin/areas", data={"name": "!!!"}).get_data(as_text=True)
    assert "Use at least one letter or digit in the name." in page
    assert count(Area) == 0


def test_micro_skills_within_an_area(login):
    area = make_area("Negotiation", skills=("Anchoring",))
    elsewhere = make_area("Writing")
    client = login(make_admin())
    page = client.post(f"/admin/areas/{area.id}/skills", data={"skill-name": "anchoring"}).get_data(
        as_text=True
    )
    assert "Negotiation already has a micro skill named \u201cAnchoring\u201d" in page
    assert (
        client.post(
            f"/admin/areas/{elsewhere.id}/skills", data={"skill-name": "Anchoring"}
        ).status_code
        == 302
    )  # fine in another area
    assert (
        client.post(
            f"/admin/areas/{area.id}/skills",
            data={"skill-name": "Silence", "skill-description": "Wait."},
        ).status_code
        == 302
    )
    silence = db.session.scalar(select(MicroSkill).where(MicroSkill.name == "Silence"))
    assert silence.area == area and silence.description == "Wait."
    page = client.post(f"/admin/skills/{silence.id}", data={"name": "Anchoring"}).get_data(
        as_text=True
    )
    assert "already has a micro skill" in page
    assert (
        client.post(f"/admin/skills/{silence.id}", data={"name": "Strategic silence"}).status_code
        == 302
    )
    db.session.refresh(silence)
    assert silence.name == "Strategic silence"
    assert count(MicroSkill) == 3


def test_deleting_a_held_area_asks_and_counts_holders(login):
    area = make_area("Negotiation", skills=("Anchoring", "Silence"))
    holder = make_master()
    give_skill(holder, area.micro_skills[0], Stage.MASTER)
    lister = make_master()
    db.session.add(PersonArea(person=lister, area=area, intent=AreaIntent.WANTS_NEXT))
    db.session.commit()
    client = login(make_admin())
    page = client.get("/admin/areas").get_data(as_text=True)
    assert re.search(
        r'data-confirm="Delete the area Negotiation and its 2 micro skill\(s\)\? '
        r"2 person\(s\) hold it",
        page,
    )
    assert client.post(f"/admin/areas/{area.id}/delete").status_code == 302
    assert count(Area) == 0 and count(MicroSkill) == 0
    assert count(PersonSkill) == 0 and count(PersonArea) == 0


def test_deleting_a_held_micro_skill_asks_and_counts_holders(login):
    area = make_area("Negotiation", skills=("Anchoring", "Silence"))
    anchoring = area.micro_skills[0]
    for _ in range(3):
        give_skill(make_master(), anchoring, Stage.MASTER)
    client = login(make_admin())
    page = client.get(f"/admin/areas/{area.id}").get_data(as_text=True)
    assert (
        'data-confirm="Delete the micro skill Negotiation: Anchoring? 3 person(s) hold it' in page
    )
    assert client.post(f"/admin/skills/{anchoring.id}/delete").status_code == 302
    assert count(MicroSkill) == 1 and count(PersonSkill) == 0


# --- Sites -------------------------------------------------------------------------------------


def test_create_and_edit_sites(login):
    client = login(make_admin())
    assert (
        client.post("/admin/sites", data={"name": "Leeds", "timezone": "Europe/London"}).status_code
        == 302
    )
    site = db.session.scalar(select(Site))
    assert (site.name, site.timezone) == ("Leeds", "Europe/London")
    assert (
        client.post(
            f"/admin/sites/{site.id}", data={"name": "Leeds Works", "timezone": "Europe/Dublin"}
        ).status_code
        == 302
    )
    db.session.refresh(site)
    assert (site.name, site.timezone) == ("Leeds Works", "Europe/Dublin")


def test_site_names_are_unique_and_time_zones_checked(login):
    make_site("Leeds")
    other = make_site("York")
    client = login(make_admin())
    page = client.post(
        "/admin/sites", data={"name": "leeds", "timezone": "Europe/London"}
    ).get_data(as_text=True)
    assert "A site named \u201cLeeds\u201d already exists." in page
    page = client.post(
        f"/admin/sites/{other.id}", data={"name": "LEEDS", "timezone": "Mars/Base"}
    ).get_data(as_text=True)
    assert "Choose a time zone from the list." in page
    page = client.post(
        f"/admin/sites/{other.id}", data={"name": "LEEDS", "timezone": "UTC"}
    ).get_data(as_text=True)
    assert "already exists" in page
    page = client.post("/admin/sites", data={"name": "", "timezone": "UTC"}).get_data(as_text=True)
    assert "Enter a name." in page
    assert count(Site) == 2
    db.session.refresh(other)
    assert other.name == "York" and other.timezone == "Europe/London"


def test_deleting_a_site_makes_its_people_remote(login):
    site = make_site("Leeds")
    person = make_master(site=site)
    client = login(make_admin())
    page = client.get("/admin/sites").get_data(as_text=True)
    assert 'data-confirm="Delete the site Leeds? Its 1 person(s) will become remote' in page
    page = client.post(f"/admin/sites/{site.id}/delete", follow_redirects=True).get_data(
        as_text=True
    )
    assert "1 person(s) there are now remote" in page
    assert count(Site) == 0
    db.session.refresh(person)
    assert person.site_id is None


# --- Outbox ------------------------------------------------------------------------------------


def test_outbox_lists_newest_first_and_shows_a_body(login):
    older = send_mail("old@example.org", "Older mail", "first body")
    older.created_at = datetime.now(UTC) - timedelta(days=1)
    send_mail("new@example.org", "Newer mail", "Follow this link: http://x/reset/abc")
    db.session.commit()
    client = login(make_admin())
    page = client.get("/admin/outbox").get_data(as_text=True)
    assert page.index("Newer mail") < page.index("Older mail")
    assert "new@example.org" in page and "outbox" in page
    newer = db.session.scalar(select(OutboxMessage).where(OutboxMessage.subject == "Newer mail"))
    body = client.get(f"/admin/outbox/{newer.id}").get_data(as_text=True)
    assert "Follow this link: http://x/reset/abc" in body
    assert client.get("/admin/outbox/999999").status_code == 404


def test_outbox_shows_password_reset_mail_without_its_link(client, app, sent_mail):
    person = make_person(email="forgetful@example.org")
    client.post("/forgot-password", data={"email": person.email})
    wait_for_background_jobs()
    admin = _sign_in(app, make_admin())
    page = admin.get("/admin/outbox").get_data(as_text=True)
    assert "forgetful@example.org" in page and "Reset your Mentor Match password" in page
    stored = db.session.scalar(select(OutboxMessage).where(OutboxMessage.recipient == person.email))
    body = admin.get(f"/admin/outbox/{stored.id}").get_data(as_text=True)
    (mail,) = sent_mail
    token = re.search(r"/reset-password/(\S+)", mail.body).group(1)
    assert "Follow this link within 60 minutes" in body and token not in body
    assert "only the recipient&#39;s mail holds it" in body


@pytest.mark.parametrize("count", [30])
def test_outbox_paginates(login, count):
    for n in range(count):
        send_mail("x@example.org", f"Mail {n:02d}", "body")
    db.session.commit()
    client = login(make_admin())
    assert "Page 1 of 2" in client.get("/admin/outbox").get_data(as_text=True)
    assert client.get("/admin/outbox?page=2").status_code == 200
