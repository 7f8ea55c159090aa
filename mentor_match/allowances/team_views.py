"""The team page: a manager's view of their team's learning time, sessions ahead and progress."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import login_required

from ..pages import current_person
from . import team

bp = Blueprint("team", __name__)


@bp.get("/team")
@login_required
def index():
    """Each member of your team: hours granted and used, sessions ahead, progress."""
    return render_template("team/index.html", overview=team.team_overview(current_person()))


@bp.get("/team/members/<int:person_id>")
@login_required
def member(person_id: int):
    """One member of your team in full; anyone not in your team is not found."""
    manager = current_person()
    person = team.member_of(manager, person_id)
    if person is None:
        abort(404)
    overview = team.overview_of(manager, [person])
    return render_template("team/member.html", member=overview.members[0])
