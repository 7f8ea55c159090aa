"""Calendar pages: one session as .ics, each person's private feed, and the feed settings."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from flask_login import login_required

from ..extensions import db
from ..models import ShadowingSession
from ..pages import current_person
from . import services

bp = Blueprint("calendars", __name__)

ICS_TYPE = "text/calendar; charset=utf-8"


@bp.get("/sessions/<int:session_id>/calendar.ics")
@login_required
def session_ics(session_id: int):
    """One session as an .ics download, for its master or an observer with a live seat."""
    person = current_person()
    session = db.session.get(ShadowingSession, session_id)
    if session is None or not services.is_participant(session, person):
        abort(404)
    return Response(
        services.session_calendar(session, person),
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
    """How to subscribe to the person's feed, and a button to make its address."""
    return render_template("calendars/feed.html", has_feed=services.has_feed(current_person()))


@bp.post("/calendar/reset")
@login_required
def reset():
    """Make a new feed address and show it this once; any old address stops working."""
    person = current_person()
    replaced = services.has_feed(person)
    web_url, webcal_url = services.feed_urls(services.new_feed_token(person))
    return render_template(
        "calendars/feed.html",
        has_feed=True,
        replaced=replaced,
        web_url=web_url,
        webcal_url=webcal_url,
    )
