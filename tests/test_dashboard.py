"""The dashboard: what a person should do next, in order; their next sessions, the round that
asks them to confirm or left them out, their checklist.

Its facts come in one statement, which also says which halves of the diary (hosting,
observing) have sessions ahead; these tests hold it to what the diary itself shows.
"""

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from mentor_match.availability.expansion import Month
from mentor_match.booking import actions
from mentor_match.extensions import db
from mentor_match.home.services import NextStep, dashboard_for
from mentor_match.models import (
    MicroSkill,
    MonthPlan,
    Pairing,
    Person,
    Round,
    RoundRun,
    RunStatus,
    SessionMode,
    utcnow,
)
from mentor_match.rounds.encoder import apprentice_ref, master_ref
from mentor_match.rounds.publication import publish
from mentor_match.tracking import services as tracking

from .conftest import log_in, recorded_statements
from .database import move_into_the_past
from .factories import (
    first_open_slot,
    give_skill,
    make_admin,
    make_apprentice,
    make_master,
    make_micro_skill,
    make_round,
    make_weekly_window,
    next_month,
)

HOUR = timedelta(hours=1)
LONDON = ZoneInfo("Europe/London")
TODAY = datetime.now(LONDON).date()  # the office's apprentices practise in London


def _dashboard(app, person: Person) -> str:
    """The person's dashboard, seen on a client of their own."""
    client = app.test_client()
    assert log_in(client, person).status_code == 302
    return client.get("/dashboard").get_data(as_text=True)


def test_the_host_and_the_observer_each_see_their_next_session(app, office):
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    actions.book(tom, master, slot.starts_at, slot.starts_at + HOUR, SessionMode.VIRTUAL)
    assert "You observe Amara Master" in _dashboard(app, tom)
    hosting = _dashboard(app, master)
    assert "Your next sessions" in hosting and "You host 1 observer" in hosting
    priya = office["apprentices"][1]
    assert "Your next sessions" not in _dashboard(app, priya)


def test_a_cancelled_seat_leaves_the_dashboard(app, office):
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    seat = actions.book(tom, master, slot.starts_at, slot.starts_at + HOUR, SessionMode.VIRTUAL)
    actions.cancel_seat(tom, seat)
    assert "Your next sessions" not in _dashboard(app, tom)
    assert "Your next sessions" not in _dashboard(app, master)


def test_someone_who_hosts_and_observes_sees_both_soonest_first(app, office):
    master, tom = office["master"], office["apprentices"][0]
    later = first_open_slot(master, tom, day_offset=1)
    actions.book(tom, master, later.starts_at, later.starts_at + HOUR, SessionMode.VIRTUAL)
    # Tom also hosts a session of his own, sooner than the one he observes.
    tom.is_master = True
    give_skill(tom, make_micro_skill("Active listening"), "master", hosts=True)
    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    actions.open_session(tom, soon, soon + timedelta(hours=1), SessionMode.VIRTUAL, 3, None, "")
    page = _dashboard(app, tom)
    assert page.index("You host 0 observers") < page.index("You observe Amara Master")


def test_an_open_round_asks_masters_and_apprentices_to_confirm(app, office):
    make_round(next_month())
    tom, priya = office["apprentices"][:2]
    plan = db.session.scalar(select(MonthPlan).where(MonthPlan.person_id == priya.id))
    plan.confirmed_at = utcnow()
    db.session.commit()
    asked = _dashboard(app, tom)
    assert (
        f"The {Month.parse(next_month()).label} matching round is open" in asked
        and "Check and confirm" in asked
    )
    confirmed = _dashboard(app, priya)
    assert "You confirmed on" in confirmed and "Check and confirm" not in confirmed
    # An admin who neither hosts nor observes is not asked.
    assert "matching round is open" not in _dashboard(app, make_admin())


def test_no_open_round_no_call(app, office):
    assert "matching round is open" not in _dashboard(app, office["apprentices"][0])


