"""Mastery record pages: your records, the public record and its JSON, the public check, and
the Open Badges credential with the keys, issuer profile and status that let others check it.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..errors import Refusal
from ..limits import configured, limiter, record_code
from ..links import absolute_url
from ..pages import current_person, show_refusal
from ..security import without_session
from . import credential, keys, services
from .content import SOURCED_STAGE_VERSIONS, stage_provenance, stages_on_record
from .forms import VerifyForm

bp = Blueprint("records", __name__)
bp.record_once(lambda state: keys.init_app(state.app))
bp.add_app_template_filter(stage_provenance, "stage_provenance")

# Public record pages are reached by code only: keep them out of search engines, and let
# no cache keep serving a record after its owner revokes it.
PUBLIC_HEADERS = {"X-Robots-Tag": "noindex", "Cache-Control": "no-cache"}
# What verifiers elsewhere fetch (keys, the issuer): the same for everyone, readable from
# any origin, and cached for an hour.
SHARED_HEADERS = {"Cache-Control": "public, max-age=3600", "Access-Control-Allow-Origin": "*"}
# Shared too, but asked afresh each time: a revocation must show at once, a key may yet appear.
FRESH_HEADERS = {**SHARED_HEADERS, **PUBLIC_HEADERS}
CREDENTIAL_TYPE = "text/plain; charset=utf-8"  # OB 3.0 section 6: a VC-JWT file is the JWS


@bp.get("/records")
@login_required
def mine():
    """The signed-in person's records, active and revoked, and a button to publish one."""
    me = current_person()
    return render_template(
        "records/mine.html", records=services.records_of(me), stages=stages_on_record(me)
    )


@bp.post("/records")
@login_required
def publish():
    """Publish a new record of the person's verified mastery as it stands now."""
    record = services.publish_record(current_person())
    flash(f"Your mastery record is published. Its verification code is {record.code}.", "success")
    return redirect(url_for("records.mine"))


@bp.post("/records/<int:record_id>/revoke")
@login_required
def revoke(record_id: int):
    """Withdraw one of the person's own records; anyone else's is not found."""
    me = current_person()
    record = services.own_record(me, record_id)
    if record is None:
        abort(404)
    if services.revoke(me, record):
        flash(
            f"Record {record.code} is revoked: its page now says so to anyone who checks.",
            "success",
        )
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
    response = Response(
        render_template(
            "records/public.html",
            record=record,
            verification=verification,
            content=services.content_of(record),
            current_version=services.RECORD_VERSION,
            sourced_versions=SOURCED_STAGE_VERSIONS,
        )
    )
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
            "errors/error.html",
            code=410,
            message="This mastery record has been revoked by its owner.",
        ), 410
    body = json.dumps(
        services.signed_document(record, absolute_url("records.verify")),
        indent=2,
        ensure_ascii=False,
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


# Open Badges credential ------------------------------------------------------------------


@bp.get("/records/<int:record_id>/credential")
@login_required
def credential_download(record_id: int):
    """The owner's record as an Open Badges 3.0 credential, a VC-JWT file."""
    me = current_person()
    record = services.own_record(me, record_id)
    if record is None:
        abort(404)
    try:
        token = services.credential_of(me, record)
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("records.mine"))
    response = Response(token + "\n", content_type=CREDENTIAL_TYPE)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="mastery-record-{record.code}.jwt"'
    )
    return response


def _shared_json(document: dict, *, status: int = 200, headers: dict | None = None) -> Response:
    response = Response(
        json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        status=status,
        mimetype="application/json",
    )
    response.headers.update(headers or SHARED_HEADERS)
    return response


@bp.get("/credentials/<code>/status")
@without_session
@limiter.limit(configured("VERIFY_LIMIT_PER_CLIENT"))
def credential_status(code: str):
    """A credential's revocation list (1EdTech Revocation List 1.0), with `revoked` in plain."""
    record = services.record_for_code(code)
    if record is None:
        return _shared_json(
            {"error": "No mastery record has this code."}, status=404, headers=FRESH_HEADERS
        )
    return _shared_json(credential.revocation_list(record), headers=FRESH_HEADERS)


@bp.get("/issuer")
@without_session
def issuer():
    """The site as the Open Badges issuer Profile its credentials name."""
    return _shared_json(credential.issuer_profile(with_context=True))


@bp.get("/.well-known/jwks.json")
@without_session
def jwks():
    """The public keys that check the site's credentials, as a JSON Web Key Set."""
    return _shared_json(keys.jwks())


@bp.get("/keys/<thumbprint>")
@without_session
def public_key(thumbprint: str):
    """One public key as a JWK: what a credential's `kid` dereferences to."""
    key = keys.key_for_thumbprint(thumbprint)
    if key is None:
        return _shared_json(
            {"error": "This site has no key with that thumbprint."},
            status=404,
            headers=FRESH_HEADERS,
        )
    return _shared_json(key.public_jwk())
