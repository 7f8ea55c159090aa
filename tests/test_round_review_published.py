"""The review of a run once its round is published (issue 24): no form is offered that would
only be refused, and a run that was not the one published says which was."""

import io

from sqlalchemy import select

from mentor_match.extensions import db
from mentor_match.models import RoundRun, RunStatus
from mentor_match.rounds import runs, solving
from mentor_match.rounds.publication import publish

from .database import count
from .factories import make_admin, make_round, make_small_round_organisation

UPLOAD_HEADING = "<h2>Upload a solution</h2>"
REFUSED = "This round is already published; upload a solution to a fill run instead."


def finished_run(round_) -> RoundRun:
    run = runs.start_run(round_, None, time_limit=5)
    solving.perform_run(run.id)
    db.session.refresh(run)
    assert run.status is RunStatus.SUCCEEDED, run.error
    return run


def test_after_publication_no_run_offers_an_upload_and_the_others_name_the_published_one(login):
    make_small_round_organisation("Review HQ")
    client = login(make_admin("Ada Admin"))
    round_ = make_round()
    first, second = finished_run(round_), finished_run(round_)
    review = f"/admin/rounds/{round_.month}/runs/{{}}"
    # Before publication either run may take an uploaded solution, and be published.
    page = client.get(review.format(first.id)).get_data(as_text=True)
    assert UPLOAD_HEADING in page
    assert "Publish 3 pairings" in page

    publish(second)
    page = client.get(review.format(first.id)).get_data(as_text=True)
    assert UPLOAD_HEADING not in page
    assert "Publish 3 pairings" not in page
    assert f"<p>Not published: the round was published from run {second.id}.</p>" in page
    page = client.get(review.format(second.id)).get_data(as_text=True)
    assert UPLOAD_HEADING not in page
    assert "<strong>Published</strong>" in page
    assert "Not published" not in page

    # Posted anyway, the upload is refused as before and no run is added.
    response = client.post(
        review.format(first.id) + "/upload",
        data={"solution": (io.BytesIO(first.solution_json.encode()), "solution.json")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert REFUSED in response.get_data(as_text=True)
    assert count(RoundRun) == 2
    assert db.session.scalars(select(RoundRun.source)).all() == ["optimizer", "optimizer"]
