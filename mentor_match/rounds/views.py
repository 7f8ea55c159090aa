"""Round pages: admins create, open, run, review and publish; people confirm and answer."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from ..availability.expansion import Month
from ..errors import Refusal
from ..extensions import db
from ..inputs import UPLOAD_FORM_OVERHEAD, allows_upload, page_arg, query_int
from ..models import Pairing, RoundRun, RunKind, RunStatus
from ..optimizer.solution import gap
from ..organisation.services import only_verified_hosts
from ..pages import attempt, current_person, flash_form_errors, show_refusal
from ..security import admin_required, is_local_url
from ..stages.rounds import host_stages
from ..stages.services import masters_waiting
from . import answers, jobs, opening, reviewing, runs
from .encoder import person_id_of
from .forms import ExcludeForm, NewRoundForm, RemovePairingForm, RunForm, UploadSolutionForm
from .left_out import why_left_out
from .notices import mark_all_read, unread_for
from .publication import publish
from .queue import QueueUnavailable
from .review import compare, skills_observed, summarise

bp = Blueprint("rounds", __name__)

PAIRINGS_PER_PAGE = 100
# The review lists this many apprentices left out; the solution file has them all.
LEFT_OUT_SHOWN = 300


def _round_or_404(month: str):
    round_ = opening.round_for(month)
    if round_ is None:
        abort(404)
    return round_


def _run_or_404(month: str, run_id: int) -> RoundRun:
    run = db.session.get(RoundRun, run_id)
    if run is None or run.round.month != month:
        abort(404)
    return run


# Admin: rounds ----------------------------------------------------------------------------


@bp.route("/admin/rounds", methods=["GET", "POST"])
@admin_required
def index():
    """Every round, newest month first, and a form to create the next."""
    form = NewRoundForm()
    if form.validate_on_submit():
        created = attempt(
            lambda: opening.create_round(form.month.data, form.confirm_by.data),
            success=lambda round_: (
                f"Round {round_.month} created. Open it to ask people to confirm."
            ),
            form=form,
        )
        if created:
            return redirect(url_for("rounds.show", month=created.result.month))
    return render_template("rounds/index.html", rounds=opening.all_rounds(), form=form)


@bp.route("/admin/rounds/<month>")
@admin_required
def show(month: str):
    """Confirmations, the run under way or the latest result, exclusions and past runs."""
    round_ = _round_or_404(month)
    active = runs.active_run(round_)
    watched_id = query_int("run", None)
    if active is None and watched_id is not None:
        # The run just started ended before the page loaded (a small round): go to its review,
        # as the progress panel would have on seeing it end.
        watched = db.session.get(RoundRun, watched_id)
        if (
            watched is not None
            and watched.round_id == round_.id
            and watched.status is RunStatus.SUCCEEDED
        ):
            return redirect(url_for("rounds.review", month=month, run_id=watched.id))
    exclude_form = ExcludeForm()
    confirmations = opening.confirmations(round_)
    _exclusion_choices(exclude_form)
    return render_template(
        "rounds/show.html",
        round=round_,
        confirmations=confirmations,
        active=active,
        latest=runs.latest_result(round_),
        run_form=RunForm(time_limit=int(_default_limit())),
        exclude_form=exclude_form,
        declined=answers.declined_count(round_),
        runs=runs.run_states(round_),
        masters_waiting=masters_waiting() if only_verified_hosts() else 0,
    )


def _default_limit() -> float:
    return current_app.config["ROUND_TIME_LIMIT"]


def _exclusion_choices(form: ExcludeForm) -> None:
    apprentices, masters = reviewing.exclusion_candidates()
    form.apprentice_id.choices = [SelectChoice(id_, label) for id_, label in apprentices]
    form.master_id.choices = [SelectChoice(id_, label) for id_, label in masters]


@bp.post("/admin/rounds/<month>/open")
@admin_required
def open_round(month: str):
    round_ = _round_or_404(month)
    try:
        asked = opening.open_round(round_)
    except Refusal as refusal:
        show_refusal(refusal)
    else:
        _send_mail_in_background()
        flash(
            f"Round opened: {asked} people were asked to confirm by mail and on the site.",
            "success",
        )
    return redirect(url_for("rounds.show", month=month))


def _send_mail_in_background() -> None:
    try:
        jobs.dispatch_mail()
    except QueueUnavailable as failure:
        flash(
            f"{failure}. The mail is kept and goes out once the queue is back "
            "(or run `flask rounds deliver-mail`).",
            "error",
        )


@bp.post("/admin/rounds/<month>/runs")
@admin_required
def start_run(month: str):
    round_ = _round_or_404(month)
    form = RunForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rounds.show", month=month))
    kind = RunKind.FILL if form.kind.data == "fill" else RunKind.FULL
    try:
        run = runs.start_run(round_, current_person(), kind=kind, time_limit=form.time_limit.data)
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("rounds.show", month=month))
    try:
        jobs.dispatch_run(run.id)
    except QueueUnavailable as failure:
        runs.fail_undispatched(run, str(failure))
        flash(f"{failure}. Nothing was run; try again once the queue is back.", "error")
        return redirect(url_for("rounds.show", month=month))
    flash(f"Run {run.id} has started.", "success")
    return redirect(url_for("rounds.show", month=month, run=run.id))


@bp.route("/admin/rounds/<month>/runs/<int:run_id>/progress")
@admin_required
def progress(month: str, run_id: int):
    """The run's state for the progress bar, polled by the round page."""
    run = _run_or_404(month, run_id)
    state = runs.run_state(run)
    return jsonify(
        status=state.status.value,
        phase=run.phase,
        elapsed=round(state.elapsed, 1),
        time_limit=run.time_limit,
        best_hours=run.best_hours,
        bound=run.bound,
        # A finished run's gap, else the one its progress so far shows.
        gap=run.gap if run.observation_hours is not None else gap(run.best_hours, run.bound),
        error=state.error,
        done=not state.status.is_active,
        review_url=url_for("rounds.review", month=month, run_id=run.id),
    )


