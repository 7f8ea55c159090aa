"""Admin pages for webhooks: endpoints (add, deactivate) and the delivery log with replay."""

from flask import Blueprint, redirect, render_template, url_for

from ..extensions import db
from ..inputs import page_arg
from ..models import EndpointKind, WebhookDelivery, WebhookEndpoint
from ..pages import attempt
from ..security import admin_required
from . import delivery, endpoints
from .forms import EVENT_LABELS, EndpointForm

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


@bp.route("/", methods=["GET", "POST"])
@admin_required
def index():
    """The endpoints, and a form to add one; a signed one's secret is shown once, here."""
    form = EndpointForm()
    if form.validate_on_submit():
        added = attempt(
            lambda: endpoints.add_endpoint(
                form.name.data,
                EndpointKind(form.kind.data),
                form.url.data,
                list(form.event_kinds.data),
            ),
            success=None,  # the page it shows says so, with the secret to copy
            form=form,
        )
        if added:
            return render_template("webhooks/added.html", added=added.result, labels=EVENT_LABELS)
    return render_template(
        "webhooks/index.html",
        form=form,
        endpoints=endpoints.endpoints(),
        labels=EVENT_LABELS,
    )


@bp.post("/<int:endpoint_id>/deactivate")
@admin_required
def deactivate(endpoint_id: int):
    """Stop posting to an endpoint."""
    endpoint = db.get_or_404(WebhookEndpoint, endpoint_id)
    attempt(
        lambda: endpoints.deactivate(endpoint),
        success=f"{endpoint.name} is deactivated: nothing more is posted to it.",
    )
    return redirect(url_for("webhooks.index"))


@bp.route("/deliveries")
@admin_required
def deliveries():
    """Every delivery, newest first."""
    return render_template("webhooks/deliveries.html", page=endpoints.deliveries_page(page_arg()))


@bp.post("/deliveries/<int:delivery_id>/replay")
@admin_required
def replay(delivery_id: int):
    """Post a delivery's event again, as a new delivery."""
    original = db.get_or_404(WebhookDelivery, delivery_id)
    attempt(
        lambda: delivery.replay(original),
        success=f"Event {original.event_id} is posted to {original.endpoint.name} again.",
    )
    return redirect(url_for("webhooks.deliveries"))
