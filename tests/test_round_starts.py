"""Sessions start at times a person would choose (issue 22): on a 15-minute grid, a master
whose zone keeps whole or half hours gets sessions on their :00 and :30 only."""

import json
from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from mentor_match.availability.expansion import Month
from mentor_match.extensions import db
from mentor_match.models import RunKind, RunStatus, ShadowingSession
from mentor_match.optimizer import ProblemError, load_problem, solve
from mentor_match.optimizer.generator import generate_round
from mentor_match.rounds import runs, solving
from mentor_match.rounds.encoder import encode_round
from mentor_match.rounds.publication import publish

from .factories import (
    give_skill,
    make_apprentice,
    make_area,
    make_confirmed_plan,
    make_master,
    make_round,
    make_site,
    make_weekly_window,
)


def _start_minute(iso: str, zone: str) -> int:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(ZoneInfo(zone)).minute


def _kathmandu_apprentice_london_master() -> dict:
    """A remote apprentice in Kathmandu free 14:00-18:00 (08:15-12:15 in London in winter)
    and a London master free 08:00-13:00, every Tuesday, with room for all of it."""
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    master = make_master("London Master", site=make_site("London office", "Europe/London"))
    apprentice = make_apprentice("Kathmandu Apprentice", timezone="Asia/Kathmandu")
    give_skill(master, skill, "master", hosts=True)
    give_skill(apprentice, skill, "apprentice", develops=True)
    make_weekly_window(master, weekday=1, start=time(8), end=time(13))
    make_weekly_window(apprentice, weekday=1, start=time(14), end=time(18))
    for person in (master, apprentice):
        make_confirmed_plan(person, max_hosting_hours=20, observation_hours=20, max_apprentices=2)
    return {"master": master, "apprentice": apprentice}


def test_a_london_master_starts_on_the_half_hour_beside_kathmandu(app, verify_round):
    # Before: the round is on a 15-minute grid for Kathmandu, and every Tuesday's session
    # ran 08:15-12:15 London time.
    people = _kathmandu_apprentice_london_master()
    round_ = make_round()
    problem = encode_round(round_)
    assert problem["slot_minutes"] == 15
    assert problem["masters"][0]["start_minutes"] == 30
    assert "start_minutes" not in problem["apprentices"][0]

    run = runs.start_run(round_, None, kind=RunKind.FULL, time_limit=5)
    assert solving.perform_run(run.id) is True
    db.session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED, run.error
    problem, solution = json.loads(run.problem_json), json.loads(run.solution_json)
    assert verify_round(problem, solution)["valid"]
    tuesdays = sum(1 for day in Month.parse(round_.month).days if day.weekday() == 1)
    (pairing,) = solution["pairings"]
    starts = {_start_minute(s["start"], "Europe/London") for s in pairing["sessions"]}
    assert starts == {30}  # 08:30: the common time from 08:15, on the master's half hour
    assert len(pairing["sessions"]) == tuesdays
    assert run.observation_hours == 3.75 * tuesdays  # 08:30-12:15: a quarter hour a week

    publish(run)
    sessions = db.session.scalars(db.select(ShadowingSession)).all()
    london = {s.starts_at.astimezone(people["master"].zone).time() for s in sessions}
    assert london == {time(8, 30)}


def test_a_kathmandu_master_keeps_quarter_hour_starts(app):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    master = make_master("Kathmandu Master", timezone="Asia/Kathmandu")
    apprentice = make_apprentice("London Apprentice")
    give_skill(master, skill, "master", hosts=True)
    give_skill(apprentice, skill, "apprentice", develops=True)
    for person in (master, apprentice):
        make_weekly_window(person, weekday=1, start=time(9), end=time(17))
        make_confirmed_plan(person, max_hosting_hours=8, observation_hours=8)
    problem = encode_round(make_round())
    assert problem["slot_minutes"] == 15
    assert "start_minutes" not in problem["masters"][0]  # their own :00 is a quarter hour


def test_on_a_half_hour_grid_no_master_is_held_to_a_step(app):
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    master = make_master("London Master", site=make_site("London office", "Europe/London"))
    apprentice = make_apprentice("Bangalore Apprentice", timezone="Asia/Kolkata")
    give_skill(master, skill, "master", hosts=True)
    give_skill(apprentice, skill, "apprentice", develops=True)
    for person in (master, apprentice):
        make_weekly_window(person, weekday=1, start=time(9), end=time(17))
        make_confirmed_plan(person, max_hosting_hours=8, observation_hours=8)
    problem = encode_round(make_round())
    assert problem["slot_minutes"] == 30
    assert "start_minutes" not in problem["masters"][0]


# The optimizer on generated rounds: pure, no app -------------------------------------------


@pytest.mark.database_independent
@pytest.mark.parametrize(
    "size, limit", [((60, 20), 4.0), ((300, 60), 6.0)], ids=["60x20", "300x60"]
)
def test_every_session_with_a_stepped_master_starts_on_the_half_hour(size, limit, verify_round):
    problem = generate_round(*size, seed=3, slot_minutes=15)
    steps = {m["id"]: m.get("start_minutes", 0) for m in problem["masters"]}
    assert 0 < sum(1 for step in steps.values() if step) < len(steps)  # Kathmandu has none
    solution = solve(problem, time_limit=limit, seed=0)
    assert verify_round(problem, solution)["valid"]
    stepped = [
        session
        for pairing in solution["pairings"]
        if steps[pairing["master"]]
        for session in pairing["sessions"]
    ]
    assert len(stepped) > 20
    assert {_start_minute(s["start"], "UTC") % 30 for s in stepped} == {0}
    # Kathmandu's masters are not held to it, and the grid is used for them.
    free = [
        session
        for pairing in solution["pairings"]
        if not steps[pairing["master"]]
        for session in pairing["sessions"]
    ]
    assert free


@pytest.mark.database_independent
@pytest.mark.parametrize("value", [20, -30, 50, "30"])
def test_a_start_step_off_the_grid_is_refused(value):
    problem = generate_round(4, 2, seed=0, slot_minutes=15)
    problem["masters"][0]["start_minutes"] = value
    with pytest.raises(ProblemError) as refused:
        load_problem(problem)
    assert refused.value.path == "masters[0].start_minutes"