@bp.post("/admin/rounds/<month>/runs/<int:run_id>/cancel")
@admin_required
def cancel(month: str, run_id: int):
    run = _run_or_404(month, run_id)
    attempt(
        lambda: runs.cancel_run(run),
        success="Cancelling: the run stops within a few seconds and nothing is published.",
    )
    return redirect(url_for("rounds.show", month=month))


@bp.route("/admin/rounds/<month>/runs/<int:run_id>")
@admin_required
def review(month: str, run_id: int):
    """Everything to decide on before publishing, side by side with last month."""
    run = _run_or_404(month, run_id)
    summary = previous = None
    pairings: list[dict] = []
    names: dict[str, str] = {}
    left_out: list[tuple[str, str]] = []
    observed: list[list[str]] = []
    skill_names = reviewing.skill_names()
    if run.solution_json and run.problem_json:
        problem, solution = json.loads(run.problem_json), json.loads(run.solution_json)
        summary = summarise(problem, solution)
        previous = reviewing.previous_summary(run.round)
        pairings = solution["pairings"]
        observed = skills_observed(problem, pairings)
        names = reviewing.names_for_refs(
            [p["apprentice"] for p in pairings]
            + [p["master"] for p in pairings]
            + [u.apprentice for u in summary.unmatched]
        )
        left_out = [
            (names[u.apprentice], why_left_out(u, problem, skill_names, names[u.apprentice]))
            for u in summary.unmatched[:LEFT_OUT_SHOWN]
        ]
    page = page_arg()
    window = slice((page - 1) * PAIRINGS_PER_PAGE, page * PAIRINGS_PER_PAGE)
    shown = pairings[window]
    return render_template(
        "rounds/review.html",
        run=run,
        state=runs.run_state(run),
        round=run.round,
        summary=summary,
        comparison=compare(summary, previous) if summary else [],
        has_previous=previous is not None,
        pairings=shown,
        # What each shown pairing's sessions are for, as published sessions will say.
        sessions_for=[sorted(set(skills)) for skills in observed[window]],
        pairing_count=len(pairings),
        page=page,
        pages=max(1, -(-len(pairings) // PAIRINGS_PER_PAGE)),
        names=names,
        left_out=left_out,
        skill_names=skill_names,
        remove_form=RemovePairingForm(),
        upload_form=UploadSolutionForm(),
        can_publish=runs.can_publish(run),
        can_upload=reviewing.upload_refusal(run) is None,
        published_instead=reviewing.published_instead(run),
        host_stages=host_stages(shown, person_id_of) if not run.published_at else {},
        masters_waiting=masters_waiting(),
        verified_only=only_verified_hosts(),
    )


@bp.route("/admin/rounds/<month>/runs/<int:run_id>/problem.json")
@admin_required
def problem_file(month: str, run_id: int):
    run = _run_or_404(month, run_id)
    if run.problem_json is None:
        abort(404)
    return _download(run.problem_json, f"round-{month}-run-{run.id}-problem.json")


@bp.route("/admin/rounds/<month>/runs/<int:run_id>/solution.json")
@admin_required
def solution_file(month: str, run_id: int):
    run = _run_or_404(month, run_id)
    if run.solution_json is None:
        abort(404)
    return _download(run.solution_json, f"round-{month}-run-{run.id}-solution.json")


def _download(body: str, filename: str) -> Response:
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/admin/rounds/<month>/runs/<int:run_id>/upload")
@allows_upload(reviewing.MAX_UPLOAD_BYTES + UPLOAD_FORM_OVERHEAD)
@admin_required
def upload(month: str, run_id: int):
    run = _run_or_404(month, run_id)
    form = UploadSolutionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("rounds.review", month=month, run_id=run.id))
    try:
        uploaded = reviewing.upload_solution(run, form.solution.data.read(), current_person())
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("rounds.review", month=month, run_id=run.id))
    flash("The uploaded solution keeps every rule; review it below.", "success")
    return redirect(url_for("rounds.review", month=month, run_id=uploaded.id))


