"""The admin's Organisation page: who may sign up, and whether only verified masters host."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from ..pages import attempt, current_person
from ..security import admin_required
from . import services
from .domains import split_domains
from .forms import OrganisationForm

bp = Blueprint("organisation", __name__)


@bp.route("/admin/organisation", methods=["GET", "POST"])
@admin_required
def settings():
    """Who may sign up (open, listed email domains, by invitation) and who may host."""
    form = (
        OrganisationForm.filled(services.organisation_settings())
        if request.method == "GET"
        else OrganisationForm()
    )
    if form.validate_on_submit() and attempt(
        lambda: services.save_settings(
            current_person(),
            policy=form.policy,
            domains=split_domains(form.sign_up_domains.data or ""),
            only_verified_hosts=form.only_verified_hosts.data,
        ),
        success=lambda changed: "Organisation settings saved." if changed else "Nothing changed.",
    ):
        return redirect(url_for("organisation.settings"))
    return render_template("organisation/settings.html", form=form)
