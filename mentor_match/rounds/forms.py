"""Forms for rounds: creating one, running it, excluding a pair, uploading a solution."""

from datetime import UTC, datetime, timedelta

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, NumberRange, Regexp

from ..forms import in_usable_years
from .runs import MAX_TIME_LIMIT, MIN_TIME_LIMIT


def _next_month() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year + 1}-01" if today.month == 12 else f"{today.year}-{today.month + 1:02d}"


def _default_confirm_by():
    """Four days from now, but never later than the day before next month starts."""
    today = datetime.now(UTC).date()
    first_of_next = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    return min(today + timedelta(days=4), first_of_next - timedelta(days=1))


class NewRoundForm(FlaskForm):
    month = StringField(
        "Month",
        default=_next_month,
        validators=[
            DataRequired("Enter the month, such as 2027-01."),
            Regexp(
                r"^\d{4}-(0[1-9]|1[0-2])$", message="Enter the month as YYYY-MM, such as 2027-01."
            ),
        ],
        description="The month whose pairings and sessions this round makes (YYYY-MM).",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    confirm_by = DateField(
        "Confirm by",
        default=_default_confirm_by,
        validators=[InputRequired("Choose the last day people can confirm."), in_usable_years],
        description="People who have not confirmed by the end of this day (UTC) are left out.",
    )


class RunForm(FlaskForm):
    time_limit = IntegerField(
        "Time limit (seconds)",
        default=60,
        validators=[
            InputRequired("Enter a time limit in seconds."),
            NumberRange(
                MIN_TIME_LIMIT,
                MAX_TIME_LIMIT,
                f"Choose from {MIN_TIME_LIMIT} to {MAX_TIME_LIMIT} seconds.",
            ),
        ],
        description="The optimizer stops by then with the best schedule found and a proven bound.",
    )
    kind = HiddenField(default="full")


class ExcludeForm(FlaskForm):
    apprentice_id = SelectField(
        "Apprentice", coerce=int, validators=[InputRequired("Choose an apprentice.")]
    )
    master_id = SelectField("Master", coerce=int, validators=[InputRequired("Choose a master.")])


class RemovePairingForm(FlaskForm):
    apprentice = HiddenField(validators=[DataRequired()])
    master = HiddenField(validators=[DataRequired()])


class UploadSolutionForm(FlaskForm):
    solution = FileField(
        "Solution file (JSON)",
        validators=[FileRequired("Choose a solution file to upload.")],
        description=(
            "A mentor-match/solution@1 document for this run's problem; it is checked against "
            "every rule."
        ),
    )
