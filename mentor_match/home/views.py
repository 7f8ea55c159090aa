"""Landing page for visitors and the dashboard for people who are signed in."""

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..pages import current_person
from .services import dashboard_for

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    """What Mentor Match is, with sign-up and log-in links."""
    if current_user.is_authenticated:
        return dashboard()
    return render_template("home/index.html")


@bp.route("/favicon.ico")
def favicon():
    """The icon, where browsers look for it on what links none (a JSON record, a feed)."""
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.route("/dashboard")
@login_required
def dashboard():
    """A person's next steps: profile, skills, availability and this month's plan."""
    return render_template("home/dashboard.html", dashboard=dashboard_for(current_person()))
