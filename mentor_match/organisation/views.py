"""The admin's Organisation page: who may sign up, and whether only verified masters host."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from ..pages import attempt, current_person
from ..security import admin_required
from . import services
from .domains import split_domains
from .forms import OrganisationAllowanceForm, OrganisationForm

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
    return _render(form, _allowance_form())


def _allowance_form() -> OrganisationAllowanceForm:
    settings = services.organisation_settings()
    return OrganisationAllowanceForm(
        formdata=None,
        data={
            "observing_hours": settings.observing_allowance_hours,
            "hosting_hours": settings.hosting_allowance_hours,
        },
    )


def _render(form: OrganisationForm, allowance_form: OrganisationAllowanceForm):
    return render_template("organisation/settings.html", form=form, allowance_form=allowance_form)


@bp.route("/admin/organisation/allowance", methods=["POST"])
@admin_required
def allowance():
    """The organisation's monthly learning time, observing and hosting; empty for none."""
    allowance_form = OrganisationAllowanceForm()
    if allowance_form.validate_on_submit() and attempt(
        lambda: services.save_allowances(
            current_person(),
            observing_hours=allowance_form.observing_hours.data,
            hosting_hours=allowance_form.hosting_hours.data,
        ),
        success=lambda changed: "Learning time allowance saved." if changed else "Nothing changed.",
        form=allowance_form,
    ):
        return redirect(url_for("organisation.settings"))
    return _render(OrganisationForm.filled(services.organisation_settings()), allowance_form)
