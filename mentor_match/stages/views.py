"""Pages for verifying stages: the admin's queue and rulings, a master's endorsements."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..extensions import db
from ..models import PersonSkill, Stage
from ..organisation.services import only_verified_hosts
from ..pages import attempt, current_person, form_problems
from ..security import admin_required
from . import services
from .forms import AdminStageForm, PeerEndorsementForm, RevokeForm, RulingForm
from .hosting import waiting_for_verification

bp = Blueprint("stages", __name__)
# templates/stages/_source.html says "waiting for verification" by the queue's own rule.
bp.add_app_template_global(waiting_for_verification, "waiting_for_verification")


@bp.get("/admin/verification")
@admin_required
def queue():
    """Self-declared hosting stages waiting for an admin, the longest waiting first."""
    return render_template(
        "stages/queue.html",
        waiting=services.stages_to_verify(),
        verified_only=only_verified_hosts(),
        max_reason=services.MAX_REASON,
    )


@bp.post("/admin/verification")
@admin_required
def rule():
    """Verify a waiting stage as claimed, or decline it with a reason."""
    form = RulingForm()
    if not form.validate_on_submit():
        flash(form_problems(form) or "Choose a stage to rule on.", "error")
        return redirect(url_for("stages.queue"))
    approving = form.decision.data == "approve"

    def ruling() -> PersonSkill:
        if approving:
            return services.approve(
                current_person(),
                form.person_id.data,
                form.micro_skill_id.data,
                stage_seen=form.stage,
                note=form.reason.data or "",
            )
        return services.decline(
            current_person(),
            form.person_id.data,
            form.micro_skill_id.data,
            stage_seen=form.stage,
            reason=form.reason.data or "",
        )

    done = "verified" if approving else "declined"
    attempt(
        ruling,
        success=lambda held: (
            f"{held.person.name}'s stage {held.stage.value} in {held.micro_skill.full_name} is "
            f"{done}; they have been told."
        ),
    )
    return redirect(url_for("stages.queue"))


@bp.post("/stages/endorse")
@login_required
def endorse():
    """A verified master endorses another master's self-declared stage in their skill."""
    if not current_person().is_master:
        abort(403)
    form = PeerEndorsementForm()
    if not form.validate_on_submit():
        flash(form_problems(form) or "Choose whom to endorse.", "error")
        return redirect(url_for("progress.hosting"))
    attempt(
        lambda: services.endorse_peer(
            current_person(),
            form.person_id.data,
            form.micro_skill_id.data,
            stage_seen=form.stage,
            note=form.note.data or "",
        ),
        success=lambda held: (
            f"You endorsed {held.person.name} as a {held.stage.value} in "
            f"{held.micro_skill.full_name}; they have been told."
        ),
    )
    return redirect(url_for("progress.hosting"))


def _held_or_404(person_id: int, micro_skill_id: int) -> PersonSkill:
    held = db.session.get(PersonSkill, (person_id, micro_skill_id))
    if held is None:
        abort(404)
    return held


@bp.route("/admin/people/<int:person_id>/stages/<int:micro_skill_id>", methods=["GET", "POST"])
@admin_required
def change(person_id: int, micro_skill_id: int):
    """An admin sets a person's stage in one skill, or takes back its verification."""
    held = _held_or_404(person_id, micro_skill_id)
    form = AdminStageForm(prefix="set", data={"stage": held.stage.value})
    revoke_form = RevokeForm(prefix="revoke")
    action = request.form.get("action")
    if action == "set" and form.validate_on_submit():
        return _act(
            held,
            lambda: services.set_stage(
                current_person(),
                person_id,
                micro_skill_id,
                Stage(form.stage.data),
                reason=form.reason.data,
            ),
        )
    if action == "revoke" and revoke_form.validate_on_submit():
        return _act(
            held,
            lambda: services.revoke(
                current_person(), person_id, micro_skill_id, reason=revoke_form.reason.data
            ),
        )
    return render_template(
        "stages/change.html",
        held=held,
        form=form,
        revoke_form=revoke_form,
        seats=services.upcoming_hosted_seats(held.person, micro_skill_id),
        verified_only=only_verified_hosts(),
    )


def _act(held: PersonSkill, action):
    person, skill = held.person, held.micro_skill

    def changed(change) -> str:
        cancelled = (
            f" {change.seats_cancelled} upcoming seat{'s' if change.seats_cancelled != 1 else ''} "
            "were cancelled and their apprentices told."
            if change.seats_cancelled
            else ""
        )
        return (
            f"{person.name} is now a {change.held.stage.value} in {skill.full_name} "
            f"({change.held.stage_source.label}); they have been told.{cancelled}"
        )

    if attempt(action, success=changed):
        return redirect(url_for("profiles.show", person_id=person.id))
    return redirect(url_for("stages.change", person_id=person.id, micro_skill_id=skill.id))
