"""Progress pages: an apprentice's own hours and progress, a master's hosting, stage thresholds."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..models import Person
from ..pages import attempt, current_person, form_problems
from ..security import admin_required
from ..stages.services import MAX_REASON, stages_to_endorse
from . import endorsement, services
from .forms import EndorseForm, ThresholdsForm
from .thresholds import DEFAULT_THRESHOLDS, save_thresholds, stage_thresholds

bp = Blueprint("progress", __name__)


def _master() -> Person:
    """The signed-in person, who must be a master (everyone else gets 403)."""
    me = current_person()
    if not me.is_master:
        abort(403)
    return me


@bp.get("/progress")
@login_required
def mine():
    """Your verified hours, masters, feedback, and progress toward the next stage."""
    return render_template(
        "progress/mine.html",
        progress=services.apprentice_progress(current_person()),
        thresholds=stage_thresholds(),
    )


@bp.get("/progress/hosting")
@login_required
def hosting():
    """A master's verified hosting hours, apprentices, feedback given, and who is ready."""
    me = _master()
    return render_template(
        "progress/hosting.html",
        overview=services.hosting_overview(me),
        to_endorse=stages_to_endorse(me),
        max_note=endorsement.MAX_NOTE,
        max_peer_note=MAX_REASON,
    )


@bp.post("/progress/endorse")
@login_required
def endorse():
    """A master endorses an eligible apprentice's step to the next stage."""
    me = _master()
    form = EndorseForm()
    if not form.validate_on_submit():
        flash(form_problems(form) or "Choose an apprentice to endorse.", "error")
        return redirect(url_for("progress.hosting"))
    attempt(
        lambda: endorsement.endorse(
            me, form.person_id.data, form.micro_skill_id.data, form.note.data or ""
        ),
        success=lambda given: (
            f"You endorsed {given.person.name} as a {given.to_stage.value} in "
            f"{given.micro_skill.full_name}; they have been told."
        ),
    )
    return redirect(url_for("progress.hosting"))


@bp.route("/admin/stages", methods=["GET", "POST"])
@admin_required
def thresholds():
    """The hours and average rating it takes to reach journeyman and master."""
    form = (
        ThresholdsForm.filled(stage_thresholds()) if request.method == "GET" else ThresholdsForm()
    )
    if form.validate_on_submit() and attempt(
        lambda: save_thresholds(current_person(), form.thresholds()),
        success=lambda changed: "Thresholds saved." if changed else "Nothing changed.",
    ):
        return redirect(url_for("progress.thresholds"))
    return render_template("progress/thresholds.html", form=form, defaults=DEFAULT_THRESHOLDS)
