"""GET /healthz (the process answers) and GET /readyz (it can serve: database, Redis, worker)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from ..limits import limiter
from ..security import for_machines
from .checks import readiness

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@for_machines
@limiter.exempt
def healthz():
    """The process is up and answers: no database, no session, nothing else asked."""
    return _no_store(jsonify(status="ok")), 200


@bp.get("/readyz")
@for_machines
@limiter.exempt
def readyz():
    """Whether this process can serve requests: 200 when every check passes, else 503."""
    result = readiness(current_app._get_current_object())
    return _no_store(jsonify(result.as_json())), 200 if result.ready else 503


def _no_store(response):
    # A cached answer would hide a change; a probe must see the state at the moment it asks.
    response.headers["Cache-Control"] = "no-store"
    return response
