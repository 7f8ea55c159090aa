"""Who is signed in, how long a session lasts, and the security headers on every response."""

import secrets
import time
from datetime import UTC, datetime, timedelta
from functools import cache, wraps

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, logout_user
from itsdangerous import BadSignature
from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.orm import aliased

from .extensions import db, login_manager
from .models import Person
from .templating import unread_count_of

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ]
)
# Browsers that once reached the site over https keep to https for a year. Sent only on https
# responses: over http the header is ignored, and local http use must keep working.
STRICT_TRANSPORT_SECURITY = "max-age=31536000"


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie, re-sent to keep an idle session alive at most once a
    minute rather than with every response.

    The idle limit is the cookie signature's age (PERMANENT_SESSION_LIFETIME, checked when the
    cookie is read), so activity must re-sign it; doing that on every response cost each page a
    signing and a Set-Cookie header for the browser to store. A session is now kept alive by
    activity up to a minute before its last refresh, so it ends between 29 and 30 minutes after
    the last request instead of at exactly 30. A changed session is always sent at once.
    """

    refresh_after = timedelta(minutes=1)

    def open_session(self, app: Flask, request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:  # tampered with, or past the idle limit
            return self.session_class()
        opened = self.session_class(data)
        opened.signed_at = signed_at
        return opened

    def should_set_cookie(self, app: Flask, session) -> bool:
        view = app.view_functions.get(request.endpoint) if request.endpoint else None
        if getattr(view, "without_session", False):
            return False
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        if signed_at is None:
            return True
        # The signer's own clock (time.time), that the idle limit is checked against.
        return time.time() - signed_at.timestamp() >= self.refresh_after.total_seconds()


@cache
def _signed_in_query() -> Select:
    """The signed-in person, their unread notifications and whether they manage anyone (both
    for the menu), in one statement.

    Every page asks all three, so they come in one round trip; built once, with :person_id bound.
    """
    unread = unread_count_of(Person.id).scalar_subquery()
    member = aliased(Person)
    manages = exists().where(member.manager_id == Person.id, member.active)
    return select(Person, unread.label("unread"), manages.label("manages")).where(
        Person.id == bindparam("person_id")
    )


@login_manager.user_loader
def load_person(user_id: str) -> Person | None:
    """Find the signed-in person, refusing cookies whose session token has been rotated."""
    person_id, _, token = user_id.partition(":")
    if not person_id.isdigit() or not token:
        return None
    row = db.session.execute(_signed_in_query(), {"person_id": int(person_id)}).first()
    if row is None or not secrets.compare_digest(row.Person.session_token, token):
        return None
    g.unread_notifications = row.unread  # for the menu: see templating.unread_notifications
    g.manages_someone = bool(row.manages)  # for the menu: see templating.manages_someone
    return row.Person


def is_local_url(target: str | None) -> bool:
    """Whether a redirect target is a path on this site: never //host, /\\host or a URL."""
    # Browsers drop tabs and newlines from a URL ("/<tab>/evil.example" is //evil.example) and
    # read a backslash as a slash; a newline in a Location header is a 500 besides.
    return (
        bool(target)
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and target.isprintable()
    )


def field_with_nul(values) -> str | None:
    """The first field whose name or text holds a NUL character, if any.

    No one types one; PostgreSQL cannot store one in text (SQLite would, silently); so a
    request carrying one is refused whole, by name, before any view can half-save it.
    """
    for name, value in values.items(multi=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "\\0")
    return None


def without_session(view):
    """Never send a session cookie with this view's responses: public documents that shared
    caches keep (keys, an issuer profile) must not carry, and so hand on, anyone's session.
    Put it just under the route decorator, so the view the app registers is the one marked."""
    view.without_session = True  # type: ignore[attr-defined]  # read by should_set_cookie
    return view


def for_machines(view):
    """A view for load balancers and monitors (the health checks): it sends no session cookie,
    looks no one up, and takes no database connection for the request (extensions.init_reads),
    so it answers alike whoever asks and whatever cookie they send, database up or down.
    Put it just under the route decorator, as `without_session`."""
    view.without_session = True  # type: ignore[attr-defined]
    view.for_machines = True  # type: ignore[attr-defined]  # read by is_for_machines
    return view


def is_for_machines() -> bool:
    """Whether the request is for a view marked `for_machines`."""
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return getattr(view, "for_machines", False)


def admin_required(view):
    """Let only signed-in admins through; everyone else gets 403 (or the log-in page)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return guarded


def init_security(app: Flask) -> None:
    """Install session limits and security headers on the app."""
    app.session_interface = SessionCookies()
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @app.before_request
    def refuse_nul_characters():
        for values in (request.args, request.form):
            name = field_with_nul(values)
            if name is not None:
                abort(
                    400,
                    description=f"The field {name!r} holds a NUL character, which text "
                    "cannot contain; the request was refused and nothing changed.",
                )

    @app.before_request
    def enforce_absolute_session_lifetime():
        # The idle limit is PERMANENT_SESSION_LIFETIME, refreshed by activity (SessionCookies);
        # this is the hard limit after which a person signs in again however active they have been.
        # Static files are public: a browser fetching the style sheet needs no one loaded.
        if request.endpoint == "static" or is_for_machines() or not current_user.is_authenticated:
            return None
        started = session.get("signed_in_at")
        limit = app.config["SESSION_ABSOLUTE_LIFETIME"].total_seconds()
        now = datetime.now(UTC).timestamp()
        if started is None or now - float(started) > limit:
            logout_user()
            session.clear()
            flash("Your session has expired. Please log in again.", "info")
            return redirect(url_for("accounts.login", next=request.full_path))
        return None

    @app.after_request
    def set_security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", STRICT_TRANSPORT_SECURITY)
        if request.endpoint != "static" and not is_for_machines() and current_user.is_authenticated:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