def test_a_hosts_next_sessions_come_with_their_skill_area_and_site_in_one_statement(app, office):
    """The host's half of the diary joins each session's micro skill, area and site; only the
    observers (a collection) follow, by one IN query: four statements in all, not six."""
    master, tom = office["master"], office["apprentices"][0]
    slot = first_open_slot(master, tom)
    actions.book(tom, master, slot.starts_at, slot.starts_at + HOUR, SessionMode.VIRTUAL)
    client = app.test_client()
    assert log_in(client, master).status_code == 302
    client.get("/dashboard")  # the first visit after signing in is like any other; warm it
    db.session.close()
    with recorded_statements() as seen:
        page = client.get("/dashboard").get_data(as_text=True)
    assert "You host 1 observer" in page and "Negotiation: Anchoring" in page
    details = [s for s, _ in seen if "micro_skills" in s or "areas" in s]
    assert len(details) == 1, details
    assert "FROM shadowing_sessions" in details[0] and "JOIN sites" in details[0], details
    # The person, the facts, the hosted sessions, their observers; then whether any learning
    # time is granted to mark (the organisation's allowance, the person's own): none here.
    assert len(seen) == 6, seen


def test_a_self_declared_master_is_asked_to_have_their_stage_verified(app, office):
    from mentor_match.models import StageSource

    claimant = make_master("Claimant")
    held = give_skill(
        claimant, office["skill"], "master", hosts=True, source=StageSource.SELF_DECLARED
    )
    step = "Have a stage you host verified by an admin or a verified master in the skill"
    page = _dashboard(app, claimant)
    assert f'<li class="todo"><a href="/profile/skills">{step}</a></li>' in page
    assert page.index(step) < page.index("Set your weekly availability")
    held.stage_source = StageSource.ADMIN
    db.session.commit()
    assert (
        f'<li class="done"><a href="/profile/skills">{step}</a> <span class="muted">(done)</span>'
        in _dashboard(app, claimant)
    )


# What to do next, in order ---------------------------------------------------------------------


def publish_round(
    month: str,
    paired: list[tuple[Person, Person, MicroSkill]],
    left_out: list[tuple[Person, str, MicroSkill]],
) -> Round:
    """The round of `month`, published from a run written by hand: each (apprentice, master,
    skill) paired for two hours on video on the 10th, each (apprentice, reason code, skill
    wanted) left out with that code. The run's own sentence for each is for the admin, in the
    third person, as a review would word it: the apprentice must not be shown it."""
    round_ = make_round(month)

    def apprentice(person: Person, skill: MicroSkill) -> dict:
        return {
            "id": apprentice_ref(person.id),
            "person": f"p-{person.id}",
            "site": None,
            "wants": {skill.key: "apprentice"},
            "max_hours": 6,
            "max_masters": 2,
            "availability": [],
        }

    masters = {master.id: (master, skill) for _, master, skill in paired}
    year, number = map(int, month.split("-"))
    start = datetime(year, number, 10, 10, tzinfo=UTC)
    problem = {
        "format": "mentor-match/round@1",
        "round": month,
        "slot_minutes": 60,
        "min_pairing_hours": 2,
        "masters": [
            {
                "id": master_ref(master.id),
                "person": f"p-{master.id}",
                "site": None,
                "skills": {skill.key: "master"},
                "max_hosting_hours": 10,
                "max_apprentices": 3,
                "in_person_capacity": 0,
                "virtual_capacity": 3,
                "availability": [],
            }
            for master, skill in masters.values()
        ],
        "apprentices": [apprentice(a, skill) for a, _, skill in paired]
        + [apprentice(a, skill) for a, _, skill in left_out],
        "exclude": [],
    }
    solution = {
        "format": "mentor-match/solution@1",
        "round": month,
        "observation_hours": 2 * len(paired),
        "upper_bound": 2 * len(paired),
        "pairings": [
            {
                "apprentice": apprentice_ref(a.id),
                "master": master_ref(master.id),
                "skills": [skill.key],
                "sessions": [
                    {
                        "start": f"{start:%Y-%m-%dT%H:%M:%SZ}",
                        "end": f"{start + 2 * HOUR:%Y-%m-%dT%H:%M:%SZ}",
                        "mode": "virtual",
                    }
                ],
            }
            for a, master, skill in paired
        ],
        "unmatched": [
            {
                "apprentice": apprentice_ref(a.id),
                "reason": reason,
                "detail": f"{a.name} could not be paired ({reason}, {skill.key}).",
            }
            for a, reason, skill in left_out
        ],
    }
    run = RoundRun(
        round_id=round_.id,
        status=RunStatus.SUCCEEDED,
        time_limit=5,
        problem_json=json.dumps(problem),
        solution_json=json.dumps(solution),
        observation_hours=solution["observation_hours"],
        upper_bound=solution["upper_bound"],
    )
    db.session.add(run)
    db.session.commit()
    publish(run)
    return round_


