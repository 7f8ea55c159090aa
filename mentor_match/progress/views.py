"""Progress pages: an apprentice's own hours and progress, a master's hosting, stage thresholds."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..models import Person
from ..security import admin_required
from ..stages.services import stages_to_endorse
from . import services
from .forms import EndorseForm, ThresholdsForm

bp = Blueprint("progress", __name__)


def _me() -> Person:
    return current_user._get_current_object()


def _master() -> Person:
    """The signed-in person, who must be a master (everyone else gets 403)."""
    me = _me()
    if not me.is_master:
        abort(403)
    return me


@bp.get("/progress")
@login_required
def mine():
    """Your verified hours, masters, feedback, and progress toward the next stage."""
    me = _me()
    return render_template(
        "progress/mine.html",
        progress=services.apprentice_progress(me),
        thresholds=services.stage_thresholds(),
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
        max_note=services.MAX_NOTE,
    )


@bp.post("/progress/endorse")
@login_required
def endorse():
    """A master endorses an eligible apprentice's step to the next stage."""
    me = _master()
    form = EndorseForm()
    if not form.validate_on_submit():
        errors = [error for messages in form.errors.values() for error in messages]
        flash(" ".join(errors) or "Choose an apprentice to endorse.", "error")
        return redirect(url_for("progress.hosting"))
    try:
        endorsement = services.endorse(
            me, form.person_id.data, form.micro_skill_id.data, form.note.data or ""
        )
    except services.EndorsementRefusal as refusal:
        db.session.rollback()
        flash(str(refusal), "error")
    else:
        flash(
            f"You endorsed {endorsement.person.name} as a {endorsement.to_stage.value} in "
            f"{endorsement.micro_skill.full_name}; they have been told.",
            "success",
        )
    return redirect(url_for("progress.hosting"))


@bp.route("/admin/stages", methods=["GET", "POST"])
@admin_required
def thresholds():
    """The hours and average rating it takes to reach journeyman and master."""
    form = (
        ThresholdsForm.filled(services.stage_thresholds())
        if request.method == "GET"
        else ThresholdsForm()
    )
    if form.validate_on_submit():
        try:
            changed = services.save_thresholds(_me(), form.thresholds())
        except services.ThresholdRefusal as refusal:
            db.session.rollback()
            flash(str(refusal), "error")
        else:
            flash("Thresholds saved." if changed else "Nothing changed.", "success")
            return redirect(url_for("progress.thresholds"))
    return render_template(
        "progress/thresholds.html", form=form, defaults=services.DEFAULT_THRESHOLDS
    )
