"""SCAFFOLD — to be replaced by the availability helper."""
from flask import Blueprint

bp = Blueprint("availability", __name__)


@bp.route("/availability")
def calendar(): return "todo"


@bp.route("/availability/weekly")
def weekly(): return "todo"
