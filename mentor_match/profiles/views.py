"""SCAFFOLD — to be replaced by the profiles helper."""
from flask import Blueprint

bp = Blueprint("profiles", __name__)


@bp.route("/people/<int:person_id>")
def show(person_id): return "todo"


@bp.route("/people")
def search(): return "todo"


@bp.route("/profile/skills")
def skills(): return "todo"


@bp.route("/profile")
def edit(): return "todo"
