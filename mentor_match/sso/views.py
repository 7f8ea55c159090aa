"""Signing in through the organisation's OpenID Connect provider, and the admin's settings.

Every way a sign-in can fail (the person cancelled at the provider, a replayed or forged
callback, a token that fails its checks, the provider unreachable) ends on the log-in page
with a message saying what to do, and a log line saying why; never an error page.
"""

from __future__ import annotations

import logging

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client import MismatchingStateError, OAuthError
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user
from joserfc.errors import JoseError

from ..accounts.views import start_session
from ..errors import Refusal
from ..limits import configured, limiter, remember_device
from ..links import absolute_url
from ..pages import attempt, current_person, show_refusal
from ..security import admin_required, is_local_url
from . import provider, services
from .forms import SingleSignOnForm
from .settings import active_client, save_settings, sso_settings

log = logging.getLogger(__name__)

bp = Blueprint("sso", __name__)

# Error codes of RFC 6749 (sections 4.1.2.1 and 5.2) and OpenID Connect Core (3.1.2.6).
_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "invalid_client",
        "invalid_grant",
        "unsupported_grant_type",
        "interaction_required",
        "login_required",
        "account_selection_required",
        "consent_required",
    }
)
_NEXT = "sso_next"  # where to go after signing in, kept in the session across the provider


def _back_to_log_in(message: str):
    flash(message, "error")
    return redirect(url_for("accounts.login"))


def _client_or_refusal():
    """The Authlib client for the configured provider, or a Refusal saying why there is none."""
    client = active_client()
    if client is None:
        raise Refusal("Single sign-on is not set up here. Log in with your email and password.")
    try:
        discovery = provider.discover(client.issuer)
    except provider.ProviderError as failure:
        log.warning("sso refused: %s", failure)
        raise Refusal(
            f"{client.display_name} cannot be reached at the moment, so you cannot sign in "
            "with it. Try again in a few minutes; if it lasts, tell an admin."
        ) from None
    oauth = provider.oauth_client(
        discovery, client_id=client.client_id, client_secret=client.client_secret
    )
    return client, discovery, oauth


@bp.route("/login/sso")
@limiter.limit(configured("LOGIN_LIMIT_PER_CLIENT"))
def start():
    """Send the person to the provider, with a fresh state, nonce and PKCE challenge."""
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    try:
        _client, _discovery, oauth = _client_or_refusal()
    except Refusal as refusal:
        return _back_to_log_in(str(refusal))
    target = request.args.get("next")
    if is_local_url(target):
        session[_NEXT] = target
    try:
        return oauth.authorize_redirect(absolute_url("sso.callback"))
    except (AuthlibBaseError, requests.RequestException) as failure:
        log.warning("sso refused: could not start: %r", failure)
        return _back_to_log_in("Signing in could not start. Try again; if it lasts, tell an admin.")


@bp.route("/login/sso/callback")
@limiter.limit(configured("LOGIN_LIMIT_PER_CLIENT"))
def callback():
    """Where the provider sends the person back: check everything, then sign them in."""
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    try:
        client, discovery, oauth = _client_or_refusal()
    except Refusal as refusal:
        return _back_to_log_in(str(refusal))
    name = client.display_name
    start_again = "Start again from the log-in page."
    try:
        token = oauth.authorize_access_token()
    except MismatchingStateError:
        log.warning("sso refused: the callback's state is unknown here (replayed or stale)")
        return _back_to_log_in(
            f"That sign-in answer from {name} was already used or has expired. {start_again}"
        )
    except OAuthError as failure:
        log.warning(
            "sso refused: the provider said %r: %r",
            str(failure.error)[:100],
            str(failure.description)[:300],
        )
        if failure.error == "access_denied":
            return _back_to_log_in(f"Signing in with {name} was cancelled. {start_again}")
        # Only a code the standards name is shown: the callback's words are anyone's to write.
        code = failure.error if failure.error in _ERROR_CODES else "an unknown error"
        return _back_to_log_in(f"{name} refused to sign you in ({code}). {start_again}")
    except (JoseError, AuthlibBaseError) as failure:
        log.warning("sso refused: the ID token failed its checks: %r", failure)
        return _back_to_log_in(
            f"The answer from {name} could not be verified, so you are not signed in. "
            f"{start_again} If it happens again, tell an admin."
        )
    except (requests.RequestException, ValueError) as failure:
        log.warning("sso refused: the token request failed: %r", failure)
        return _back_to_log_in(
            f"{name} did not answer as expected, so you are not signed in. {start_again}"
        )
    claims = token.get("userinfo")
    if not claims:
        log.warning("sso refused: the token response carried no ID token")
        return _back_to_log_in(f"{name} sent no ID token, so you are not signed in. Tell an admin.")
    try:
        signed_in = services.sign_in(claims, issuer=discovery.issuer, display_name=name)
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("accounts.login"))
    target = session.get(_NEXT)
    start_session(signed_in.person)
    if signed_in.created:
        flash(
            "Welcome to Mentor Match! Check your profile: you start as an apprentice; add "
            "the master role if others can learn by watching you.",
            "success",
        )
        response = redirect(url_for("profiles.edit"))
    else:
        if signed_in.linked:
            flash(f"Your account is now linked to {name}: sign in with it from now on.", "info")
        response = redirect(target if is_local_url(target) else url_for("home.dashboard"))
    remember_device(response, signed_in.person.email)
    return response


@bp.route("/admin/sso", methods=["GET", "POST"])
@admin_required
def settings():
    """The organisation's OpenID Connect provider, and whether it is the only way in."""
    saved = sso_settings()
    form = SingleSignOnForm.filled(saved) if request.method == "GET" else SingleSignOnForm()
    if form.validate_on_submit() and attempt(
        lambda: save_settings(
            current_person(),
            enabled=form.enabled.data,
            issuer=form.issuer.data or "",
            client_id=form.client_id.data or "",
            client_secret=form.client_secret.data or "",
            display_name=form.display_name.data or "",
            only_way_in=form.sso_only.data,
        ),
        success=lambda changed: "Single sign-on saved." if changed else "Nothing changed.",
        form=form,
    ):
        return redirect(url_for("sso.settings"))
    total, linked = services.linked_people(saved.issuer) if saved.issuer else (0, [])
    return render_template(
        "sso/settings.html",
        form=form,
        has_secret=bool(saved.client_secret_sealed),
        redirect_uri=absolute_url("sso.callback"),
        linked_total=total,
        linked=linked,
        display_name=saved.display_name,
    )
