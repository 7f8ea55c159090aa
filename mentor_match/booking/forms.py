"""Forms for booking, opening, moving and cancelling sessions, and the notice period."""

from datetime import UTC, datetime

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from ..forms import in_usable_years
from ..inputs import year_in_range
from ..models import SessionMode
from .grid import SessionLength
from .rules import MAX_OPEN_SEATS, MAX_SESSION_HOURS

HOUR_CHOICES = [
    SelectChoice(n, f"{n} hour{'s' if n > 1 else ''}") for n in range(1, MAX_SESSION_HOURS + 1)
]
# A booking's length in quarter hours, 1 to 4 hours: the page offers those on the grid of the
# people booking, and the service refuses the rest with the grid's rule in words.
BOOKING_LENGTH_CHOICES = [
    SelectChoice(n / 4, SessionLength(n / 4).label) for n in range(4, MAX_SESSION_HOURS * 4 + 1)
]
MODE_CHOICES = [SelectChoice(mode.value, mode.label) for mode in SessionMode]


def _utc_instant(form, field) -> None:
    """The posted start as a zoned instant in `field.instant`, in UTC."""
    try:
        moment = datetime.fromisoformat(field.data or "")
    except ValueError:
        raise ValidationError("Choose one of the times offered.") from None
    if moment.tzinfo is None or not year_in_range(moment):
        raise ValidationError("Choose one of the times offered.")
    field.instant = moment.astimezone(UTC)


class BookForm(FlaskForm):
    """One slot of a master's open times: its start (UTC, from the page), length and mode."""

    starts_at = HiddenField(validators=[InputRequired("Choose a time."), _utc_instant])
    hours = SelectField("Length", coerce=float, choices=BOOKING_LENGTH_CHOICES, default=1.0)
    mode = SelectField(
        "Where", choices=MODE_CHOICES, validators=[InputRequired("Choose in the room or on video.")]
    )
    # The micro skill chosen on the page, when the pair shares more than one.
    micro_skill_id = IntegerField(widget=HiddenInput(), validators=[Optional()])


class OpenSessionForm(FlaskForm):
    """A session a master opens for observers, at a local day and time."""

    day = DateField("Day", validators=[InputRequired("Choose the day."), in_usable_years])
    start = SelectField(
        "Starts at",
        coerce=int,
        choices=[
            SelectChoice(h * 4 + q, f"{h:02d}:{q * 15:02d}") for h in range(24) for q in range(4)
        ],
        default=9 * 4,
        description="In your own time zone.",
    )
    hours = SelectField("Length", coerce=int, choices=HOUR_CHOICES, default=2)
    mode = SelectField("Where", choices=MODE_CHOICES)
    seats = IntegerField(
        "Seats",
        default=3,
        validators=[
            InputRequired("Enter how many observers can join."),
            NumberRange(1, MAX_OPEN_SEATS, f"Offer from 1 to {MAX_OPEN_SEATS} seats."),
        ],
    )
    micro_skill_id = SelectField("What you will be doing", coerce=int, validate_choice=True)
    note = TextAreaField(
        "Note for observers",
        validators=[Length(max=1000, message="Keep the note to 1000 characters or fewer.")],
        description="For example: a client negotiation call; join muted.",
    )


class MoveSessionForm(FlaskForm):
    """A master moves a whole session to another local day and time."""

    day = DateField("New day", validators=[InputRequired("Choose the day."), in_usable_years])
    start = OpenSessionForm.start
    # Quarter hours, so a session a round or a booking made 90 minutes long keeps its length.
    hours = SelectField("Length", coerce=float, choices=BOOKING_LENGTH_CHOICES)


class NoticeForm(FlaskForm):
    """The organisation's notice period for cancelling or moving a session."""

    notice_hours = IntegerField(
        "Notice to cancel or move (hours)",
        validators=[
            InputRequired("Enter the notice period in hours."),
            NumberRange(0, 336, "Choose from 0 to 336 hours (two weeks)."),
        ],
        description="People cannot cancel or move a session that starts sooner than this.",
    )
