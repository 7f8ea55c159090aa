"""Forms for weekly windows, one-off changes and the month plan."""

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, Length, Optional, StopValidation

from ..forms import in_usable_years
from ..models import ChangeKind, Person
from .services import APPRENTICE_FIELDS, MASTER_FIELDS, PLAN_LIMITS, plan_fields_for
from .windows import WEEKDAYS

# Browsers send "HH:MM", or "HH:MM:SS" when a step below a minute is allowed.
_TIME_FORMATS = ["%H:%M", "%H:%M:%S"]
_BAD_TIME = "Enter a time as HH:MM, for example 09:30."

MODE_FLAGS = {"both": (True, True), "in_person": (True, False), "video": (False, True)}


def _mode_choices() -> list[SelectChoice]:
    return [
        SelectChoice("both", "In the office or on video"),
        SelectChoice("in_person", "In the office only"),
        SelectChoice("video", "Video only"),
    ]


def _mode_help(person: Person) -> str:
    if person.is_remote:
        return "You work remotely, so only video is possible."
    return f"In the office means at {person.site.name}." if person.site else ""


class WeeklyWindowForm(FlaskForm):
    weekday = SelectField(
        "Day of the week",
        coerce=int,
        choices=[SelectChoice(number, name) for number, name in enumerate(WEEKDAYS)],
        validators=[InputRequired(message="Choose a day of the week.")],
    )
    start = TimeField(
        "From",
        format=_TIME_FORMATS,
        invalid_value_message=_BAD_TIME,
        validators=[InputRequired(message="Enter the time the window starts.")],
    )
    end = TimeField(
        "Until",
        format=_TIME_FORMATS,
        invalid_value_message=_BAD_TIME,
        validators=[InputRequired(message="Enter the time the window ends.")],
    )
    mode = SelectField("How people can join", choices=_mode_choices(), default="both")

    def __init__(self, person: Person, **kwargs):
        super().__init__(**kwargs)
        self.mode.description = _mode_help(person)
        if person.is_remote and not self.is_submitted():
            self.mode.data = "video"

    def window(self) -> dict:
        """The window as keyword arguments for windows.add_weekly_window."""
        in_person, virtual = MODE_FLAGS[self.mode.data]
        return {
            "weekday": self.weekday.data,
            "start": self.start.data.replace(second=0),
            "end": self.end.data.replace(second=0),
            "in_person": in_person,
            "virtual": virtual,
        }


class ChangeForm(FlaskForm):
    day = DateField(
        "Day",
        invalid_value_message="Enter a date, for example 2026-11-24.",
        validators=[InputRequired(message="Enter the day this change is for."), in_usable_years],
    )
    kind = SelectField(
        "Change",
        choices=[
            SelectChoice(ChangeKind.UNAVAILABLE.value, "Time off: I am not available"),
            SelectChoice(ChangeKind.EXTRA.value, "Extra window: I am available"),
        ],
        default=ChangeKind.UNAVAILABLE.value,
    )
    start = TimeField(
        "From",
        format=_TIME_FORMATS,
        invalid_value_message=_BAD_TIME,
        validators=[Optional()],
        description="Leave both times empty for a whole day off.",
    )
    end = TimeField(
        "Until",
        format=_TIME_FORMATS,
        invalid_value_message=_BAD_TIME,
        validators=[Optional()],
    )
    mode = SelectField(
        "How people can join (extra windows only)", choices=_mode_choices(), default="both"
    )
    note = StringField(
        "Note (optional)",
        validators=[Length(max=200)],
        description="For you, for example “annual leave” or “covering for Sam”.",
    )

    def __init__(self, person: Person, **kwargs):
        super().__init__(**kwargs)
        self.mode.description = _mode_help(person)
        if person.is_remote and not self.is_submitted():
            self.mode.data = "video"

    def change(self) -> dict:
        """The change as keyword arguments for windows.add_change."""
        in_person, virtual = MODE_FLAGS[self.mode.data]
        return {
            "day": self.day.data,
            "kind": self.kind.data,
            "start": self.start.data and self.start.data.replace(second=0),
            "end": self.end.data and self.end.data.replace(second=0),
            "in_person": in_person,
            "virtual": virtual,
            "note": self.note.data or "",
        }


def _whole_number_in(low: int, high: int, message: str):
    def check(form, field):
        if field.data is None or not low <= field.data <= high:
            # One message for "not a number" and "out of range": both are fixed the same way.
            field.errors[:] = []
            raise StopValidation(message)

    return check


def _plan_number(label: str, name: str, description: str) -> IntegerField:
    low, high = PLAN_LIMITS[name]
    message = f"Enter a whole number from {low} to {high}."
    return IntegerField(
        label,
        validators=[InputRequired(message=message), _whole_number_in(low, high, message)],
        description=f"{description} ({low} to {high}).",
        render_kw={"min": low, "max": high, "inputmode": "numeric"},
    )


class MonthPlanForm(FlaskForm):
    # As a master:
    max_hosting_hours = _plan_number(
        "Hosting hours at most", "max_hosting_hours", "Hours you can be observed this month"
    )
    max_apprentices = _plan_number(
        "Apprentices at most", "max_apprentices", "Different apprentices you will host"
    )
    in_person_seats = _plan_number(
        "Seats in the room", "in_person_seats", "Observers who can sit with you at once"
    )
    virtual_seats = _plan_number(
        "Seats on video", "virtual_seats", "Observers who can join on video at once"
    )
    # As an apprentice:
    observation_hours = _plan_number(
        "Observation hours wanted",
        "observation_hours",
        "The time your organisation lets you invest in observing this month",
    )
    max_masters = _plan_number(
        "Masters at most", "max_masters", "Different masters you want to observe"
    )

    # Shown when an allowance bounds the plan: sent with the request for hours above it.
    reason = TextAreaField(
        "Why you need more hours (only if you plan above your allowance)",
        validators=[Length(max=1000, message="Keep the reason to 1000 characters or fewer.")],
        description="Your manager (or the admins) reads it when deciding.",
    )

    # Set by the page that warned of sessions beyond these numbers: the numbers confirmed.
    accept_cut = HiddenField()

    def __init__(self, person: Person, **kwargs):
        super().__init__(**kwargs)
        shown = plan_fields_for(person)
        for name in (*MASTER_FIELDS, *APPRENTICE_FIELDS):
            if name not in shown:
                delattr(self, name)  # a person only sees the numbers for their roles
        if person.is_remote and "in_person_seats" in shown:
            self.in_person_seats.description = "You work remotely, so this stays 0."

    def master_fields(self) -> list:
        return [self[name] for name in MASTER_FIELDS if name in self]

    def apprentice_fields(self) -> list:
        return [self[name] for name in APPRENTICE_FIELDS if name in self]

    def limits(self) -> dict[str, int]:
        """The numbers entered, by MonthPlan column name."""
        return {field.name: field.data for field in self if field.name in PLAN_LIMITS}
