"""An apprentice left out of a published round is told so on their pairings page, in second
person, and led to the dashboard that says why; the page no longer says the round is still
to be published."""

from datetime import time, timedelta

from mentor_match.extensions import db
from mentor_match.models import RoundRun, RunStatus
from mentor_match.rounds import runs, solving
from mentor_match.rounds.publication import publish
from mentor_match.templating import month_label

from .factories import (
    give_skill,
    make_apprentice,
    make_area,
    make_confirmed_plan,
    make_round,
    make_small_round_organisation,
    make_weekly_window,
)

LEFT_OUT = (
    "The {label} round is published and paired you with no master. "
    '<a href="/dashboard">Your dashboard</a> says why and what you can do now.'
)
NOT_YET = "No pairings yet. When this month's round is published"


def finished_run(round_) -> RoundRun:
    run = runs.start_run(round_, None, time_limit=5)
    solving.perform_run(run.id)
    db.session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return run


def test_the_pairings_page_tells_an_apprentice_left_out_of_a_published_round(login, client):
    people = make_small_round_organisation("Pairings HQ")
    tom = make_apprentice("Tom")
    nobody_teaches = make_area("Coaching", skills=("Agreeing accountability",)).micro_skills[0]
    give_skill(tom, nobody_teaches, "apprentice", develops=True)
    make_weekly_window(tom, weekday=1, start=time(9), end=time(12))
    make_confirmed_plan(tom, observation_hours=4)
    round_ = make_round()
    label = month_label(round_.month)
    run = finished_run(round_)

    page = login(tom).get("/pairings").get_data(as_text=True)
    assert NOT_YET in page
    assert "paired you with no master" not in page

    publish(run)
    page = client.get("/pairings").get_data(as_text=True)
    assert f"<h2>No master to watch in {label}</h2>" in page
    assert LEFT_OUT.format(label=label) in page
    assert NOT_YET not in page

    # A paired apprentice sees their pairing, and no such card.
    client.post("/logout")
    page = login(people["apprentices"][0]).get("/pairings").get_data(as_text=True)
    assert "paired you with no master" not in page
    assert "you observe Master" in page

    # Someone who joined after the deadline was not left out of anything.
    late = make_apprentice("Late Comer")
    late.created_at = round_.confirm_by + timedelta(hours=1)
    db.session.commit()
    client.post("/logout")
    page = login(late).get("/pairings").get_data(as_text=True)
    assert "paired you with no master" not in page
    assert NOT_YET in page
