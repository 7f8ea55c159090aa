"""The round pages: what admins and people see and do, through real requests."""

import io
import json
import threading
from datetime import UTC, datetime, time, timedelta

import pytest
from sqlalchemy import select, update

from mentor_match.availability.expansion import Month
from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import (
    MonthPlan,
    Notification,
    OutboxMessage,
    Pairing,
    Response,
    Round,
    RoundExclusion,
    RoundRun,
    RoundStatus,
    RunStatus,
    SessionObserver,
    ShadowingSession,
    utcnow,
)
from mentor_match.optimizer.solve import Cancelled, solve
from mentor_match.rounds import opening, runs, solving
from mentor_match.rounds import views as rounds_views
from mentor_match.rounds.encoder import encode_round
from mentor_match.rounds.publication import publish
from mentor_match.rounds.queue import wait_for_background_jobs

from .database import count
from .factories import (
    give_skill,
    make_admin,
    make_apprentice,
    make_area,
    make_confirmed_plan,
    make_month_plan,
    make_round,
    make_small_round_organisation,
    make_weekly_window,
    next_month,
)


@pytest.fixture
def admin():
    return make_admin("Ada Admin")


@pytest.fixture
def people():
    """Two masters and three apprentices who have all confirmed for next month."""
    return make_small_round_organisation("Pages HQ", observation_hours=4)


def finished_run(round_) -> RoundRun:
    run = runs.start_run(round_, None, time_limit=5)
    solving.perform_run(run.id)
    db.session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return run


