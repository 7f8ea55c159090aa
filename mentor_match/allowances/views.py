"""Learning time pages: your manager, a member's allowance, and the requests to decide."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import login_required

from ..errors import Refusal
from ..extensions import db
from ..models import AllowanceRequest, Person
from ..pages import attempt, current_person, flash_form_errors, show_refusal
from . import managers, requests, standing
from .forms import AllowanceForm, DecisionForm, ManagerForm

bp = Blueprint("allowances", __name__)


@bp.route("/profile/manager", methods=["POST"])
@login_required
def own_manager():
    """Set or clear your own manager, from your profile page."""
    me = current_person()
    form = ManagerForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("profiles.edit"))
    try:
        manager = managers.person_named(form.manager.data or "")
        changed = managers.set_manager(me, me, manager)
    except Refusal as refusal:
        show_refusal(refusal)
    else:
        if not changed:
            flash("Nothing changed.", "info")
        elif manager:
            flash(f"{manager.name} is now your manager.", "success")
        else:
            flash("You have no manager now: the admins decide your requests.", "success")
    return redirect(url_for("profiles.edit"))


@bp.route("/team/<int:person_id>/allowance", methods=["GET", "POST"])
@login_required
def member_allowance(person_id: int):
    """A member's own monthly hours, raised or lowered by their manager or an admin."""
    me = current_person()
    person = db.get_or_404(Person, person_id)
    if not standing.may_set_allowance(me, person):
        abort(403)
    figures = standing.allowance_figures(person)
    form = AllowanceForm(
        data={"observing_hours": figures.observing_hours, "hosting_hours": figures.hosting_hours}
    )
    if form.validate_on_submit():
        try:
            changed = standing.set_member_allowance(
                me,
                person,
                observing_hours=form.observing_hours.data,
                hosting_hours=form.hosting_hours.data,
            )
        except Refusal as refusal:
            show_refusal(refusal, form=form)
        else:
            flash(
                f"{person.name}'s allowance is saved." if changed else "Nothing changed.",
                "success",
            )
            return redirect(url_for("allowances.member_allowance", person_id=person.id))
    return render_template("allowances/member.html", person=person, figures=figures, form=form)


@bp.route("/team/requests")
@login_required
def requests_list():
    """Requests for more learning time: those you decide, and (admins) everyone's."""
    return render_template(
        "allowances/requests.html",
        page=requests.requests_page(current_person()),
        form=DecisionForm(formdata=None),
    )


def _request_to_decide(request_id: int) -> AllowanceRequest:
    request = db.get_or_404(AllowanceRequest, request_id)
    me = current_person()
    if not (requests.may_decide(me, request) or me.id == request.person_id and me.is_admin):
        abort(403)
    return request


def _decide(request_id: int, decide, *, success: str):
    """Approve or decline (`decide`, a requests function) the request, with the form's reason."""
    request = _request_to_decide(request_id)
    form = DecisionForm()
    if form.validate_on_submit():
        attempt(
            lambda: decide(current_person(), request, reason=form.reason.data or ""),
            success=success.format(name=request.person.name),
        )
    else:
        flash_form_errors(form)
    return redirect(url_for("allowances.requests_list"))


@bp.route("/team/requests/<int:request_id>/approve", methods=["POST"])
@login_required
def approve(request_id: int):
    """Grant the hours a request asks for its month."""
    return _decide(request_id, requests.approve, success="Approved: {name} is told.")


@bp.route("/team/requests/<int:request_id>/decline", methods=["POST"])
@login_required
def decline(request_id: int):
    """Refuse the hours a request asks for, saying why."""
    return _decide(request_id, requests.decline, success="Declined: {name} is told why.")
