"""Profiles: seeing people, editing your own profile and micro skills, and finding people."""

import re

from mentor_match.extensions import db
from mentor_match.models import AreaIntent, PersonArea, PersonSkill, Stage

from .database import count
from .factories import (
    DEFAULT_PASSWORD,
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_master,
    make_person,
    make_site,
)

# --- Seeing a profile --------------------------------------------------------------------------


def test_pages_need_a_signed_in_person(client):
    person = make_master()
    for url in ("/people", f"/people/{person.id}", "/profile", "/profile/skills"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_profile_shows_roles_place_bio_skills_and_areas(login):
    site = make_site("Leeds Works")
    negotiation = make_area("Negotiation", skills=("Anchoring", "Silence"))
    writing = make_area("Writing")
    master = make_person(
        "Grace Hopper",
        is_master=True,
        is_apprentice=True,
        site=site,
        timezone="America/New_York",
        bio="I debug compilers.",
    )
    give_skill(master, negotiation.micro_skills[0], Stage.MASTER, hosts=True)
    give_skill(master, negotiation.micro_skills[1], Stage.APPRENTICE, develops=True)
    db.session.add_all(
        [
            PersonArea(person=master, area=negotiation, intent=AreaIntent.MASTERS_NOW),
            PersonArea(person=master, area=writing, intent=AreaIntent.WANTS_NEXT),
        ]
    )
    db.session.commit()
    client = login(make_apprentice())
    page = client.get(f"/people/{master.id}").get_data(as_text=True)
    assert "Grace Hopper" in page
    assert "Master" in page and "Apprentice" in page
    assert "Leeds Works" in page and "America/New York" in page
    assert "I debug compilers." in page
    assert "Anchoring" in page and "Silence" in page
    assert '<span class="badge master">Master</span>' in page
    assert '<span class="badge apprentice">Apprentice</span>' in page
    assert "Yes, hosts it" in page and "Yes, develops it" in page
    masters_now, wants_next = page.split("Masters now")[1].split("Wants to master next")
    assert "Negotiation" in masters_now and "Writing" not in masters_now
    assert "Writing" in wants_next.split("Micro skills")[0]


def test_remote_person_shows_remote(login):
    person = make_master("Remote Rita")
    page = login(make_apprentice()).get(f"/people/{person.id}").get_data(as_text=True)
    assert "Remote" in page


def test_inactive_profile_is_404_except_for_admins(app, login):
    gone = make_master("Gone Gary", active=False)
    assert login(make_apprentice()).get(f"/people/{gone.id}").status_code == 404
    admin_client = app.test_client()
    admin = make_admin()
    admin_client.post("/login", data={"email": admin.email, "password": DEFAULT_PASSWORD})
    page = admin_client.get(f"/people/{gone.id}")
    assert page.status_code == 200 and "Deactivated" in page.get_data(as_text=True)


def test_unknown_profile_is_404(login):
    assert login(make_master()).get("/people/999999").status_code == 404


# --- Editing one's own profile -----------------------------------------------------------------


def _profile_data(**overrides):
    data = {
        "name": "Ada Lovelace",
        "bio": "Notes on the engine.",
        "site": "0",
        "timezone": "Europe/London",
        "is_master": "y",
    }
    data.update(overrides)
    return data


def test_edit_profile_saves_every_field(login):
    site = make_site("Manchester")
    negotiation = make_area("Negotiation")
    writing = make_area("Writing")
    person = make_apprentice("Old Name")
    client = login(person)
    assert "Old Name" in client.get("/profile").get_data(as_text=True)
    response = client.post(
        "/profile",
        data=_profile_data(
            site=str(site.id),
            timezone="Asia/Tokyo",
            is_apprentice="y",
            masters_now=[str(negotiation.id)],
            wants_next=[str(writing.id)],
        ),
    )
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.name == "Ada Lovelace" and person.bio == "Notes on the engine."
    assert person.site == site and person.timezone == "Asia/Tokyo"
    assert person.is_master and person.is_apprentice
    assert {(link.area.name, link.intent) for link in person.areas} == {
        ("Negotiation", AreaIntent.MASTERS_NOW),
        ("Writing", AreaIntent.WANTS_NEXT),
    }

    # Moving an area from one list to none, and the site back to remote.
    response = client.post("/profile", data=_profile_data(masters_now=[str(negotiation.id)]))
    assert response.status_code == 302
    db.session.refresh(person)
    assert person.site is None and not person.is_apprentice
    assert [(link.area.name, link.intent) for link in person.areas] == [
        ("Negotiation", AreaIntent.MASTERS_NOW)
    ]


def test_edit_profile_refuses_bad_fields_and_saves_nothing(login):
    area = make_area("Negotiation")
    person = make_master("Kept Name", bio="Kept bio")
    client = login(person)
    response = client.post(
        "/profile",
        data=_profile_data(
            name="",
            bio="x" * 2001,
            site="99999",
            timezone="Mars/Olympus_Mons",
            is_master="",
            masters_now=[str(area.id)],
            wants_next=[str(area.id), "424242"],
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter your name." in page
    assert "Keep your bio to 2000 characters or fewer." in page
    assert "Choose a site from the list, or remote." in page
    assert "Choose a time zone from the list." in page
    assert "Choose master, apprentice, or both." in page
    assert "Choose areas from the list." in page
    assert "nothing has been saved" in page
    db.session.refresh(person)
    assert person.name == "Kept Name" and person.bio == "Kept bio" and person.is_master
    assert count(PersonArea) == 0


def test_an_area_cannot_be_both_mastered_and_wanted(login):
    area = make_area("Negotiation")
    person = make_master()
    page = (
        login(person)
        .post("/profile", data=_profile_data(masters_now=[str(area.id)], wants_next=[str(area.id)]))
        .get_data(as_text=True)
    )
    assert "cannot be both one you master now and one you want to master next" in page
    assert count(PersonArea) == 0


def test_dropping_a_role_clears_its_flags(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_person(is_master=True, is_apprentice=True)
    held = give_skill(person, skill, Stage.JOURNEYMAN, hosts=True, develops=True)
    response = login(person).post(
        "/profile", data=_profile_data(is_master="", is_apprentice="y"), follow_redirects=True
    )
    assert "no longer host 1 skill" in response.get_data(as_text=True)
    db.session.refresh(held)
    assert not held.hosts and held.develops


# --- Micro skills on a profile -----------------------------------------------------------------


def test_skills_page_offers_the_taxonomy_grouped_by_area(login):
    make_area("Negotiation", skills=("Anchoring",))
    make_area("Writing", skills=("Editing",))
    page = login(make_master()).get("/profile/skills").get_data(as_text=True)
    assert '<optgroup label="Negotiation">' in page and '<optgroup label="Writing">' in page
    assert "Anchoring" in page and "Editing" in page


def test_master_adds_a_hosted_skill(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_master()
    response = login(person).post(
        "/profile/skills", data={"micro_skill": str(skill.id), "stage": "journeyman", "hosts": "y"}
    )
    assert response.status_code == 302
    held = db.session.get(PersonSkill, (person.id, skill.id))
    assert held.stage == Stage.JOURNEYMAN and held.hosts and not held.develops


def test_hosting_refused_at_apprentice_stage(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    page = (
        login(make_master())
        .post(
            "/profile/skills",
            data={"micro_skill": str(skill.id), "stage": "apprentice", "hosts": "y"},
        )
        .get_data(as_text=True)
    )
    assert "only in a skill where you are a journeyman or a master" in page
    assert count(PersonSkill) == 0


def test_hosting_refused_for_someone_who_is_not_a_master(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    page = (
        login(make_apprentice())
        .post(
            "/profile/skills", data={"micro_skill": str(skill.id), "stage": "master", "hosts": "y"}
        )
        .get_data(as_text=True)
    )
    assert "Only masters can be observed." in page
    assert count(PersonSkill) == 0


def test_developing_refused_for_someone_who_is_not_an_apprentice(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    page = (
        login(make_master())
        .post(
            "/profile/skills",
            data={"micro_skill": str(skill.id), "stage": "apprentice", "develops": "y"},
        )
        .get_data(as_text=True)
    )
    assert "Only apprentices develop skills by observing." in page
    assert count(PersonSkill) == 0


def test_developing_refused_at_master_stage(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    page = (
        login(make_apprentice())
        .post(
            "/profile/skills",
            data={"micro_skill": str(skill.id), "stage": "master", "develops": "y"},
        )
        .get_data(as_text=True)
    )
    assert "You have mastered this skill already" in page
    assert count(PersonSkill) == 0


def test_apprentice_adds_a_skill_to_develop(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_apprentice()
    assert (
        login(person)
        .post(
            "/profile/skills",
            data={"micro_skill": str(skill.id), "stage": "apprentice", "develops": "y"},
        )
        .status_code
        == 302
    )
    held = db.session.get(PersonSkill, (person.id, skill.id))
    assert held.develops and held.stage == Stage.APPRENTICE


def test_the_same_skill_cannot_be_added_twice(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_master()
    give_skill(person, skill, Stage.MASTER)
    page = (
        login(person)
        .post("/profile/skills", data={"micro_skill": str(skill.id), "stage": "journeyman"})
        .get_data(as_text=True)
    )
    assert "Negotiation: Anchoring is already on your profile" in page
    assert db.session.get(PersonSkill, (person.id, skill.id)).stage == Stage.MASTER


def test_adding_refuses_unknown_skill_and_stage(login):
    make_area("Negotiation", skills=("Anchoring",))
    page = (
        login(make_master())
        .post("/profile/skills", data={"micro_skill": "987654", "stage": "grandmaster"})
        .get_data(as_text=True)
    )
    assert "Choose a micro skill from the list." in page
    assert "Choose a stage from the list." in page
    assert count(PersonSkill) == 0


def test_change_stage_and_flags(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_person(is_master=True, is_apprentice=True)
    held = give_skill(person, skill, Stage.APPRENTICE, develops=True)
    client = login(person)
    prefix = f"skill-{skill.id}-"
    response = client.post(
        f"/profile/skills/{skill.id}", data={prefix + "stage": "master", prefix + "hosts": "y"}
    )
    assert response.status_code == 302
    db.session.refresh(held)
    assert held.stage == Stage.MASTER and held.hosts and not held.develops


def test_change_refused_leaves_the_skill_as_it_was(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_master()
    held = give_skill(person, skill, Stage.MASTER, hosts=True)
    prefix = f"skill-{skill.id}-"
    page = (
        login(person)
        .post(
            f"/profile/skills/{skill.id}",
            data={prefix + "stage": "apprentice", prefix + "hosts": "y"},
        )
        .get_data(as_text=True)
    )
    assert "only in a skill where you are a journeyman or a master" in page
    db.session.refresh(held)
    assert held.stage == Stage.MASTER and held.hosts


def test_remove_a_skill_and_cannot_touch_others(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_master()
    other = make_master()
    give_skill(person, skill, Stage.MASTER)
    give_skill(other, skill, Stage.MASTER)
    client = login(person)
    assert client.post(f"/profile/skills/{skill.id}/remove").status_code == 302
    assert db.session.get(PersonSkill, (person.id, skill.id)) is None
    assert db.session.get(PersonSkill, (other.id, skill.id)) is not None
    # Not on my profile any more: nothing to change or remove.
    assert client.post(f"/profile/skills/{skill.id}/remove").status_code == 404
    assert client.post(f"/profile/skills/{skill.id}", data={}).status_code == 404


def test_skill_actions_need_csrf(client, csrf_enabled):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    person = make_master()
    give_skill(person, skill, Stage.MASTER)
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"',
        client.get("/login").get_data(as_text=True),
    ).group(1)
    assert (
        client.post(
            "/login",
            data={"email": person.email, "password": DEFAULT_PASSWORD, "csrf_token": token},
        ).status_code
        == 302
    )
    assert client.post(f"/profile/skills/{skill.id}/remove").status_code == 400
    assert db.session.get(PersonSkill, (person.id, skill.id)) is not None


# --- Finding people ----------------------------------------------------------------------------


def _names(page: str, *candidates: str) -> set[str]:
    return {name for name in candidates if name in page}


def test_search_by_skill_and_min_stage(login):
    area = make_area("Negotiation", skills=("Anchoring", "Silence"))
    anchoring, silence = area.micro_skills
    journeyman = make_master("Jo Journeyman")
    give_skill(journeyman, anchoring, Stage.JOURNEYMAN, hosts=True)
    master = make_master("Max Master")
    give_skill(master, anchoring, Stage.MASTER, hosts=True)
    quiet = make_master("Sam Silence")
    give_skill(quiet, silence, Stage.MASTER, hosts=True)
    client = login(make_apprentice("Searcher"))
    names = ("Jo Journeyman", "Max Master", "Sam Silence")

    page = client.get(f"/people?what=skill-{anchoring.id}&min_stage=master").get_data(as_text=True)
    assert _names(page, *names) == {"Max Master"}
    page = client.get(f"/people?what=skill-{anchoring.id}&min_stage=journeyman").get_data(
        as_text=True
    )
    assert _names(page, *names) == {"Jo Journeyman", "Max Master"}
    page = client.get(f"/people?what=area-{area.id}&min_stage=master").get_data(as_text=True)
    assert _names(page, *names) == {"Max Master", "Sam Silence"}
    assert "Hosts" in page


def test_search_hosts_only(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    give_skill(make_master("Hosting Hana"), skill, Stage.MASTER, hosts=True)
    give_skill(make_master("Private Pat"), skill, Stage.MASTER)
    client = login(make_apprentice())
    page = client.get(f"/people?what=skill-{skill.id}&hosts_only=y").get_data(as_text=True)
    assert _names(page, "Hosting Hana", "Private Pat") == {"Hosting Hana"}
    page = client.get(f"/people?what=skill-{skill.id}").get_data(as_text=True)
    assert _names(page, "Hosting Hana", "Private Pat") == {"Hosting Hana", "Private Pat"}


def test_search_by_site_and_mode(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    leeds, york = make_site("Leeds"), make_site("York")
    for name, site in (("In Leeds", leeds), ("In York", york), ("At Home", None)):
        give_skill(make_master(name, site=site), skill, Stage.MASTER, hosts=True)
    client = login(make_apprentice())
    names = ("In Leeds", "In York", "At Home")
    base = f"/people?what=skill-{skill.id}"
    assert _names(client.get(f"{base}&mode=in_person").get_data(as_text=True), *names) == {
        "In Leeds",
        "In York",
    }
    assert _names(
        client.get(f"{base}&mode=in_person&site={leeds.id}").get_data(as_text=True), *names
    ) == {"In Leeds"}
    assert _names(client.get(f"{base}&mode=video").get_data(as_text=True), *names) == set(names)


def test_search_excludes_inactive_people(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    give_skill(make_master("Active Ann"), skill, Stage.MASTER)
    give_skill(make_master("Gone Gus", active=False), skill, Stage.MASTER)
    client = login(make_apprentice())
    for url in ("/people", f"/people?what=skill-{skill.id}"):
        page = client.get(url).get_data(as_text=True)
        assert "Active Ann" in page and "Gone Gus" not in page


def test_search_with_bad_parameters_says_so(login):
    client = login(make_apprentice())
    response = client.get("/people?what=skill-abc&min_stage=grandmaster&site=nowhere&mode=teleport")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Choose a micro skill or an area from the list." in page
    assert "Choose a stage from the list." in page
    assert "Choose a site from the list." in page
    assert "Choose in person, video, or either." in page
    assert client.get("/people?page=abc").status_code == 200
    assert client.get("/people?page=-3").status_code == 200


def test_search_paginates_25_per_page(login):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    for n in range(30):
        give_skill(make_master(f"Master {n:02d}"), skill, Stage.MASTER)
    client = login(make_apprentice("Zed Searcher"))
    first = client.get(f"/people?what=skill-{skill.id}").get_data(as_text=True)
    assert "30 people found" in first and "Page 1 of 2" in first
    assert "Master 00" in first and "Master 24" in first and "Master 25" not in first
    assert f"what=skill-{skill.id}" in first.split('rel="next"')[1].split(">")[0]
    second = client.get(f"/people?what=skill-{skill.id}&page=2").get_data(as_text=True)
    assert "Master 25" in second and "Master 29" in second and "Master 24" not in second
    beyond = client.get(f"/people?what=skill-{skill.id}&page=9")
    assert beyond.status_code == 200 and "No one matches on this page" in beyond.get_data(
        as_text=True
    )
