"""The demo organisation (`flask seed-demo`) and the default taxonomy (`flask taxonomy ...`)."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from mentor_match.demo.roster import NOT_CONFIRMING
from mentor_match.demo.seed import (
    DEMO_PASSWORD,
    FEATURED,
    MOST_WANTED,
    next_month_start,
    seed_demo_organisation,
)
from mentor_match.demo.taxonomy import DEFAULT_TAXONOMY, seed_default_taxonomy
from mentor_match.extensions import db
from mentor_match.home.services import NextStep, dashboard_for
from mentor_match.models import (
    Area,
    AreaIntent,
    AvailabilityChange,
    Endorsement,
    Feedback,
    FeedbackKind,
    MicroSkill,
    MonthPlan,
    Person,
    PersonArea,
    PersonSkill,
    PracticeAttempt,
    Round,
    RoundStatus,
    Site,
    Stage,
    StageSource,
    WeeklyWindow,
)
from mentor_match.optimizer import solve
from mentor_match.rounds.encoder import encode_round, person_id_of
from mentor_match.tracking.services import seats_to_confirm

from .conftest import REPO_ROOT, log_in
from .database import count
from .factories import make_area


def _counts() -> dict[str, int]:
    models = (
        Site,
        Person,
        Area,
        MicroSkill,
        PersonSkill,
        PersonArea,
        WeeklyWindow,
        AvailabilityChange,
        MonthPlan,
    )
    return {model.__name__: count(model) for model in models}


def _skill_snapshot() -> set[tuple]:
    rows = db.session.execute(
        select(
            Person.email,
            MicroSkill.name,
            PersonSkill.stage,
            PersonSkill.hosts,
            PersonSkill.develops,
            PersonSkill.stage_source,
            PersonSkill.stage_note,
            PersonSkill.decline_reason,
        )
        .join(PersonSkill.person)
        .join(PersonSkill.micro_skill)
    )
    return {tuple(row) for row in rows}


def _waiting_for_verification() -> list[PersonSkill]:
    """Stages by the definition the whole site uses: an active master's self-declared hosting
    stage above apprentice that nobody has declined."""
    return list(
        db.session.scalars(
            select(PersonSkill)
            .join(PersonSkill.person)
            .where(
                Person.active.is_(True),
                Person.is_master.is_(True),
                PersonSkill.hosts.is_(True),
                PersonSkill.stage != Stage.APPRENTICE,
                PersonSkill.stage_source == StageSource.SELF_DECLARED,
                PersonSkill.declined_at.is_(None),
            )
        )
    )


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

    today = datetime.now().astimezone().date()  # the machine's date, which the seed takes
    seed_month = next_month_start(today).strftime("%Y-%m")
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    before_last = (last_month - timedelta(days=1)).strftime("%Y-%m")
    past_months = [before_last, last_month.strftime("%Y-%m")]
    for person in people:
        assert person.weekly_windows, person.name
        assert person.bio
        # Next month's plan, and (for learning-time history) the two months before this one.
        assert sorted(plan.month for plan in person.month_plans) == [
            *past_months,
            seed_month,
        ], person.name
        if person.site is None:
            assert not any(window.in_person for window in person.weekly_windows), person.name
    assert count(AvailabilityChange) >= 2

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
    # Next month's plans, and the learning-time history's plans of October and November.
    assert set(db.session.scalars(select(MonthPlan.month))) == {"2026-10", "2026-11", "2027-01"}
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


def test_demo_masters_host_verified_stages_but_a_few_wait_and_one_was_declined():
    summary = seed_demo_organisation(today=date(2026, 12, 15))
    admin = db.session.scalar(select(Person).where(Person.is_admin.is_(True)))
    featured = {name for _, name in FEATURED}

    waiting = _waiting_for_verification()
    assert 3 <= len(waiting) <= 4
    assert sorted((h.person.name, h.micro_skill.full_name) for h in waiting) == sorted(
        (w.name, w.micro_skill) for w in summary.waiting_for_verification
    )
    assert all(h.stage == Stage.MASTER for h in waiting)
    declined = db.session.scalars(
        select(PersonSkill).where(PersonSkill.declined_at.is_not(None))
    ).all()
    assert len(declined) == 1 and declined[0].decline_reason.startswith("Not yet")
    assert declined[0].stage_source == StageSource.SELF_DECLARED and declined[0].hosts
    # Nobody the README offers as a log-in waits: their walkthrough needs verified hosts.
    assert not featured & {h.person.name for h in waiting + declined}

    unverified_hosting = set(waiting + declined)
    for held in db.session.scalars(select(PersonSkill).where(PersonSkill.hosts.is_(True))):
        assert held.stage_verified or held in unverified_hosting, (
            held.person.name,
            held.micro_skill.key,
        )
    by_source = {
        source: db.session.scalars(
            select(PersonSkill).where(PersonSkill.stage_source == source)
        ).all()
        for source in StageSource
    }
    assert all(h.stage_set_by_id == admin.id for h in by_source[StageSource.IMPORTED])
    assert all(h.stage_set_by_id == admin.id and h.stage_note for h in by_source[StageSource.ADMIN])
    assert (
        len(by_source[StageSource.IMPORTED])
        > len(by_source[StageSource.ADMIN])
        > len(by_source[StageSource.ENDORSED])
        >= 3
    )

    # An endorsed stage is a confirmation by another verified master of the same skill.
    endorsements = db.session.scalars(select(Endorsement)).all()
    assert len(endorsements) == len(by_source[StageSource.ENDORSED])
    for held in by_source[StageSource.ENDORSED]:
        row = next(
            e
            for e in endorsements
            if (e.person_id, e.micro_skill_id) == (held.person_id, held.micro_skill_id)
        )
        assert row.from_stage == row.to_stage == held.stage == Stage.MASTER
        assert row.endorsed_by_id == held.stage_set_by_id != held.person_id
        endorser = db.session.get(PersonSkill, (row.endorsed_by_id, held.micro_skill_id))
        assert endorser.stage == Stage.MASTER and endorser.stage_verified

    # A couple of apprentices keep stages on their own word, which is all a learner needs.
    self_declared_learners = {
        h.person.name for h in by_source[StageSource.SELF_DECLARED] if h.develops
    }
    assert len(self_declared_learners) >= 2 and not featured & self_declared_learners

    # Every most-wanted skill still has a verified host.
    for area, name in MOST_WANTED:
        hosts = db.session.scalars(
            select(PersonSkill)
            .join(PersonSkill.micro_skill)
            .where(MicroSkill.name == name, PersonSkill.hosts.is_(True))
        ).all()
        assert any(h.stage_verified for h in hosts), (area, name)


def test_the_demo_round_pairs_apprentices_with_verified_masters_only():
    seed_demo_organisation(today=date(2026, 12, 15))
    problem = encode_round(db.session.scalar(select(Round)))
    unverified = {
        (held.person_id, held.micro_skill.key)
        for held in db.session.scalars(
            select(PersonSkill).where(PersonSkill.stage_source == StageSource.SELF_DECLARED)
        )
    }
    # What the round encoder does when only verified masters host (the default).
    for master in problem["masters"]:
        master_id = person_id_of(master["id"])
        master["skills"] = {
            key: stage
            for key, stage in master["skills"].items()
            if (master_id, key) not in unverified
        }
    problem["masters"] = [master for master in problem["masters"] if master["skills"]]

    solution = solve(problem, time_limit=2, seed=0)

    paired = {pairing["apprentice"] for pairing in solution["pairings"]}
    assert len(paired) >= 0.6 * len(problem["apprentices"])
    for pairing in solution["pairings"]:
        master_id = person_id_of(pairing["master"])
        assert not {(master_id, key) for key in pairing["skills"]} & unverified


def test_the_demo_has_hours_to_confirm_and_practice_to_rate_for_its_featured_masters():
    """A newcomer signing in as Amara or James can try confirming attendance and rating
    practice at once; the history's feedback is dated when the practice happened."""
    seed_demo_organisation()
    by_name = {p.name: p for p in db.session.scalars(select(Person))}
    now = datetime.now(UTC)
    for name in ("Amara Okafor", "James Whitfield"):
        board = dashboard_for(by_name[name])
        assert board.next_steps[:2] == [NextStep.CONFIRM_ATTENDANCE, NextStep.RATE_PRACTICE], name
        assert (board.seats_to_confirm, board.practice_to_rate) == (3, 2), name
        seats = seats_to_confirm(by_name[name])
        assert all(seat.session.ends_at < now for seat in seats)
    waiting = db.session.scalars(
        select(PracticeAttempt).where(PracticeAttempt.master_id == by_name["Amara Okafor"].id)
    ).all()
    assert "Tom Gallagher" in {a.apprentice.name for a in waiting if a.feedback is None}
    rated = db.session.scalars(select(Feedback).where(Feedback.kind == FeedbackKind.PRACTICE)).all()
    assert len(rated) >= 20
    for feedback in rated:
        asked, practised = feedback.attempt.created_at, feedback.attempt.practised_on
        assert asked.date() in (practised, practised + timedelta(days=1))
        assert asked <= feedback.created_at <= asked + timedelta(hours=15)
        assert feedback.created_at == feedback.updated_at < now


