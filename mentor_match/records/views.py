"""Mastery record pages: your records, the public record and its JSON, and the public check."""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..limits import configured, limiter, record_code
from ..links import absolute_url
from ..models import Person
from . import services
from .content import stage_provenance
from .forms import VerifyForm

bp = Blueprint("records", __name__)
bp.add_app_template_filter(stage_provenance, "stage_provenance")

# Public record pages are reached by code only: keep them out of search engines, and let
# no cache keep serving a record after its owner revokes it.
PUBLIC_HEADERS = {"X-Robots-Tag": "noindex", "Cache-Control": "no-cache"}


def _me() -> Person:
    return current_user._get_current_object()


@bp.get("/records")
@login_required
def mine():
    """The signed-in person's records, active and revoked, and a button to publish one."""
    return render_template("records/mine.html", records=services.records_of(_me()),
                           stages=services.stages_on_record(_me()))


@bp.post("/records")
@login_required
def publish():
    """Publish a new record of the person's verified mastery as it stands now."""
    record = services.publish_record(_me())
    flash(f"Your mastery record is published. Its verification code is {record.code}.", "success")
    return redirect(url_for("records.mine"))


@bp.post("/records/<int:record_id>/revoke")
@login_required
def revoke(record_id: int):
    """Withdraw one of the person's own records; anyone else's is not found."""
    record = services.own_record(_me(), record_id)
    if record is None:
        abort(404)
    if services.revoke(_me(), record):
        flash(f"Record {record.code} is revoked: its page now says so to anyone who checks.",
              "success")
    else:
        flash(f"Record {record.code} was already revoked.", "info")
    return redirect(url_for("records.mine"))


@bp.get("/r/<code>")
def public(code: str):
    """A record as anyone with its code sees it, with the site's word on its authenticity."""
    record = services.record_for_code(code)
    if record is None:
        abort(404)
    if code != record.code:
        return redirect(url_for("records.public", code=record.code))
    verification = services.verify(record.code)
    response = Response(render_template(
        "records/public.html", record=record, verification=verification,
        content=services.content_of(record), current_version=services.RECORD_VERSION,
    ))
    response.headers.update(PUBLIC_HEADERS)
    return response


@bp.get("/r/<code>.json")
def document(code: str):
    """The signed record as a JSON download; a revoked record is no longer handed out."""
    record = services.record_for_code(code)
    if record is None:
        abort(404)
    if record.revoked_at is not None:
        return render_template(
            "errors/error.html", code=410,
            message="This mastery record has been revoked by its owner.",
        ), 410
    body = json.dumps(
        services.signed_document(record, absolute_url("records.verify")),
        indent=2, ensure_ascii=False,
    )
    response = Response(body + "\n", mimetype="application/json")
    filename = f"mastery-record-{record.code}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers.update(PUBLIC_HEADERS)
    return response


@bp.route("/verify", methods=["GET", "POST"])
@limiter.limit(configured("VERIFY_LIMIT_PER_CLIENT"))
@limiter.limit(configured("VERIFY_LIMIT_PER_ACCOUNT"), key_func=record_code)
def verify():
    """Check a code, and optionally a pasted document, against what the site signed."""
    form = VerifyForm(code=request.args.get("code", ""))
    verification = None
    if form.validate_on_submit():
        verification = services.verify(form.code.data or None, form.document.data or None)
    return render_template("records/verify.html", form=form, verification=verification)