def set_up(person: Person) -> None:
    """Finish the person's setup: the office gives skills (and the master availability)."""
    if not person.weekly_windows:
        make_weekly_window(person, weekday=1, start=time(9), end=time(17))
    person.bio = "Here to learn and to teach."
    db.session.commit()


def after_a_round(office) -> None:
    """The office, everyone set up, after next month's round: Tom and Priya confirmed, Tom
    paired with Amara, Priya left out (no common time), Lena never confirmed."""
    master, skill = office["master"], office["skill"]
    tom, priya, lena = office["apprentices"]
    for person in (master, tom, priya, lena):
        set_up(person)
    db.session.execute(
        update(MonthPlan)
        .where(MonthPlan.person_id.in_([tom.id, priya.id]))
        .values(confirmed_at=utcnow())
    )
    db.session.commit()
    publish_round(next_month(), [(tom, master, skill)], [(priya, "no_common_time", skill)])


def test_a_master_is_asked_first_what_others_wait_for_then_what_has_a_deadline(app, office):
    master, tom, priya = office["master"], *office["apprentices"][:2]
    set_up(master)
    # A session that has ended, Tom's hours in it unconfirmed; one ahead with Priya.
    slot = first_open_slot(master, tom)
    seat = actions.book(tom, master, slot.starts_at, slot.starts_at + 2 * HOUR, SessionMode.VIRTUAL)
    move_into_the_past(seat.session_id)
    later = first_open_slot(master, priya, day_offset=1)
    actions.book(priya, master, later.starts_at, later.starts_at + HOUR, SessionMode.VIRTUAL)
    # Practice Tom asked her to rate, a pairing to answer, and next month's round to confirm.
    tracking.log_practice(tom, office["skill"].id, master.id, TODAY, "Anchored first, high.")
    make_round(next_month())
    later_round = make_round("2099-01")
    db.session.add(Pairing(round_id=later_round.id, apprentice_id=tom.id, master_id=master.id))
    db.session.commit()

    board = dashboard_for(master)
    assert board.next_steps == [
        NextStep.CONFIRM_ATTENDANCE,
        NextStep.RATE_PRACTICE,
        NextStep.ANSWER_PAIRINGS,
        NextStep.CONFIRM_MONTH,
        NextStep.UPCOMING_SESSIONS,
    ]
    assert (board.seats_to_confirm, board.practice_to_rate, board.pairings_to_answer) == (1, 1, 1)
    page = _dashboard(app, master)
    headings = [
        "Attendance to confirm",
        "Practice to rate",
        "Pairings waiting for your answer",
        f"The {Month.parse(next_month()).label} matching round is open",
        "Your next sessions",
    ]
    assert sorted(headings, key=page.index) == headings
    assert "1 practice attempt waits for your rating" in page
    # Done setup steps are folded away below the cards, not a card of their own.
    assert "Finish setting up" not in page
    assert page.index("Setup: all 5 steps done") > page.index("Your next sessions")


def test_practice_leaves_the_masters_dashboard_once_rated(app, office):
    """Amara's dashboard did not mention the practice waiting for her rating."""
    master, tom = office["master"], office["apprentices"][0]
    attempt = tracking.log_practice(
        tom, office["skill"].id, master.id, TODAY, "Anchored first, and held it."
    )
    page = _dashboard(app, master)
    assert "Practice to rate" in page and 'href="/practice/to-rate"' in page
    tracking.rate_practice(master, attempt, 3, "Firm, but you explained it away. Stop talking.")
    assert dashboard_for(master).practice_to_rate == 0
    assert "Practice to rate" not in _dashboard(app, master)