def test_the_readme_says_who_has_confirmed_the_open_round_and_the_demo_port():
    seed_demo_organisation()
    confirmed = set(
        db.session.scalars(
            select(Person.name).join(MonthPlan).where(MonthPlan.confirmed_at.is_not(None))
        )
    )
    everyone = set(db.session.scalars(select(Person.name)))
    featured = {name for _, name in FEATURED}
    assert everyone - confirmed == featured | set(NOT_CONFIRMING)
    assert db.session.scalar(select(Round.status)) is RoundStatus.OPEN
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    demo = readme[: readme.index("## What it is")]
    assert "An open round for next month." in demo
    assert "Everyone has confirmed their month except the five log-ins" in demo
    assert len(featured) == 5
    assert all(name in " ".join(demo.split()) for name in NOT_CONFIRMING)
    assert "PORT=8000 make demo" in demo and "5000 when unset" in demo
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "PORT ?= 5000" in makefile and "--port $(PORT)" in makefile


def test_every_page_links_the_favicon_and_it_is_served(client):
    page = client.get("/").get_data(as_text=True)
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = client.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert icon.get_data(as_text=True).startswith("<svg ")
    icon.close()
    # Where a browser looks on what links no icon (a record's JSON, a feed): not a 404.
    fallback = client.get("/favicon.ico")
    assert (fallback.status_code, fallback.location) == (301, "/static/favicon.svg")
