"""A round's life through its services: snapshot, run, publish, answer, fill, favour."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    Notification,
    Pairing,
    Response,
    RoundRun,
    RoundStatus,
    RunKind,
    RunStatus,
    SessionObserver,
    ShadowingSession,
)
from mentor_match.rounds import answers, runs, solving
from mentor_match.rounds.encoder import encode_round
from mentor_match.rounds.publication import publish

from .factories import (
    give_skill,
    make_apprentice,
    make_month_plan,
    make_round,
    make_small_round_organisation,
    next_month,
)


@pytest.fixture
def organisation():
    return make_small_round_organisation()


def run_now(round_, kind=RunKind.FULL):
    run = runs.start_run(round_, None, kind=kind, time_limit=5)
    assert solving.perform_run(run.id) is True
    db.session.refresh(run)
    return run


def test_snapshot_holds_only_confirmed_people(organisation, verify_round):
    late = make_apprentice("Late Apprentice")
    give_skill(late, organisation["skill"], "apprentice", develops=True)
    make_month_plan(late, next_month())  # saved but never confirmed
    problem = encode_round(make_round())
    ids = {a["id"] for a in problem["apprentices"]}
    assert ids == {f"a-{p.id}" for p in organisation["apprentices"]}
    assert {m["id"] for m in problem["masters"]} == {f"m-{p.id}" for p in organisation["masters"]}
    master = problem["masters"][0]
    assert master["max_hosting_hours"] == 6 and master["max_apprentices"] == 2
    assert master["availability"] and master["availability"][0]["modes"] == ["in_person", "virtual"]


def test_run_solves_and_publish_creates_pairings_and_sessions(organisation, verify_round):
    round_ = make_round()
    run = run_now(round_)
    assert run.status is RunStatus.SUCCEEDED, run.error
    problem, solution = json.loads(run.problem_json), json.loads(run.solution_json)
    assert verify_round(problem, solution)["valid"]
    assert run.observation_hours == 12  # three apprentices, four hours each, room to spare

    result = publish(run)
    assert (
        result.pairings
        == len(solution["pairings"])
        == db.session.scalar(select(func.count()).select_from(Pairing))
    )
    seats = db.session.scalars(select(SessionObserver)).all()
    assert sum(seat.session.hours for seat in seats) == 12
    assert all(seat.session.mode.value in ("in_person", "virtual") for seat in seats)
    db.session.refresh(round_)
    assert round_.status is RoundStatus.PUBLISHED
    # Everyone paired hears about it on the site, with a mail waiting to go.
    told = db.session.scalar(select(func.count()).select_from(Notification))
    assert told == 5


def test_publishing_twice_publishes_once(organisation):
    round_ = make_round()
    run = run_now(round_)
    publish(run)
    pairings = db.session.scalar(select(func.count()).select_from(Pairing))
    with pytest.raises(Refusal, match="already been published"):
        publish(db.session.get(RoundRun, run.id))
    assert db.session.scalar(select(func.count()).select_from(Pairing)) == pairings


def test_second_run_while_one_is_under_way_is_refused(organisation):
    round_ = make_round()
    runs.start_run(round_, None, time_limit=5)
    with pytest.raises(Refusal, match="already under way"):
        runs.start_run(round_, None, time_limit=5)
    assert db.session.scalar(select(func.count()).select_from(RoundRun)) == 1


def test_a_job_delivered_twice_runs_once(organisation):
    run = runs.start_run(make_round(), None, time_limit=5)
    assert solving.perform_run(run.id) is True
    finished = db.session.get(RoundRun, run.id).finished_at
    assert solving.perform_run(run.id) is False
    db.session.expire_all()
    assert db.session.get(RoundRun, run.id).finished_at == finished


def test_declining_frees_sessions_and_a_fill_run_reuses_them(organisation, verify_round):
    round_ = make_round()
    publish(run_now(round_))
    pairing = db.session.scalars(select(Pairing)).first()
    apprentice = pairing.apprentice
    answers.respond(pairing, apprentice, accept=False)
    assert pairing.status is Response.DECLINED
    assert not db.session.scalars(
        select(SessionObserver).where(SessionObserver.pairing_id == pairing.id)
    ).all()

    fill = run_now(round_, RunKind.FILL)
    assert fill.status is RunStatus.SUCCEEDED, fill.error
    problem = json.loads(fill.problem_json)
    assert [f"a-{apprentice.id}", f"m-{pairing.master_id}"] in problem["exclude"]
    # Standing pairings keep their time: nobody is offered a slot they already spend.
    result = publish(fill)
    assert result.pairings <= 1


def test_answering_twice_is_refused(organisation):
    round_ = make_round()
    publish(run_now(round_))
    pairing = db.session.scalars(select(Pairing)).first()
    answers.respond(pairing, pairing.master, accept=True)
    with pytest.raises(Refusal, match="already answered"):
        answers.respond(pairing, pairing.master, accept=False)
    assert pairing.master_response is Response.ACCEPTED


def test_sessions_booked_in_the_month_come_off_the_snapshot(organisation):
    """A seat booked before the run takes its hours and its time from the apprentice."""
    from mentor_match.models import SessionMode

    apprentice, master = organisation["apprentices"][0], organisation["masters"][0]
    round_ = make_round()
    window = next(
        w
        for a in encode_round(round_)["apprentices"]
        if a["id"] == f"a-{apprentice.id}"
        for w in a["availability"]
    )
    starts_at = datetime.fromisoformat(window["start"])
    session = ShadowingSession(
        master_id=master.id,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        mode=SessionMode.VIRTUAL,
        seats=2,
    )
    db.session.add(session)
    db.session.flush()
    db.session.add(
        SessionObserver(
            session_id=session.id,
            apprentice_id=apprentice.id,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
        )
    )
    db.session.commit()
    problem = encode_round(round_)
    entry = next(a for a in problem["apprentices"] if a["id"] == f"a-{apprentice.id}")
    assert entry["max_hours"] == 3  # 4 wanted, 1 booked
    assert entry["availability"][0]["start"] != window["start"]
    host = next(m for m in problem["masters"] if m["id"] == f"m-{master.id}")
    assert host["max_hosting_hours"] == 5 and host["max_apprentices"] == 1


def test_publishing_and_confirming_are_in_the_event_log(organisation):
    from mentor_match.models import Event

    publish(run_now(make_round()))
    event = db.session.scalars(select(Event)).one()
    payload = json.loads(event.payload_json)
    assert event.kind == "round.published" and payload["pairings"] == db.session.scalar(
        select(func.count()).select_from(Pairing)
    )