def test_apprentices_left_out_of_a_round_are_told_why_in_their_own_words(app, office):
    master = office["master"]
    tom, priya, lena = office["apprentices"]
    after_a_round(office)
    label = Month.parse(next_month()).label

    # Tom was paired: he answers, and sees his session; he was not left out.
    assert dashboard_for(tom).next_steps == [NextStep.ANSWER_PAIRINGS, NextStep.UPCOMING_SESSIONS]

    board = dashboard_for(priya)
    assert board.next_steps == [NextStep.LEFT_OUT]
    assert board.left_out.reason == (
        "Masters teach Negotiation: Anchoring above your stage, but none was free when you were "
        "for at least 2 h in a mode you both allow."
    )
    page = _dashboard(app, priya)
    assert f"<h2>No master to watch in {label}</h2>" in page
    assert "could not be paired" not in page and "negotiation/anchoring" not in page
    assert f'<a href="/book/{master.id}">Amara Master</a>.' in page
    assert '<a href="/availability/weekly">Widen your weekly availability</a>' in page

    # Lena never confirmed: the round did not consider her, and she is told so, without
    # "by the deadline" (an admin may publish the round before its deadline, as here).
    lena_board = dashboard_for(lena)
    assert lena_board.next_steps == [NextStep.LEFT_OUT]
    assert lena_board.left_out.reason == (
        f"You had not confirmed your plan for {label} when the round was matched, so it did "
        "not include you."
    )
    assert "Confirm your plan for each round by its deadline" in _dashboard(app, lena)


@pytest.mark.parametrize(
    ("reason", "told"),
    [
        ("no_skills", "You had not chosen any micro skill you want to develop."),
        ("no_hours", "You asked for fewer observation hours than the shortest pairing, 2 h."),
        ("no_master", "Nobody in the round teaches Negotiation: Anchoring above your stage."),
        (
            "excluded",
            "The masters who teach Negotiation: Anchoring above your stage were kept apart from "
            "you in this round.",
        ),
        (
            "masters_full",
            "The masters who teach Negotiation: Anchoring above your stage and share your time "
            "were full this month.",
        ),
        ("removed", "An admin removed your pairing in review; you are favoured next month."),
        (
            "a_new_reason",
            "Priya Apprentice could not be paired (a_new_reason, negotiation/anchoring).",
        ),
    ],
)
def test_each_reason_a_round_gives_is_said_to_the_apprentice(office, reason, told):
    priya = office["apprentices"][1]
    publish_round(next_month(), [], [(priya, reason, office["skill"])])
    assert dashboard_for(priya).left_out.reason == told


def test_nobody_is_told_of_a_round_that_is_over_or_that_came_before_they_joined(office):
    priya, lena = office["apprentices"][1:]
    last_month = f"{TODAY.replace(day=1) - timedelta(days=1):%Y-%m}"
    publish_round(last_month, [], [(priya, "masters_full", office["skill"])])
    assert dashboard_for(priya).left_out is None
    round_ = publish_round(next_month(), [], [])
    lena.created_at = round_.confirm_by + timedelta(days=1)
    db.session.commit()
    assert dashboard_for(lena).left_out is None
    assert dashboard_for(priya).left_out is not None  # she was there, unconfirmed


def test_a_newcomer_sees_what_is_left_to_set_up_and_nothing_folded(app):
    newcomer = make_apprentice("New Person")
    board = dashboard_for(newcomer)
    assert board.next_steps == [NextStep.FINISH_SETUP] and board.steps_left == 4
    page = _dashboard(app, newcomer)
    assert "<h2>Finish setting up</h2>" in page and "4 of 4 steps left" in page
    assert "steps done" not in page


def test_a_master_and_apprentice_paired_as_host_is_still_told_they_have_no_master(office):
    skill, priya = office["skill"], office["apprentices"][1]
    both = make_master("Bo Both", is_apprentice=True)
    give_skill(both, skill, "journeyman", hosts=True)
    publish_round(next_month(), [(priya, both, skill)], [(both, "masters_full", skill)])
    board = dashboard_for(both)
    assert board.next_steps[0] == NextStep.ANSWER_PAIRINGS
    assert NextStep.LEFT_OUT in board.next_steps
    assert board.left_out.reason == (
        "The masters who teach Negotiation: Anchoring above your stage and share your time were "
        "full this month."
    )
    # His profile now develops nothing, so no master open to bookings is offered.
    assert board.left_out.masters == []
