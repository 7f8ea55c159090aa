"""The demo organisation (`flask seed-demo`) and the default taxonomy (`flask taxonomy ...`)."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from mentor_match.demo.seed import DEMO_PASSWORD, next_month_start, seed_demo_organisation
from mentor_match.demo.taxonomy import DEFAULT_TAXONOMY, seed_default_taxonomy
from mentor_match.extensions import db
from mentor_match.models import (
    Area,
    AreaIntent,
    AvailabilityChange,
    MicroSkill,
    MonthPlan,
    Person,
    PersonArea,
    PersonSkill,
    Site,
    Stage,
    WeeklyWindow,
)

from .conftest import log_in
from .factories import make_area


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _counts() -> dict[str, int]:
    models = (Site, Person, Area, MicroSkill, PersonSkill, PersonArea, WeeklyWindow,
              AvailabilityChange, MonthPlan)
    return {model.__name__: _count(model) for model in models}


def _skill_snapshot() -> set[tuple[str, str, str, bool, bool]]:
    rows = db.session.execute(
        select(
            Person.email, MicroSkill.name, PersonSkill.stage, PersonSkill.hosts, PersonSkill.develops
        ).join(PersonSkill.person).join(PersonSkill.micro_skill)
    )
    return {tuple(row) for row in rows}


def _has_half_hour_offset(zone_name: str) -> bool:
    zone = ZoneInfo(zone_name)
    return any(
        datetime(2026, month, 1, 12, tzinfo=zone).utcoffset().total_seconds() % 3600
        for month in (1, 7)
    )


def test_seed_demo_builds_a_believable_organisation(runner, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert DEMO_PASSWORD in result.output
    assert "morgan.ellis@example.com" in result.output

    sites = db.session.scalars(select(Site)).all()
    assert len(sites) >= 4
    assert any(_has_half_hour_offset(site.timezone) for site in sites)

    people = db.session.scalars(select(Person)).all()
    assert 55 <= len(people) <= 65
    assert any(p.is_admin for p in people)
    assert any(p.is_master and p.is_apprentice for p in people)
    assert any(p.is_master and not p.is_apprentice for p in people)
    assert any(p.is_apprentice and not p.is_master for p in people)
    remote = [p for p in people if p.site is None]
    assert remote and all(p.timezone != "UTC" for p in remote)
    # One scrypt hash shared by everyone: seeding must not hash sixty passwords.
    assert len({p.password_hash for p in people}) == 1

    seed_month = next_month_start(date.today()).strftime("%Y-%m")
    for person in people:
        assert person.weekly_windows, person.name
        assert person.bio
        assert [plan.month for plan in person.month_plans] == [seed_month]
        if person.site is None:
            assert not any(window.in_person for window in person.weekly_windows), person.name
    assert _count(AvailabilityChange) >= 2

    admin = next(p for p in people if p.is_admin)
    assert log_in(client, admin, DEMO_PASSWORD).status_code == 302


def test_skills_follow_the_stage_rules_and_the_most_wanted_are_scarce():
    summary = seed_demo_organisation(today=date(2026, 12, 15))
    for held in db.session.scalars(select(PersonSkill)):
        if held.hosts:
            assert held.person.is_master and held.stage != Stage.APPRENTICE
        if held.develops:
            assert held.person.is_apprentice and held.stage != Stage.MASTER
    for area in db.session.scalars(select(PersonArea)):
        if area.intent == AreaIntent.MASTERS_NOW:
            assert area.person.is_master
        else:
            assert area.person.is_apprentice
    assert summary.scarce_skills
    for skill in summary.scarce_skills:
        assert 1 <= skill.hosted_by < skill.wanted_by, skill


def test_month_plans_and_changes_fall_in_the_next_month_across_a_new_year():
    seed_demo_organisation(today=date(2026, 12, 15))
    assert set(db.session.scalars(select(MonthPlan.month))) == {"2027-01"}
    days = db.session.scalars(select(AvailabilityChange.day)).all()
    assert days and all((day.year, day.month) == (2027, 1) for day in days)


def test_seed_demo_twice_without_reset_changes_nothing(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before = _counts()
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0
    assert "already seeded" in again.output
    assert _counts() == before


def test_seed_demo_reset_wipes_and_gives_the_same_organisation(runner):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    before, skills = _counts(), _skill_snapshot()
    db.session.add(Person(name="Stray Person", email="stray@example.org", password_hash="x"))
    db.session.commit()

    result = runner.invoke(args=["seed-demo", "--reset"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert _counts() == before
    assert _skill_snapshot() == skills
    assert db.session.scalar(select(Person).where(Person.email == "stray@example.org")) is None


def test_default_taxonomy_seeding_is_idempotent():
    expected = len(DEFAULT_TAXONOMY) + sum(len(area.micro_skills) for area in DEFAULT_TAXONOMY)
    assert seed_default_taxonomy() == expected
    db.session.commit()
    assert seed_default_taxonomy() == 0
    areas = db.session.scalars(select(Area)).all()
    assert 6 <= len(areas) <= 8
    assert all(4 <= len(area.micro_skills) <= 6 for area in areas)
    assert all(skill.description for area in areas for skill in area.micro_skills)


def test_default_taxonomy_fills_gaps_without_duplicating_existing_names(runner):
    make_area("coaching", skills=("powerful questioning",))
    result = runner.invoke(args=["taxonomy", "seed-default"])
    assert result.exit_code == 0, result.output
    assert "Added" in result.output
    db.session.expire_all()
    coaching = db.session.scalars(select(Area).where(func.lower(Area.name) == "coaching")).all()
    assert len(coaching) == 1
    names = [skill.name.lower() for skill in coaching[0].micro_skills]
    assert names.count("powerful questioning") == 1 and len(names) == 5

    again = runner.invoke(args=["taxonomy", "seed-default"])
    assert "nothing added" in again.output
