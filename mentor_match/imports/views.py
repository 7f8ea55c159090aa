"""Admin pages to import people from CSV (preview, then confirm) and to export them.

The upload is kept under the instance folder (IMPORTS_FOLDER, default instance/imports)
with a random name; the preview page carries that name (and the uploaded file's own name,
for the notes of the stages it gives) in a token signed with SECRET_KEY (salt
"people-import"), valid for an hour and only for the admin who uploaded it.
"""

import re
import secrets
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    url_for,
)
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import Refusal
from ..inputs import UPLOAD_FORM_OVERHEAD, allows_upload
from ..organisation.services import only_verified_hosts
from ..pages import current_person, show_refusal
from ..rounds import jobs
from ..security import admin_required
from .export import export_csv
from .forms import ConfirmForm, UploadForm
from .people_file import COLUMNS, MAX_BYTES, decode_upload
from .plan import ImportPlan, build_plan
from .services import apply_import, invitation_lifetime_days

bp = Blueprint("imports", __name__, url_prefix="/admin")

TOKEN_MAX_AGE = 3600
_NAME = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
MAX_FILENAME = 120


@dataclass(frozen=True)
class PendingUpload:
    """A previewed file waiting for confirmation, and the name it was uploaded under."""

    path: Path
    filename: str


def _shown_filename(raw: str | None) -> str:
    """The uploaded file's own name without folders or control characters, for notes."""
    name = re.split(r"[/\\]", raw or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:MAX_FILENAME]


def _folder() -> Path:
    folder = Path(
        current_app.config.get("IMPORTS_FOLDER") or Path(current_app.instance_path) / "imports"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="people-import")


def _forget_old_uploads(folder: Path) -> None:
    """Delete uploads nobody confirmed within the token's lifetime."""
    limit = time.time() - TOKEN_MAX_AGE
    for path in [*folder.glob("*.csv"), *folder.glob("*.applying")]:
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass


def _pending_upload(token: str) -> PendingUpload:
    """The saved upload a token names; a refusal saying why if it cannot be used."""
    try:
        payload = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise Refusal("That preview is more than an hour old. Upload the file again.") from None
    except BadSignature:
        raise Refusal("That import is not valid. Upload the file again.") from None
    name = payload.get("file") if isinstance(payload, dict) else None
    if (
        not isinstance(name, str)
        or not _NAME.match(name)
        or payload.get("by") != current_person().id
    ):
        raise Refusal("That import is not valid. Upload the file again.")
    path = _folder() / f"{name}.csv"
    if not path.exists():
        raise Refusal("That import has already been applied or has expired. Upload the file again.")
    filename = payload.get("name")
    return PendingUpload(path, _shown_filename(filename if isinstance(filename, str) else ""))


@bp.route("/import", methods=["GET", "POST"])
@allows_upload(MAX_BYTES + UPLOAD_FORM_OVERHEAD)
@admin_required
def upload():
    """Upload a CSV and preview what it would create and change; nothing is written."""
    form = UploadForm()
    if form.validate_on_submit():
        data = form.people.data.read(MAX_BYTES + 1)
        try:
            text = decode_upload(data)
            plan = build_plan(text)
        except Refusal as refusal:
            show_refusal(refusal, form=form)
        else:
            token = None
            filename = _shown_filename(form.people.data.filename)
            if not plan.problems:
                folder = _folder()
                _forget_old_uploads(folder)
                name = secrets.token_urlsafe(24)
                (folder / f"{name}.csv").write_text(text, encoding="utf-8")
                token = _serializer().dumps(
                    {"file": name, "by": current_person().id, "name": filename}
                )
            return render_template(
                "imports/preview.html",
                plan=plan,
                confirm=ConfirmForm(token=token),
                token=token,
                filename=filename or "the file",
                only_verified_hosts=only_verified_hosts(),
                form=UploadForm(formdata=None),
            )
    return render_template(
        "imports/upload.html",
        form=form,
        columns=COLUMNS,
        invitation_days=invitation_lifetime_days(),
    )


@bp.route("/import/confirm", methods=["POST"])
@admin_required
def confirm():
    """Apply a previewed file in one transaction, invite the new people, delete the file."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        flash("That import is not valid. Upload the file again.", "error")
        return redirect(url_for("imports.upload"))
    try:
        plan = _apply_pending(form.token.data, trust_stages=form.trust_stages.data)
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("imports.upload"))
    if plan.creations:
        jobs.dispatch_mail()
    flash(
        f"{len(plan.creations)} created, {len(plan.changes)} changed, {plan.unchanged} unchanged."
        + (" The new people have been invited by mail." if plan.creations else "")
        + _stages_done(plan, trusted=form.trust_stages.data),
        "success",
    )
    return redirect(url_for("imports.upload"))


def _apply_pending(token: str, *, trust_stages: bool) -> ImportPlan:
    """Apply the upload a preview's token names, at most once, and delete it."""
    pending = _pending_upload(token)
    # Claim the file first, so a double submission cannot apply it twice; it is used once.
    claimed = pending.path.with_suffix(".applying")
    try:
        pending.path.rename(claimed)
    except FileNotFoundError:
        raise Refusal(
            "That import has already been applied or has expired. Upload the file again."
        ) from None
    try:
        return apply_import(
            claimed.read_text(encoding="utf-8"),
            current_person(),
            trust_stages=trust_stages,
            filename=pending.filename,
        )
    finally:
        claimed.unlink(missing_ok=True)


def _stages_done(plan: ImportPlan, *, trusted: bool) -> str:
    """What the import did to stages, for the confirmation message."""
    stages = plan.stages
    if trusted and stages.verified_if_trusted:
        return f" {stages.verified_if_trusted} stage(s) marked verified (imported)."
    if not trusted and stages.hosting_unverified:
        return (
            f" {stages.hosting_unverified} hosting stage(s) arrived self-declared and wait "
            "for verification."
        )
    return ""


@bp.route("/export.csv")
@admin_required
def export():
    """Every active master and apprentice, in the format the import reads."""
    return Response(
        export_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=people.csv"},
    )
