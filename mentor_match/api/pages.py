"""The page where a signed-in person makes, lists and revokes their API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from . import tokens

bp = Blueprint("api_tokens", __name__)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def index():
    """List the person's tokens; a POST makes one and shows it this once."""
    new_token = None
    error = None
    name = ""
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            _, new_token = tokens.create_token(current_user, name)
        except tokens.TokenRefusal as refusal:
            error = str(refusal)
        else:
            name = ""
    response = render_template(
        "api/tokens.html",
        tokens=tokens.tokens_of(current_user),
        new_token=new_token,
        error=error,
        name=name,
        name_max=tokens.NAME_MAX,
    )
    return response, (422 if error else 200), {"Cache-Control": "no-store"}


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    row = tokens.own_token(current_user, token_id)
    if row is None:
        abort(404)
    tokens.revoke(row)
    flash(f"Token “{row.name}” is revoked: it no longer works.", "success")
    return redirect(url_for("api_tokens.index"))
