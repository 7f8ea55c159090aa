"""Forms for signing up, logging in and managing a password."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from ..errors import Refusal
from ..forms import TimezoneField, site_choices
from .passwords import MAX_LENGTH, MIN_LENGTH, password_problem
from .services import check_sign_up_policy


def _strong_password(form, field):
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


CHOOSE_SITE = "Choose where you work: a site, or Remote if you have none and meet by video."


def _optional_site_id(value) -> int | None:
    """A site choice's id; the empty "choose" option is None."""
    return None if value in ("", None) else int(value)


def _site_chosen(form, field):
    if field.data is None and not field.errors:  # a value not in the list is said once
        raise ValidationError(CHOOSE_SITE)


_site_chosen.field_flags = {"required": True}


def sign_up_site_choices() -> list[SelectChoice]:
    """Sites and Remote after an empty first choice: nobody is remote by not looking."""
    return [SelectChoice("", "Choose…"), *site_choices()]


_PASSWORD_HELP = f"{MIN_LENGTH} to {MAX_LENGTH} characters; a passphrase of several words is good."


class SignupForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(
        "Password", validators=[DataRequired(), _strong_password], description=_PASSWORD_HELP
    )
    confirm = PasswordField(
        "Repeat password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )
    is_master = BooleanField("I am a master: others can learn by watching me work")
    is_apprentice = BooleanField("I am an apprentice: I want to learn by watching masters")
    site = SelectField(
        "Where you work",
        coerce=_optional_site_id,
        choices=sign_up_site_choices,
        validators=[_site_chosen],
        invalid_value_message=CHOOSE_SITE,
        invalid_choice_message=CHOOSE_SITE,
    )
    timezone = TimezoneField()

    def validate_email(self, field):
        # Said beside the other fields' errors; registration.sign_up checks it again.
        try:
            check_sign_up_policy(field.data or "")
        except Refusal as refusal:
            raise ValidationError(str(refusal)) from None

    def validate_is_apprentice(self, field):
        if not (field.data or self.is_master.data):
            raise ValidationError("Choose master, apprentice, or both.")


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])
    password = PasswordField("Password", validators=[DataRequired()])


class ConfirmAddressForm(FlaskForm):
    password = PasswordField("The password you chose", validators=[DataRequired()])


class ChangePasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField(
        "New password", validators=[DataRequired(), _strong_password], description=_PASSWORD_HELP
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email()])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password", validators=[DataRequired(), _strong_password], description=_PASSWORD_HELP
    )
    confirm = PasswordField(
        "Repeat new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )
