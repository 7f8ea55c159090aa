"""Sign-up, log-in, log-out and password pages."""

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..errors import Refusal
from ..forms import site_from_choice
from ..limits import (
    client_address,
    configured,
    form_email,
    is_known_device,
    limiter,
    remember_device,
)
from ..models import SignUpPolicy
from ..organisation.domains import describe_domains
from ..organisation.services import organisation_settings
from ..pages import current_person, show_refusal
from ..rounds import jobs
from ..security import is_local_url
from ..sso.settings import password_log_in_refused, sso_only, sso_settings
from . import registration, services
from .forms import (
    ChangePasswordForm,
    ConfirmAddressForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SignupForm,
)
from .passwords import verify_password

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only follow a `next` link that stays on this site."""
    return target if is_local_url(target) else url_for("home.dashboard")


def start_session(person) -> None:
    """Sign the person in on a fresh session (also used by single sign-on)."""
    session.clear()
    login_user(person)
    session.permanent = True
    session["signed_in_at"] = datetime.now(UTC).timestamp()


def _sso_button() -> str | None:
    """The organisation's name for "Sign in with …", or None while single sign-on is off."""
    settings = sso_settings()
    return settings.display_name if settings.enabled else None


def _mail_went_out(response) -> bool:
    """A sign-up or reset form that was accepted (and so mails): a form sent back with its
    errors mails nothing, and a person correcting a typo must not use up their tries."""
    return response.status_code == 302


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit(configured("SIGNUP_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_mail_went_out)
@limiter.limit(
    configured("SIGNUP_LIMIT_PER_ACCOUNT"),
    key_func=form_email,
    methods=["POST"],
    deduct_when=_mail_went_out,
)
def signup():
    """Create an account as a master, an apprentice, or both, as the sign-up policy allows."""
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    settings = organisation_settings()
    sso = _sso_button()
    if settings.sign_up_policy is SignUpPolicy.INVITATION or sso_only():
        # No form to fill in; a form sent anyway is refused before it is read.
        status = 403 if request.method == "POST" else 200
        return render_template(
            "accounts/signup.html", form=None, sso=sso, sso_only=sso_only()
        ), status
    form = SignupForm()
    if settings.sign_up_policy is SignUpPolicy.DOMAINS:
        form.email.description = f"Your address at {describe_domains(settings.domains)}."
    if form.validate_on_submit():
        try:
            registration.sign_up(
                name=form.name.data,
                email=form.email.data,
                password=form.password.data,
                is_master=form.is_master.data,
                is_apprentice=form.is_apprentice.data,
                site=site_from_choice(form.site.data),
                timezone_name=form.timezone.data,
            )
        except Refusal as refusal:  # decided on the address alone
            show_refusal(refusal, form=form)
        else:
            # The same answer whether or not the address has an account: the mail tells which.
            jobs.dispatch_sign_up_mail(form.email.data)
            flash(
                f"Nearly there: we have mailed {services.normalise_email(form.email.data)} "
                "a link to confirm the address. Follow it to finish signing up.",
                "success",
            )
            return redirect(url_for("accounts.login"))
    return render_template("accounts/signup.html", form=form, sso=sso, sso_only=False)


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
def confirm_address(token: str):
    """Finish signing up from the mailed link, with the password chosen at sign-up."""
    if sso_only():
        flash(f"Sign in with {sso_settings().display_name}: it opens your account.", "info")
        return redirect(url_for("accounts.login"))
    try:
        person = registration.person_to_confirm(token)
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("accounts.login"))
    form = ConfirmAddressForm()
    if form.validate_on_submit():
        try:
            registration.confirm_address(person, form.password.data)
        except Refusal as refusal:
            show_refusal(refusal, form=form)
        else:
            start_session(person)
            flash("Welcome to Mentor Match! Next, add your micro skills.", "success")
            response = redirect(url_for("profiles.skills"))
            remember_device(response, person.email)
            return response
    return render_template("accounts/confirm_address.html", form=form, email=person.email)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured("LOGIN_LIMIT_PER_CLIENT"), methods=["POST"])
@limiter.limit(
    configured("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=form_email,
    methods=["POST"],
    exempt_when=is_known_device,
    deduct_when=lambda response: response.status_code != 302,
)
def login():
    """Log in with email and password."""
    if current_user.is_authenticated:
        return redirect(url_for("home.dashboard"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            person = services.authenticate(
                form.email.data, form.password.data, client=client_address()
            )
        except Refusal as refusal:
            show_refusal(refusal)
        else:
            refused = password_log_in_refused(person)
            if refused is None:
                start_session(person)
                response = redirect(_safe_next(request.args.get("next")))
                remember_device(response, person.email)
                return response
            flash(refused, "error")
    by_invitation = organisation_settings().sign_up_policy is SignUpPolicy.INVITATION
    return render_template(
        "accounts/login.html",
        form=form,
        by_invitation=by_invitation,
        sso=_sso_button(),
        sso_only=sso_only(),
        next_target=request.args.get("next") if is_local_url(request.args.get("next")) else None,
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """Log out, and void the session cookie so it cannot be replayed."""
    services.end_all_sessions(current_person())
    logout_user()
    session.clear()
    flash("You have logged out.", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change your password; every other session of yours ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        person = current_person()
        if not verify_password(person.password_hash, form.current.data):
            form.current.errors.append("That is not your current password.")
        else:
            services.change_password(person, form.password.data)
            start_session(person)
            flash("Your password has changed. Other devices have been logged out.", "success")
            return redirect(url_for("home.dashboard"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(configured("RESET_LIMIT_PER_CLIENT"), methods=["POST"], deduct_when=_mail_went_out)
@limiter.limit(
    configured("RESET_LIMIT_PER_ACCOUNT"),
    key_func=form_email,
    methods=["POST"],
    deduct_when=_mail_went_out,
)
def forgot_password():
    """Ask for a password-reset link by mail."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        # In the background, so the answer takes as long whether or not the address is known.
        jobs.dispatch_password_reset(form.email.data)
        flash(
            "If that address has an account, a reset link is on its way. It works for one hour.",
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Choose a new password from a mailed link."""
    try:
        person = services.person_for_reset_token(token)
    except Refusal as refusal:
        show_refusal(refusal)
        return redirect(url_for("accounts.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        services.change_password(person, form.password.data)
        flash("Your password has been reset. Log in with the new one.", "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)
