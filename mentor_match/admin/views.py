"""SCAFFOLD — to be replaced by the admin helper."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
def index(): return "todo"
