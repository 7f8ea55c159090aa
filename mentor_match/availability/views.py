"""Availability pages: the month calendar, weekly windows, one-off changes and the month plan."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..allowances.figures import in_words
from ..allowances.requests import PLAN_FIELD, ask_for_plan, plan_allowances
from ..pages import attempt, current_person
from ..rounds.calls import round_call_for
from . import services, windows
from .expansion import Month, MonthError
from .forms import ChangeForm, MonthPlanForm, WeeklyWindowForm
from .month_calendar import month_calendar
from .plan_cuts import cut_key, plan_cuts

bp = Blueprint("availability", __name__)


def _month_from_query() -> Month:
    """The ?month=YYYY-MM asked for, or next month; a badly written month is a 400 that says why."""
    text = request.args.get("month")
    if not text:
        return services.default_month(current_person())
    try:
        return Month.parse(text)
    except MonthError as problem:
        abort(400, description=str(problem))


@bp.route("/availability")
@login_required
def calendar():
    """Your availability for a month, day by day, in your own time zone."""
    month = _month_from_query()
    return render_template(
        "availability/calendar.html", calendar=month_calendar(current_person(), month)
    )


@bp.route("/availability/weekly", methods=["GET", "POST"])
@login_required
def weekly():
    """List your weekly windows and add one."""
    me = current_person()
    form = WeeklyWindowForm(me)
    if form.validate_on_submit() and attempt(
        lambda: windows.add_weekly_window(me, **form.window()),
        success="Weekly window added.",
        form=form,
    ):
        return redirect(url_for("availability.weekly"))
    return render_template(
        "availability/weekly.html",
        form=form,
        windows=me.weekly_windows,
        weekdays=windows.WEEKDAYS,
    )


@bp.route("/availability/weekly/<int:window_id>/delete", methods=["POST"])
@login_required
def delete_window(window_id: int):
    """Delete one of your weekly windows."""
    if not windows.delete_weekly_window(current_person(), window_id):
        abort(404)
    flash("Weekly window deleted.", "success")
    return redirect(url_for("availability.weekly"))


@bp.route("/availability/changes", methods=["GET", "POST"])
@login_required
def changes():
    """List your coming one-off changes and add one: time off or an extra window."""
    me = current_person()
    form = ChangeForm(me)
    if form.validate_on_submit():
        added = attempt(
            lambda: windows.add_change(me, **form.change()), success="Change added.", form=form
        )
        if added:
            for note in added.result.notes:
                flash(note, "info")
            return redirect(url_for("availability.changes"))
    return render_template(
        "availability/changes.html", form=form, changes=windows.upcoming_changes(me)
    )


@bp.route("/availability/changes/<int:change_id>/delete", methods=["POST"])
@login_required
def delete_change(change_id: int):
    """Delete one of your one-off changes."""
    if not windows.delete_change(current_person(), change_id):
        abort(404)
    flash("Change deleted.", "success")
    return redirect(url_for("availability.changes"))


@bp.route("/availability/plan", methods=["GET", "POST"])
@login_required
def plan():
    """Set how much you will host or observe in a month, then confirm it for its round."""
    me = current_person()
    month = _month_from_query()
    draft = services.month_plan_for(me, month)
    form = MonthPlanForm(me, data=services.numbers_to_ask(me, draft))
    cuts = []
    asked = []

    def save_and_ask(limits: dict[str, int]) -> None:
        saved = services.save_month_plan(me, month, limits)
        planned = {name: getattr(saved, name) for name in PLAN_FIELD.values()}
        asked.extend(ask_for_plan(me, month, planned, reason=form.reason.data or ""))

    if form.validate_on_submit():
        limits = form.limits()
        cuts = plan_cuts(me, month, limits)
        confirmed = form.accept_cut.data == cut_key(limits)
        if (not cuts or confirmed) and attempt(
            lambda: save_and_ask(limits),
            success=f"Your plan for {month.label} is saved.",
            form=form,
        ):
            for outcome in asked:
                if outcome.above:
                    flash(
                        f"You asked for {outcome.planned} h {outcome.kind.label}, above your "
                        f"{outcome.granted.hours} h: see below who decides.",
                        "info",
                    )
                elif outcome.withdrew:
                    flash(
                        f"Your plan is within your {outcome.kind.label} allowance, so your "
                        "request for more is withdrawn.",
                        "info",
                    )
            return redirect(url_for("availability.plan", month=str(month)))
    allowances = plan_allowances(me, month)
    return render_template(
        "availability/plan.html",
        allowances=allowances,
        allowance_words={shown.kind: in_words(shown.granted) for shown in allowances},
        limited=any(shown.granted.limited for shown in allowances),
        form=form,
        draft=draft,
        month=month,
        cuts=cuts,
        cut_key=cut_key(form.limits()) if cuts else "",
        round_call=round_call_for(me, str(month)),
    )
