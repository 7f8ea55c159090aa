"""The page where a signed-in person makes, lists and revokes their API tokens."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..errors import Refusal
from ..pages import current_person
from . import tokens

bp = Blueprint("api_tokens", __name__)


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def index():
    """List the person's tokens; a POST makes one and shows it this once."""
    person = current_person()
    new_token = None
    error = None
    name = ""
    if request.method == "POST":
        name = request.form.get("name", "")
        try:
            _, new_token = tokens.create_token(person, name)
        except Refusal as refusal:
            # This page's form is its own (not WTForms): the refusal goes beside its one field.
            error = str(refusal)
        else:
            name = ""
    response = render_template(
        "api/tokens.html",
        tokens=tokens.tokens_of(person),
        new_token=new_token,
        error=error,
        name=name,
        name_max=tokens.NAME_MAX,
    )
    return response, (422 if error else 200), {"Cache-Control": "no-store"}


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int):
    """Revoke one of the person's own tokens; anyone else's is not found."""
    row = tokens.own_token(current_person(), token_id)
    if row is None:
        abort(404)
    tokens.revoke(row)
    flash(f"Token “{row.name}” is revoked: it no longer works.", "success")
    return redirect(url_for("api_tokens.index"))
