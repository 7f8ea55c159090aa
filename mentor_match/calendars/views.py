"""Calendar pages: one session as .ics, each person's private feed, and the feed settings."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..extensions import db
from ..models import ShadowingSession
from . import services

bp = Blueprint("calendars", __name__)

ICS_TYPE = "text/calendar; charset=utf-8"


@bp.get("/sessions/<int:session_id>/calendar.ics")
@login_required
def session_ics(session_id: int):
    """One session as an .ics download, for its master or an observer with a live seat."""
    session = db.session.get(ShadowingSession, session_id)
    if session is None or not services.is_participant(session, current_user):
        abort(404)
    return Response(
        services.session_calendar(session, current_user),
        content_type=ICS_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="shadowing-session-{session.id}.ics"'
        },
    )


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    """A person's feed, public because calendar apps cannot log in: the token is the secret."""
    person = services.person_for_token(token)
    if person is None:
        abort(404)
    response = Response(services.feed_calendar(person), content_type=ICS_TYPE)
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/calendar")
@login_required
def settings():
    """The person's feed address, how to subscribe to it, and a button to reset it."""
    web_url, webcal_url = services.feed_urls(current_user)
    return render_template("calendars/feed.html", web_url=web_url, webcal_url=webcal_url)


@bp.post("/calendar/reset")
@login_required
def reset():
    services.reset_token(current_user)
    flash("Your calendar has a new address: the old one no longer works. Subscribe again "
          "with the address below, and remove the old subscription from your calendar app.",
          "success")
    return redirect(url_for("calendars.settings"))
