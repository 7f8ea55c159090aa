"""Jinja filters and globals: times in the viewer's own zone, stage labels, error pages."""

import logging
from datetime import datetime
from functools import cache

from flask import Flask, Response, g, render_template, request
from flask_login import current_user
from sqlalchemy import Select, bindparam, func, select
from werkzeug.exceptions import SecurityError

from .availability.expansion import Month
from .zones import in_zone

log = logging.getLogger(__name__)


def local_time(moment: datetime | None, fmt: str = "%a %d %b %Y, %H:%M %Z") -> str:
    """An instant shown in the signed-in person's time zone (UTC for visitors)."""
    if moment is None:
        return ""
    zone = current_user.timezone if current_user.is_authenticated else "UTC"
    return in_zone(moment, zone).strftime(fmt)


def month_label(month: str) -> str:
    """A month written for people: "2027-01" reads "January 2027"."""
    return Month.parse(month).label


def unread_count_of(person_id) -> Select:
    """How many notifications a person (an id, or a column to correlate with) has not read."""
    from .models import Notification

    return (
        select(func.count())
        .select_from(Notification)
        .where(Notification.person_id == person_id, Notification.read_at.is_(None))
    )


@cache
def _unread_count() -> Select:
    """The menu's unread count; built once, as it runs on every page and building costs more."""
    return unread_count_of(bindparam("person_id"))


def init_templating(app: Flask) -> None:
    from .links import absolute_url

    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(month_label, "month_label")
    app.add_template_global(absolute_url, "absolute_url")

    @app.context_processor
    def unread_notifications() -> dict:
        """How many notifications the signed-in person has not read, for the menu."""
        if not current_user.is_authenticated:
            return {"unread_notifications": 0}
        from .extensions import SAFE_METHODS, db

        # Counted with the person when they were loaded for this request; a request that may
        # have read or added notifications since counts again.
        count = g.pop("unread_notifications", None)
        if count is None or request.method not in SAFE_METHODS:
            count = db.session.scalar(_unread_count(), {"person_id": current_user.id})
        return {"unread_notifications": count}

    @app.context_processor
    def manages_someone() -> dict:
        """Whether the signed-in person manages anyone, for the menu's link to their team."""
        if not current_user.is_authenticated:
            return {"manages_someone": False}
        manages = g.get("manages_someone")
        if manages is None:
            from sqlalchemy import exists, select

            from .extensions import db
            from .models import Person

            manages = bool(
                db.session.scalar(
                    select(exists().where(Person.manager_id == current_user.id, Person.active))
                )
            )
        return {"manages_someone": manages}

    @app.errorhandler(403)
    def forbidden(error):
        return render_template(
            "errors/error.html", code=403, message="You do not have access to that page."
        ), 403

    @app.errorhandler(404)
    def not_found(error):
        return render_template(
            "errors/error.html", code=404, message="There is nothing at that address."
        ), 404

    @app.errorhandler(SecurityError)
    def untrusted_host(error):
        # Plain text: with a refused host there is no URL adapter, so no page can be built.
        site = app.config["SITE_URL"]
        return Response(
            f"This site answers only at {site}; the request's Host was refused.\n",
            status=400,
            mimetype="text/plain",
        )

    @app.errorhandler(400)
    def bad_request(error):
        message = getattr(error, "description", None) or "The request could not be understood."
        return render_template("errors/error.html", code=400, message=message), 400

    @app.errorhandler(413)
    def too_large(error):
        limit = request.max_content_length or app.config["MAX_CONTENT_LENGTH"]
        size = f"{limit // 1024**2} MB" if limit >= 1024**2 else f"{limit // 1024} KB"
        return render_template(
            "errors/error.html",
            code=413,
            message=f"That upload is larger than {size}; nothing was saved.",
        ), 413

    @app.errorhandler(500)
    def server_error(error):
        """The page for an error of ours, with the request's id for the person to quote.

        Flask has logged the traceback already, once (Flask.log_exception), and that line
        carries the same id (logs.py), so the page adds no second copy.
        """
        from .extensions import db
        from .logs import current_request_id

        message = "Something went wrong on our side. It has been logged."
        reference = current_request_id()
        try:
            # A failed flush leaves the session unusable until it is rolled back, and the page
            # (its menu's count) still asks the database something.
            db.session.rollback()
            page = render_template(
                "errors/error.html", code=500, message=message, reference=reference
            )
        except Exception:  # the page needs the database, which may be what failed
            log.exception("the error page could not be drawn; a plain one was sent")
            page = Response(
                f"{message}\nIf you tell us about it, quote this reference: {reference}\n",
                mimetype="text/plain",
            )
        return page, 500
