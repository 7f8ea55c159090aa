"""Availability pages: the month calendar, weekly windows, one-off changes and the month plan."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..rounds.calls import round_call_for
from . import services
from .forms import ChangeForm, MonthPlanForm, WeeklyWindowForm

bp = Blueprint("availability", __name__)


def _me():
    return current_user._get_current_object()


def _month_from_query() -> services.Month:
    """The ?month=YYYY-MM asked for, or next month; a badly written month is a 400 that says why."""
    text = request.args.get("month")
    if not text:
        return services.default_month(_me())
    try:
        return services.Month.parse(text)
    except services.MonthError as problem:
        abort(400, description=str(problem))


def _show_refusal(form, refusal: services.AvailabilityRefusal) -> None:
    """Put each refusal under the field it concerns (or above the form if it has none)."""
    for name, message in refusal.problems.items():
        if name in form:
            form[name].errors.append(message)
        else:
            form.form_errors.append(message)


@bp.route("/availability")
@login_required
def calendar():
    """Your availability for a month, day by day, in your own time zone."""
    month = _month_from_query()
    return render_template(
        "availability/calendar.html", calendar=services.month_calendar(_me(), month)
    )


@bp.route("/availability/weekly", methods=["GET", "POST"])
@login_required
def weekly():
    """List your weekly windows and add one."""
    form = WeeklyWindowForm(_me())
    if form.validate_on_submit():
        try:
            services.add_weekly_window(_me(), **form.window())
        except services.AvailabilityRefusal as refusal:
            _show_refusal(form, refusal)
        else:
            flash("Weekly window added.", "success")
            return redirect(url_for("availability.weekly"))
    return render_template(
        "availability/weekly.html",
        form=form,
        windows=_me().weekly_windows,
        weekdays=services.WEEKDAYS,
    )


@bp.route("/availability/weekly/<int:window_id>/delete", methods=["POST"])
@login_required
def delete_window(window_id: int):
    """Delete one of your weekly windows."""
    if not services.delete_weekly_window(_me(), window_id):
        abort(404)
    flash("Weekly window deleted.", "success")
    return redirect(url_for("availability.weekly"))


@bp.route("/availability/changes", methods=["GET", "POST"])
@login_required
def changes():
    """List your coming one-off changes and add one: time off or an extra window."""
    form = ChangeForm(_me())
    if form.validate_on_submit():
        try:
            saved = services.add_change(_me(), **form.change())
        except services.AvailabilityRefusal as refusal:
            _show_refusal(form, refusal)
        else:
            flash("Change added.", "success")
            for note in saved.notes:
                flash(note, "info")
            return redirect(url_for("availability.changes"))
    return render_template(
        "availability/changes.html", form=form, changes=services.upcoming_changes(_me())
    )


@bp.route("/availability/changes/<int:change_id>/delete", methods=["POST"])
@login_required
def delete_change(change_id: int):
    """Delete one of your one-off changes."""
    if not services.delete_change(_me(), change_id):
        abort(404)
    flash("Change deleted.", "success")
    return redirect(url_for("availability.changes"))


@bp.route("/availability/plan", methods=["GET", "POST"])
@login_required
def plan():
    """Set how much you will host or observe in a month."""
    month = _month_from_query()
    draft = services.month_plan_for(_me(), month)
    form = MonthPlanForm(_me(), data=draft.values)
    if form.validate_on_submit():
        try:
            services.save_month_plan(_me(), month, form.limits())
        except services.AvailabilityRefusal as refusal:
            _show_refusal(form, refusal)
        else:
            flash(f"Your plan for {month.label} is saved.", "success")
            return redirect(url_for("availability.plan", month=str(month)))
    return render_template(
        "availability/plan.html",
        form=form,
        draft=draft,
        month=month,
        round_call=round_call_for(_me(), str(month)),
    )