@bp.post("/admin/rounds/<month>/runs/<int:run_id>/remove-pairing")
@admin_required
def remove_pairing(month: str, run_id: int):
    run = _run_or_404(month, run_id)
    form = RemovePairingForm()
    if form.validate_on_submit():
        attempt(
            lambda: reviewing.remove_pairing(run, form.apprentice.data, form.master.data),
            success="Pairing removed from this run.",
        )
    return redirect(url_for("rounds.review", month=month, run_id=run.id))


@bp.post("/admin/rounds/<month>/runs/<int:run_id>/publish")
@admin_required
def publish_run(month: str, run_id: int):
    run = _run_or_404(month, run_id)
    try:
        result = publish(run)
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("rounds.review", month=month, run_id=run.id))
    _send_mail_in_background()
    flash(
        f"Published {_count(result.pairings, 'pairing')} and {_count(result.sessions, 'session')}; "
        f"{result.people} people were told on the site and by mail.",
        "success",
    )
    return redirect(url_for("rounds.show", month=month))


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@bp.post("/admin/rounds/<month>/exclusions")
@admin_required
def exclude(month: str):
    round_ = _round_or_404(month)
    form = ExcludeForm()
    _exclusion_choices(form)
    try:
        reviewing.check_exclusions_open(round_)
    except Refusal as refusal:  # whatever the form holds: say why first
        show_refusal(refusal)
    else:
        if not form.validate_on_submit():
            flash_form_errors(form)
        else:
            attempt(
                lambda: reviewing.exclude_pair(
                    round_, form.apprentice_id.data, form.master_id.data
                ),
                success="Pair excluded: the next run keeps them apart.",
            )
    return redirect(url_for("rounds.show", month=month))


@bp.post("/admin/rounds/<month>/exclusions/<int:exclusion_id>/delete")
@admin_required
def remove_exclusion(month: str, exclusion_id: int):
    round_ = _round_or_404(month)
    attempt(lambda: reviewing.remove_exclusion(round_, exclusion_id), success="Exclusion removed.")
    return redirect(url_for("rounds.show", month=month))


# People: confirming, pairings, notifications -------------------------------------------------


@bp.post("/rounds/<month>/confirm")
@login_required
def confirm(month: str):
    try:
        label = Month.parse(month).label
        attempt(
            lambda: opening.confirm_month(current_person(), month),
            success=f"Confirmed: you are in the {label} matching round.",
        )
    except ValueError:
        abort(404)
    next_page = request.form.get("next_page")
    return redirect(next_page if is_local_url(next_page) else url_for("home.dashboard"))


@bp.route("/pairings")
@login_required
def my_pairings():
    """The person's pairings, with sessions in their own time zone, to accept or decline."""
    me = current_person()
    return render_template(
        "rounds/pairings.html",
        pairings=answers.pairings_of(me),
        left_out_of=answers.round_without_me(me),
    )


@bp.post("/pairings/<int:pairing_id>/respond")
@login_required
def respond(pairing_id: int):
    pairing = db.session.get(Pairing, pairing_id)
    me = current_person()
    if pairing is None or me.id not in (pairing.apprentice_id, pairing.master_id):
        abort(404)
    answer = request.form.get("answer")
    if answer not in ("accept", "decline"):
        flash("Choose accept or decline.", "error")
        return redirect(url_for("rounds.my_pairings"))
    accept = answer == "accept"
    attempt(
        lambda: answers.respond(pairing, me, accept=accept),
        success=(
            "Accepted: see you at the sessions."
            if accept
            else "Declined: its sessions are freed and the other side is told."
        ),
    )
    return redirect(url_for("rounds.my_pairings"))


@bp.route("/notifications")
@login_required
def notifications():
    return render_template(
        "rounds/notifications.html", notices=unread_for(current_person(), limit=100)
    )


@bp.post("/notifications/read")
@login_required
def read_notifications():
    mark_all_read(current_person())
    return redirect(url_for("rounds.notifications"))
