"""Pages: a person's calendar feed (paste, replace, remove, fetch again), and the admin's
private-network switch for calendar addresses."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..availability.expansion import Month
from ..availability.services import local_today
from ..pages import attempt, current_person
from ..rounds.jobs import dispatch_calendar_refresh
from ..rounds.queue import QueueUnavailable
from ..security import admin_required
from . import services
from .forms import CalendarAddressForm, PrivateAddressesForm

bp = Blueprint("busy", __name__)

QUEUED = "Saved. Your calendar is being read; reload this page in a moment to see what it found."
QUEUE_DOWN = (
    "Saved. The background queue is not answering just now, so your calendar will be read "
    "at the next scheduled refresh (within the hour)."
)


def _fetch_soon(person_id: int) -> None:
    try:
        dispatch_calendar_refresh(person_id)
    except QueueUnavailable:
        flash(QUEUE_DOWN, "error")
    else:
        flash(QUEUED, "success")


@bp.route("/availability/calendar-feed", methods=["GET", "POST"])
@login_required
def feed():
    """Your calendar's private address: what it last gave, and a form to paste or replace it."""
    me = current_person()
    form = CalendarAddressForm()
    # Saved, _fetch_soon says so, and when the calendar is read.
    if form.validate_on_submit() and attempt(
        lambda: services.save_address(me, form.address.data or ""), success=None, form=form
    ):
        _fetch_soon(me.id)
        return redirect(url_for("busy.feed"))
    month = Month.containing(local_today(me))
    start = datetime.combine(month.first_day, time(0), me.zone).astimezone(UTC)
    end = datetime.combine(month.next.first_day, time(0), me.zone).astimezone(UTC)
    return render_template(
        "availability/calendar_feed.html",
        form=form,
        state=services.feed_state(me, start, end),
        month=month,
        private_allowed=services.private_addresses_allowed(),
    )


@bp.route("/availability/calendar-feed/refresh", methods=["POST"])
@login_required
def refresh():
    """Read your calendar again now (in the background)."""
    me = current_person()
    if services.feed_of(me) is None:
        flash("You have no calendar address to read; paste one first.", "error")
    else:
        _fetch_soon(me.id)
    return redirect(url_for("busy.feed"))


@bp.route("/availability/calendar-feed/remove", methods=["POST"])
@login_required
def remove():
    """Forget your calendar address and the busy times it gave."""
    removed = services.remove_feed(current_person())
    flash(
        "Your calendar address and its busy times are removed."
        if removed
        else "You had no calendar address.",
        "success",
    )
    return redirect(url_for("busy.feed"))


@bp.route("/admin/calendar-addresses", methods=["GET", "POST"])
@admin_required
def private_addresses():
    """Whether people's calendar addresses may be on private networks (off by default)."""
    form = PrivateAddressesForm()
    if request.method == "GET":
        form.allow.data = services.private_addresses_allowed()
    if form.validate_on_submit() and attempt(
        lambda: services.save_private_addresses_setting(current_person(), allow=form.allow.data),
        success="Calendar address setting saved.",
    ):
        return redirect(url_for("busy.private_addresses"))
    return render_template(
        "admin/calendar_addresses.html", form=form, failing=services.feeds_with_errors()
    )
