"""A grid that fits the people: rounds are cut into 60, 30 or 15-minute slots by their zones."""

import json
from datetime import UTC, datetime, time

import pytest

from mentor_match.availability.expansion import Month
from mentor_match.extensions import db
from mentor_match.models import RunKind, RunStatus
from mentor_match.rounds import runs, solving
from mentor_match.rounds.encoder import encode_round
from mentor_match.rounds.publication import publish
from mentor_match.zones import grid_minutes, month_grid_minutes

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

# Which grid fits these zones in this month: pure, no app -----------------------------------


@pytest.mark.parametrize(
    ("zones", "month", "grid"),
    [
        (["Europe/London"], "2026-12", 60),
        (
            ["Europe/London", "America/New_York", "Asia/Tokyo"],
            "2026-03",
            60,
        ),  # clocks change, whole hours
        (["Europe/London", "Asia/Kolkata"], "2026-12", 30),
        (["Asia/Tehran"], "2026-06", 30),
        (["America/St_Johns"], "2026-03", 30),  # -03:30 then -02:30
        (["Australia/Adelaide"], "2026-12", 30),
        (["Asia/Kathmandu"], "2026-12", 15),
        (["Asia/Kolkata", "Asia/Kathmandu", "Europe/London"], "2026-12", 15),
        (["Pacific/Chatham"], "2026-12", 15),
        # Lord Howe is +11:00 in summer and +10:30 in winter.
        (["Australia/Lord_Howe"], "2026-01", 60),
        (["Australia/Lord_Howe"], "2026-04", 30),  # +11:00 on the 1st, +10:30 from the 5th
        (["Australia/Lord_Howe"], "2026-07", 30),
        ([], "2026-12", 60),
        (["Not/A_Zone"], "2026-12", 60),  # read as UTC, as everywhere else
    ],
)
@pytest.mark.database_independent
def test_the_grid_fits_every_offset_in_the_month(zones, month, grid):
    assert month_grid_minutes(zones, Month.parse(month)) == grid


@pytest.mark.database_independent
def test_an_offset_in_the_days_around_the_month_counts():
    """Lord Howe goes to +10:30 at 15:00 UTC on 4 April: a span ending before is whole hours."""
    before = grid_minutes(
        ["Australia/Lord_Howe"],
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 4, 14, tzinfo=UTC),
    )
    across = grid_minutes(
        ["Australia/Lord_Howe"],
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 4, 16, tzinfo=UTC),
    )
    assert (before, across) == (60, 30)


# The round's snapshot and run on that grid -------------------------------------------------


def _pair_in(zone: str, start: time, end: time, *, hours: int = 12) -> dict:
    """A master and an apprentice at one site in `zone`, both free start-end every Tuesday."""
    site = make_site(f"Office in {zone}", zone)
    skill = make_area("Negotiation", skills=("Anchoring",)).micro_skills[0]
    master = make_master("Local Master", site=site, timezone=zone, open_to_bookings=True)
    apprentice = make_apprentice("Local Apprentice", site=site, timezone=zone)
    give_skill(master, skill, "master", hosts=True)
    give_skill(apprentice, skill, "apprentice", develops=True)
    for person in (master, apprentice):
        make_weekly_window(person, weekday=1, start=start, end=end)
        make_confirmed_plan(
            person, max_hosting_hours=hours, observation_hours=hours, max_apprentices=2
        )
    return {"master": master, "apprentice": apprentice, "site": site}


def _tuesdays(month: str) -> int:
    return sum(1 for day in Month.parse(month).days if day.weekday() == 1)


def _run(round_):
    run = runs.start_run(round_, None, kind=RunKind.FULL, time_limit=5)
    assert solving.perform_run(run.id) is True
    db.session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return run


def test_bangalore_pair_gets_all_their_common_time(app, verify_round):
    """The issue's example: 10:00-12:00 IST is 04:30-06:30 UTC; an hourly grid kept only half."""
    _pair_in("Asia/Kolkata", time(10), time(12))
    round_ = make_round()
    run = _run(round_)
    problem, solution = json.loads(run.problem_json), json.loads(run.solution_json)
    assert problem["slot_minutes"] == 30
    assert problem["masters"][0]["availability"][0]["start"].endswith("T04:30:00Z")
    assert verify_round(problem, solution)["valid"]
    assert run.observation_hours == 2 * _tuesdays(round_.month)

    publish(run)
    from mentor_match.models import ShadowingSession

    sessions = db.session.scalars(db.select(ShadowingSession)).all()
    assert sum(session.hours for session in sessions) == 2 * _tuesdays(round_.month)
    kolkata = {session.starts_at.astimezone(sessions[0].master.zone).time() for session in sessions}
    assert kolkata == {time(10)}


def test_nepal_gets_quarter_hour_slots(app, verify_round):
    """10:00 in Kathmandu is 04:15 UTC."""
    _pair_in("Asia/Kathmandu", time(10), time(12))
    round_ = make_round()
    run = _run(round_)
    problem, solution = json.loads(run.problem_json), json.loads(run.solution_json)
    assert problem["slot_minutes"] == 15
    assert problem["apprentices"][0]["availability"][0]["start"].endswith("T04:15:00Z")
    assert verify_round(problem, solution)["valid"]
    assert run.observation_hours == 2 * _tuesdays(round_.month)


def test_a_london_round_stays_on_the_hour(app):
    _pair_in("Europe/London", time(9), time(12))
    problem = encode_round(make_round())
    assert problem["slot_minutes"] == 60
    assert problem["masters"][0]["max_hosting_hours"] == 12  # whole hours stay whole numbers


def test_limits_left_are_cut_to_whole_slots(app):
    """Hours already booked come off the plan; what is left is counted in the round's slots."""
    from datetime import timedelta

    from mentor_match.booking import actions
    from mentor_match.models import SessionMode

    people = _pair_in("Asia/Kolkata", time(10), time(12), hours=5)
    round_ = make_round()
    month = Month.parse(round_.month)
    tuesday = next(day for day in month.days if day.weekday() == 1)
    zone = people["master"].zone
    starts_at = datetime.combine(tuesday, time(10), zone).astimezone(UTC)
    actions.book(
        people["apprentice"],
        people["master"],
        starts_at,
        starts_at + timedelta(minutes=90),
        SessionMode.VIRTUAL,
    )
    problem = encode_round(round_)
    assert problem["slot_minutes"] == 30
    assert problem["masters"][0]["max_hosting_hours"] == 3.5
    assert problem["apprentices"][0]["max_hours"] == 3.5
    # The booked 10:00-11:30 is out of that Tuesday's availability: 11:30-12:00 is left.
    windows = [
        w for w in problem["masters"][0]["availability"] if w["start"].startswith(str(tuesday))
    ]
    assert [(w["start"], w["end"]) for w in windows] == [
        (f"{tuesday}T06:00:00Z", f"{tuesday}T06:30:00Z")
    ]