# Creating and opening -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("month", "deadline", "message"),
    [
        ("December", 1, "YYYY-MM"),
        ("2020-01", 1, "already started"),
        (None, 60, "confirmation deadline"),
    ],
)
def test_a_bad_round_is_refused_and_nothing_is_created(login, admin, month, deadline, message):
    client = login(admin)
    response = client.post(
        "/admin/rounds",
        data={
            "month": month or next_month(),
            "confirm_by": (datetime.now(UTC).date() + timedelta(days=deadline)).isoformat(),
        },
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert count(Round) == 0


def test_one_round_per_month(login, admin):
    client = login(admin)
    form = {"month": next_month(), "confirm_by": datetime.now(UTC).date().isoformat()}
    assert client.post("/admin/rounds", data=form).status_code == 302
    response = client.post("/admin/rounds", data=form)
    assert "already a round" in response.get_data(as_text=True)
    assert count(Round) == 1


def test_opening_asks_everyone_on_the_site_and_by_mail(login, admin, people):
    round_ = make_round(status=RoundStatus.DRAFT)
    response = login(admin).post(f"/admin/rounds/{round_.month}/open", follow_redirects=True)
    assert "5 people were asked to confirm" in response.get_data(as_text=True)
    wait_for_background_jobs()
    db.session.expire_all()
    assert count(Notification) == 5
    mails = db.session.scalars(select(OutboxMessage)).all()
    assert sorted(m.recipient for m in mails) == sorted(
        p.email for p in people["masters"] + people["apprentices"]
    )
    assert all("Confirm your availability" in m.subject for m in mails)
    # Opening twice changes nothing.
    login(admin).post(f"/admin/rounds/{round_.month}/open")
    assert count(Notification) == 5


def test_mail_is_delivered_once_even_by_two_deliveries(app, people):
    make_round(status=RoundStatus.DRAFT)
    opening.open_round(db.session.scalars(select(Round)).one())
    from mentor_match.rounds.notices import deliver_pending_mail

    workers = [
        threading.Thread(target=lambda: _deliver(app, deliver_pending_mail)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert count(OutboxMessage) == 5


def _deliver(app, deliver):
    with app.app_context():
        deliver()


# Confirming ---------------------------------------------------------------------------------


def test_a_person_confirms_from_their_plan_page(login, people):
    round_ = make_round()
    newcomer = make_apprentice("Newcomer")
    client = login(newcomer)
    assert "is open" in client.get("/dashboard").get_data(as_text=True)
    # Issue 24: the plan page asks for the numbers first, and offers to confirm once saved.
    page = client.get(f"/availability/plan?month={round_.month}").get_data(as_text=True)
    assert "Confirm for" not in page
    client.post(
        f"/availability/plan?month={round_.month}",
        data={"observation_hours": "6", "max_masters": "2"},
    )
    page = client.get(f"/availability/plan?month={round_.month}").get_data(as_text=True)
    assert "Confirm for" in page
    response = client.post(f"/rounds/{round_.month}/confirm", follow_redirects=True)
    label = Month.parse(round_.month).label
    assert f"Confirmed: you are in the {label} matching round." in response.get_data(as_text=True)
    plan = db.session.scalar(select(MonthPlan).where(MonthPlan.person_id == newcomer.id))
    assert plan.month == round_.month and plan.confirmed_at is not None
    assert newcomer.id in {row[0] for row in opening.confirmations(round_).confirmed}


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/",
        "/\t/evil.example/",
        "/\\evil.example/",
        "/dashboard\r\nSet-Cookie: a=b",
    ],
)
def test_confirming_refuses_an_off_site_next_page(login, target):
    round_ = make_round()
    client = login(make_apprentice("Newcomer"))
    response = client.post(f"/rounds/{round_.month}/confirm", data={"next_page": target})
    assert response.headers["Location"] == "/dashboard"
    response = client.post(
        f"/rounds/{round_.month}/confirm",
        data={"next_page": f"/availability/plan?month={round_.month}"},
    )
    assert response.headers["Location"] == f"/availability/plan?month={round_.month}"


def test_confirming_a_month_never_planned_is_refused_and_saves_nothing(login):
    """Issue 24: the round takes only numbers the person chose, never defaults unseen."""
    round_ = make_round()
    client = login(make_apprentice("Newcomer"))
    response = client.post(f"/rounds/{round_.month}/confirm", follow_redirects=True)
    label = Month.parse(round_.month).label
    assert (
        f"Save your numbers for {label} on your month plan first; then confirm."
        in response.get_data(as_text=True)
    )
    assert count(MonthPlan) == 0


def test_confirming_after_the_deadline_is_refused(login):
    round_ = make_round()
    round_.confirm_by = utcnow() - timedelta(minutes=1)
    db.session.commit()
    late = make_apprentice("Late")
    response = login(late).post(f"/rounds/{round_.month}/confirm", follow_redirects=True)
    assert "deadline to confirm" in response.get_data(as_text=True)
    assert count(MonthPlan) == 0


def test_people_who_did_not_confirm_are_left_out_and_listed(login, admin, people):
    round_ = make_round()
    quiet = make_apprentice("Quiet Apprentice")
    make_month_plan(quiet, round_.month)
    page = login(admin).get(f"/admin/rounds/{round_.month}").get_data(as_text=True)
    assert "Quiet Apprentice" in page.split("Not confirmed")[1]
    assert f"a-{quiet.id}" not in {a["id"] for a in encode_round(round_)["apprentices"]}


# Running ------------------------------------------------------------------------------------


def test_run_from_the_round_page_happens_in_the_background(login, admin, people, verify_round):
    round_ = make_round()
    client = login(admin)
    response = client.post(
        f"/admin/rounds/{round_.month}/runs", data={"time_limit": 5, "kind": "full"}
    )
    assert response.status_code == 302
    wait_for_background_jobs()
    db.session.expire_all()
    run = db.session.scalars(select(RoundRun)).one()
    assert run.status is RunStatus.SUCCEEDED, run.error
    assert verify_round(json.loads(run.problem_json), json.loads(run.solution_json))["valid"]
    progress = client.get(f"/admin/rounds/{round_.month}/runs/{run.id}/progress").get_json()
    assert progress["done"] is True and progress["status"] == "succeeded"
    assert progress["best_hours"] == run.observation_hours == 12


def test_a_run_that_ends_before_its_page_loads_goes_to_its_review(login, admin, people):
    round_ = make_round()
    client = login(admin)
    response = client.post(
        f"/admin/rounds/{round_.month}/runs", data={"time_limit": 5, "kind": "full"}
    )
    wait_for_background_jobs()
    run = db.session.scalars(select(RoundRun)).one()
    assert response.headers["Location"] == f"/admin/rounds/{round_.month}?run={run.id}"
    landed = client.get(response.headers["Location"])
    assert landed.status_code == 302
    assert landed.headers["Location"] == f"/admin/rounds/{round_.month}/runs/{run.id}"
    # Without a finished run to go to, the round page itself.
    assert client.get(f"/admin/rounds/{round_.month}?run=9999").status_code == 200
    assert client.get(f"/admin/rounds/{round_.month}?run=x").status_code == 200


def test_the_round_page_shows_a_run_that_ended_while_the_page_was_being_built(
    login, admin, people, monkeypatch
):
    """The page loads the run while it is running, then asks for the latest result: a run the
    worker finished in between must be read afresh, not from the session's stale copy."""
    round_ = make_round()
    run = runs.start_run(round_, None, time_limit=5)
    run_id = run.id
    views_runs = rounds_views.runs
    load_active = views_runs.active_run

    def active_then_finished_elsewhere(round_):
        active = load_active(round_)
        assert active is not None and active.observation_hours is None
        with db.engine.begin() as worker:
            worker.execute(
                update(RoundRun)
                .where(RoundRun.id == run_id)
                .values(status=RunStatus.SUCCEEDED, observation_hours=11.0, upper_bound=12.0)
            )
        return active

    monkeypatch.setattr(views_runs, "active_run", active_then_finished_elsewhere)
    page = login(admin).get(f"/admin/rounds/{round_.month}")
    assert page.status_code == 200
    assert "<strong>11.0</strong> observation hours of a proven bound of 12.0" in page.text


def test_run_needs_a_sane_time_limit(login, admin, people):
    round_ = make_round()
    response = login(admin).post(
        f"/admin/rounds/{round_.month}/runs", data={"time_limit": 100000}, follow_redirects=True
    )
    assert "Choose from 5 to 600 seconds" in response.get_data(as_text=True)
    assert count(RoundRun) == 0


def test_run_is_refused_while_another_is_under_way(login, admin, people):
    round_ = make_round()
    db.session.add(RoundRun(round_id=round_.id, status=RunStatus.QUEUED, time_limit=5))
    db.session.commit()
    response = login(admin).post(
        f"/admin/rounds/{round_.month}/runs", data={"time_limit": 5}, follow_redirects=True
    )
    assert "already under way" in response.get_data(as_text=True)
    assert count(RoundRun) == 1


def test_cancel_stops_a_running_run_through_its_heartbeat(app, people, monkeypatch):
    """Cancel sets a flag; the heartbeat sees it and stops the solver within seconds."""
    started = threading.Event()

    def solve_until_cancelled(problem, time_limit, on_progress, cancel):
        started.set()
        if not cancel.wait(20):
            raise AssertionError("the heartbeat never passed the cancel on")
        raise Cancelled()

    monkeypatch.setattr(solving, "solve", solve_until_cancelled)
    run = runs.start_run(make_round(), None, time_limit=30)
    run_id = run.id
    worker = threading.Thread(target=lambda: _perform(app, run_id))
    worker.start()
    assert started.wait(10)
    runs.cancel_run(run)
    worker.join(30)
    db.session.expire_all()
    stopped = db.session.get(RoundRun, run.id)
    assert stopped.status is RunStatus.CANCELLED
    assert "Cancelled" in stopped.error
    assert count(Pairing) == 0


def _perform(app, run_id):
    with app.app_context():
        solving.perform_run(run_id)


def test_a_queued_run_is_cancelled_at_once(login, admin, people):
    round_ = make_round()
    run = RoundRun(round_id=round_.id, status=RunStatus.QUEUED, time_limit=5)
    db.session.add(run)
    db.session.commit()
    login(admin).post(f"/admin/rounds/{round_.month}/runs/{run.id}/cancel")
    db.session.refresh(run)
    assert run.status is RunStatus.CANCELLED


def test_a_run_whose_worker_went_silent_shows_as_failed_and_can_be_run_again(login, admin, people):
    round_ = make_round()
    stale = RoundRun(
        round_id=round_.id,
        status=RunStatus.RUNNING,
        time_limit=60,
        started_at=utcnow() - timedelta(minutes=5),
        heartbeat_at=utcnow() - timedelta(minutes=2),
    )
    db.session.add(stale)
    db.session.commit()
    client = login(admin)
    page = client.get(f"/admin/rounds/{round_.month}").get_data(as_text=True)
    # The page and the progress poll show it failed, and offer Run again, without writing it.
    assert "stopped responding" in page and "<td>failed</td>" in page and "Run round" in page
    assert 'id="run-progress"' not in page
    polled = client.get(f"/admin/rounds/{round_.month}/runs/{stale.id}/progress").get_json()
    assert (polled["status"], polled["done"]) == ("failed", True)
    assert "stopped responding" in polled["error"]
    db.session.refresh(stale)
    assert stale.status is RunStatus.RUNNING and stale.finished_at is None
    # Starting a run records the dead one as failed first.
    assert (
        client.post(f"/admin/rounds/{round_.month}/runs", data={"time_limit": 5}).status_code == 302
    )
    db.session.refresh(stale)
    assert stale.status is RunStatus.FAILED and "stopped responding" in stale.error
    wait_for_background_jobs()
    assert (
        db.session.scalars(select(RoundRun).order_by(RoundRun.id.desc())).first().status
        is RunStatus.SUCCEEDED
    )


def test_a_failing_run_says_why(app, people, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(solving, "solve", broken)
    run = runs.start_run(make_round(), None, time_limit=5)
    solving.perform_run(run.id)
    db.session.refresh(run)
    assert run.status is RunStatus.FAILED and "out of memory" in run.error


# Review: downloads, uploads, edits ------------------------------------------------------------


def test_review_shows_the_figures_and_downloads(login, admin, people):
    round_ = make_round()
    run = finished_run(round_)
    client = login(admin)
    page = client.get(f"/admin/rounds/{round_.month}/runs/{run.id}").get_data(as_text=True)
    for text in (
        "Observation hours",
        "Proven bound",
        "Where masters are scarce",
        "Apprentice 1",
        "Negotiation: Anchoring",
        "Remote workers",
    ):
        assert text in page
    problem = client.get(f"/admin/rounds/{round_.month}/runs/{run.id}/problem.json")
    assert problem.headers["Content-Disposition"].startswith("attachment")
    assert problem.get_json()["round"] == round_.month
    assert client.get(
        f"/admin/rounds/{round_.month}/runs/{run.id}/solution.json"
    ).get_json() == json.loads(run.solution_json)


def test_an_uploaded_solution_that_keeps_the_rules_becomes_a_run(login, admin, people):
    round_ = make_round()
    run = finished_run(round_)
    solution = solve(json.loads(run.problem_json), time_limit=3, seed=7)
    response = login(admin).post(
        f"/admin/rounds/{round_.month}/runs/{run.id}/upload",
        data={"solution": (io.BytesIO(json.dumps(solution).encode()), "solution.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    uploaded = db.session.scalars(select(RoundRun).where(RoundRun.source == "upload")).one()
    assert uploaded.observation_hours == solution["observation_hours"]
    assert uploaded.problem_json == run.problem_json


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b'{"format": "mentor-match/solution@1"}', "breaks the round"),
    ],
)
def test_an_uploaded_solution_that_breaks_the_rules_is_refused_with_reasons(
    login, admin, people, body, message
):
    round_ = make_round()
    run = finished_run(round_)
    response = login(admin).post(
        f"/admin/rounds/{round_.month}/runs/{run.id}/upload",
        data={"solution": (io.BytesIO(body), "solution.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert message in response.get_data(as_text=True)
    assert count(RoundRun) == 1


def test_an_uploaded_solution_over_a_masters_seats_is_refused(login, admin, people):
    round_ = make_round()
    run = finished_run(round_)
    solution = json.loads(run.solution_json)
    solution["pairings"][0]["sessions"][0]["start"] = "2001-01-01T00:30:00Z"
    response = login(admin).post(
        f"/admin/rounds/{round_.month}/runs/{run.id}/upload",
        data={"solution": (io.BytesIO(json.dumps(solution).encode()), "s.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "pairings[0].sessions[0]" in response.get_data(as_text=True)
    assert count(RoundRun) == 1


def test_removing_a_pairing_in_review(login, admin, people, verify_round):
    round_ = make_round()
    run = finished_run(round_)
    first = json.loads(run.solution_json)["pairings"][0]
    login(admin).post(
        f"/admin/rounds/{round_.month}/runs/{run.id}/remove-pairing",
        data={"apprentice": first["apprentice"], "master": first["master"]},
    )
    db.session.refresh(run)
    solution = json.loads(run.solution_json)
    assert (first["apprentice"], first["master"]) not in {
        (p["apprentice"], p["master"]) for p in solution["pairings"]
    }
    assert verify_round(json.loads(run.problem_json), solution)["valid"]
    assert run.observation_hours < 12


def test_excluding_a_pair_reaches_the_next_run(login, admin, people):
    round_ = make_round()
    apprentice, master = people["apprentices"][0], people["masters"][0]
    client = login(admin)
    client.post(
        f"/admin/rounds/{round_.month}/exclusions",
        data={"apprentice_id": apprentice.id, "master_id": master.id},
    )
    assert [f"a-{apprentice.id}", f"m-{master.id}"] in encode_round(round_)["exclude"]
    response = client.post(
        f"/admin/rounds/{round_.month}/exclusions",
        data={"apprentice_id": apprentice.id, "master_id": master.id},
        follow_redirects=True,
    )
    assert "already excluded" in response.get_data(as_text=True)


# Publishing and answering ---------------------------------------------------------------------


def test_publish_from_review_tells_people_and_twice_publishes_once(login, admin, people):
    round_ = make_round()
    run = finished_run(round_)
    client = login(admin)
    first = client.post(
        f"/admin/rounds/{round_.month}/runs/{run.id}/publish", follow_redirects=True
    )
    assert "Published" in first.get_data(as_text=True)
    pairings = count(Pairing)
    second = client.post(
        f"/admin/rounds/{round_.month}/runs/{run.id}/publish", follow_redirects=True
    )
    assert "already been published" in second.get_data(as_text=True)
    assert count(Pairing) == pairings > 0
    wait_for_background_jobs()
    paired = db.session.execute(select(Pairing.apprentice_id, Pairing.master_id)).all()
    assert count(OutboxMessage) == len({person for pair in paired for person in pair})


def test_two_admins_publishing_at_once_publish_once(app, people):
    round_ = make_round()
    run_id = finished_run(round_).id
    outcomes = []

    def press_publish():
        with app.app_context():
            try:
                outcomes.append(publish(db.session.get(RoundRun, run_id)).pairings)
            except Refusal as refusal:
                outcomes.append(str(refusal))
            except Exception as error:  # noqa: BLE001 - SQLite's lock is also "one publication"
                db.session.rollback()
                outcomes.append(type(error).__name__)

    admins = [threading.Thread(target=press_publish) for _ in range(2)]
    for thread in admins:
        thread.start()
    for thread in admins:
        thread.join()
    assert sum(isinstance(outcome, int) for outcome in outcomes) == 1, outcomes
    assert count(Pairing) == next(o for o in outcomes if isinstance(o, int))


def test_a_person_sees_their_pairings_in_their_zone_and_accepts(login, people):
    round_ = make_round()
    publish(finished_run(round_))
    apprentice = people["apprentices"][0]
    apprentice.timezone = "Asia/Kolkata"
    db.session.commit()
    pairing = db.session.scalars(
        select(Pairing).where(Pairing.apprentice_id == apprentice.id)
    ).first()
    seat = db.session.scalars(
        select(SessionObserver).where(SessionObserver.pairing_id == pairing.id)
    ).first()
    client = login(apprentice)
    page = client.get("/pairings").get_data(as_text=True)
    local = seat.session.starts_at.astimezone(apprentice.zone)
    assert f"{local:%H:%M}" in page and "IST" in page
    client.post(f"/pairings/{pairing.id}/respond", data={"answer": "accept"})
    db.session.refresh(pairing)
    assert pairing.apprentice_response is Response.ACCEPTED


def test_nobody_else_can_answer_a_pairing(login, people):
    round_ = make_round()
    publish(finished_run(round_))
    pairing = db.session.scalars(select(Pairing)).first()
    stranger = make_apprentice("Stranger")
    assert (
        login(stranger)
        .post(f"/pairings/{pairing.id}/respond", data={"answer": "decline"})
        .status_code
        == 404
    )
    db.session.refresh(pairing)
    assert pairing.status is Response.PENDING


def test_declining_tells_the_other_side(login, people):
    round_ = make_round()
    publish(finished_run(round_))
    pairing = db.session.scalars(select(Pairing)).first()
    login(pairing.master).post(f"/pairings/{pairing.id}/respond", data={"answer": "decline"})
    told = db.session.scalars(
        select(Notification)
        .where(Notification.person_id == pairing.apprentice_id)
        .order_by(Notification.id.desc())
    ).first()
    assert "declined" in told.text


def test_notifications_page_and_mark_read(login, people):
    round_ = make_round()
    publish(finished_run(round_))
    apprentice = people["apprentices"][0]
    client = login(apprentice)
    page = client.get("/notifications").get_data(as_text=True)
    assert "pairings are published" in page
    assert 'aria-label="1 unread"' in page
    client.post("/notifications/read")
    assert 'aria-label="1 unread"' not in client.get("/notifications").get_data(as_text=True)


# Favouring last month's unmatched -------------------------------------------------------------


def test_apprentices_left_out_last_month_are_favoured(people):
    this_month = make_round()
    year, month = map(int, this_month.month.split("-"))
    last = f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"
    previous = make_round(last, RoundStatus.PUBLISHED)
    previous.published_at = utcnow()
    db.session.commit()
    left_out, paired = people["apprentices"][0], people["apprentices"][1]
    for apprentice in (left_out, paired):
        make_confirmed_plan(apprentice, last)
    db.session.add(
        Pairing(round_id=previous.id, apprentice_id=paired.id, master_id=people["masters"][0].id)
    )
    db.session.commit()
    assert encode_round(this_month)["favour"] == [f"a-{left_out.id}"]


def test_a_queued_run_whose_job_was_lost_is_failed(login, admin, people):
    """Without Redis a run is claimed at once; one still queued later lost its thread."""
    round_ = make_round()
    lost = RoundRun(
        round_id=round_.id,
        status=RunStatus.QUEUED,
        time_limit=5,
        created_at=utcnow() - timedelta(minutes=5),
    )
    waiting = RoundRun(
        round_id=make_round(f"{int(round_.month[:4]) + 1}-01").id,
        status=RunStatus.QUEUED,
        time_limit=5,
    )
    db.session.add_all([lost, waiting])
    db.session.commit()
    assert runs.reap_stale_runs() == 1
    db.session.refresh(lost)
    db.session.refresh(waiting)
    assert lost.status is RunStatus.FAILED and "never reached a worker" in lost.error
    assert waiting.status is RunStatus.QUEUED


def test_the_form_defaults_create_a_round_even_late_in_the_month(login, admin, monkeypatch):
    """The default deadline never falls in the round's own month, whatever today is."""
    from mentor_match.rounds import forms

    for today in ("2026-11-28", "2026-12-31", "2027-02-26"):

        class Frozen(datetime):
            @classmethod
            def now(cls, tz=None, _today=today):
                return datetime.fromisoformat(f"{_today}T12:00:00+00:00")

        monkeypatch.setattr(forms, "datetime", Frozen)
        deadline = forms._default_confirm_by()
        month = forms._next_month()
        assert deadline < datetime.fromisoformat(f"{month}-01").date(), (today, deadline)
        opening.create_round(month, deadline, today=datetime.fromisoformat(today).date())


def test_two_admins_pressing_run_at_once_start_one_run(app, people):
    round_id = make_round().id
    barrier = threading.Barrier(2)
    outcomes = []

    def press_run():
        with app.app_context():
            round_ = db.session.get(Round, round_id)
            barrier.wait()
            try:
                outcomes.append(runs.start_run(round_, None, time_limit=5).id)
            except Refusal as refusal:
                outcomes.append(str(refusal))

    admins = [threading.Thread(target=press_run) for _ in range(2)]
    for thread in admins:
        thread.start()
    for thread in admins:
        thread.join()
    assert sum(isinstance(outcome, int) for outcome in outcomes) == 1, outcomes
    assert any("already under way" in str(outcome) for outcome in outcomes)
    assert count(RoundRun) == 1


def test_an_oversized_upload_is_refused_clearly(app, login, admin, people, monkeypatch):
    round_ = make_round()
    run = finished_run(round_)
    # The upload view's own allowance (inputs.allows_upload), made small so the body stays small.
    monkeypatch.setattr(app.view_functions["rounds.upload"], "max_content_length", 4 * 1024)
    response = login(admin).post(
        f"/admin/rounds/{round_.month}/runs/{run.id}/upload",
        data={"solution": (io.BytesIO(b" " * (16 * 1024)), "big.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert "larger than 4 KB" in response.get_data(as_text=True)
    assert count(RoundRun) == 1


# Issue 24: the review an admin can trust ------------------------------------------------------


def test_review_says_why_someone_was_left_out_by_name_and_skill_name(login, admin, people):
    tom = make_apprentice("Tom")
    nobody_teaches = make_area("Coaching", skills=("Agreeing accountability",)).micro_skills[0]
    give_skill(tom, nobody_teaches, "apprentice", develops=True)
    make_weekly_window(tom, weekday=1, start=time(9), end=time(12))
    make_confirmed_plan(tom, observation_hours=4)
    round_ = make_round()
    run = finished_run(round_)
    page = login(admin).get(f"/admin/rounds/{round_.month}/runs/{run.id}").get_data(as_text=True)
    assert (
        "<tr><td>Tom</td><td>Nobody in this round teaches Coaching: Agreeing accountability "
        "above Tom&#39;s stage.</td></tr>"
    ) in page
    assert "coaching/agreeing-accountability" not in page
    assert "your stage" not in page
    assert "<strong>At most</strong> means if every master who teaches the skill" in page


def test_a_published_round_offers_no_exclusions_and_refuses_them(login, admin, people):
    round_ = make_round()
    apprentice, master = people["apprentices"][0], people["masters"][0]
    client = login(admin)
    client.post(
        f"/admin/rounds/{round_.month}/exclusions",
        data={"apprentice_id": apprentice.id, "master_id": master.id},
    )
    exclusion = db.session.scalars(select(RoundExclusion)).one()
    publish(finished_run(round_))
    page = client.get(f"/admin/rounds/{round_.month}").get_data(as_text=True)
    assert "Exclude pair" not in page
    assert f"/exclusions/{exclusion.id}/delete" not in page
    assert "The round is published, so these can no longer change" in page
    refused = "This round is published: its excluded pairs can no longer change."
    other = people["apprentices"][1]
    response = client.post(
        f"/admin/rounds/{round_.month}/exclusions",
        data={"apprentice_id": other.id, "master_id": master.id},
        follow_redirects=True,
    )
    assert refused in response.get_data(as_text=True)
    response = client.post(
        f"/admin/rounds/{round_.month}/exclusions", data={}, follow_redirects=True
    )
    assert refused in response.get_data(as_text=True)
    response = client.post(
        f"/admin/rounds/{round_.month}/exclusions/{exclusion.id}/delete", follow_redirects=True
    )
    assert refused in response.get_data(as_text=True)
    assert count(RoundExclusion) == 1


def test_the_run_heading_has_no_stray_space(login, admin, people):
    round_ = make_round()
    run = runs.start_run(round_, None, time_limit=5)
    page = login(admin).get(f"/admin/rounds/{round_.month}").get_data(as_text=True)
    assert f'<h2>Run {run.id}: <span data-field="status">queued</span></h2>' in page


def test_round_sessions_show_their_micro_skill(login, people):
    round_ = make_round()
    publish(finished_run(round_))
    sessions = db.session.scalars(select(ShadowingSession)).all()
    assert sessions and {s.micro_skill_id for s in sessions} == {people["skill"].id}
    apprentice = people["apprentices"][0]
    seat = db.session.scalars(
        select(SessionObserver).where(SessionObserver.apprentice_id == apprentice.id)
    ).first()
    client = login(apprentice)
    for url in ("/sessions", f"/sessions/{seat.session_id}", "/pairings"):
        page = client.get(url).get_data(as_text=True)
        assert "Negotiation: Anchoring" in page, url
    assert "· Negotiation: Anchoring</li>" in client.get("/pairings").get_data(as_text=True)
