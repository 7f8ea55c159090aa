"""Forms for endorsing an apprentice's next stage and for the stage thresholds."""

import math

from flask_wtf import FlaskForm
from wtforms import FloatField, IntegerField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from ..models import Stage
from .endorsement import MAX_NOTE
from .thresholds import MAX_THRESHOLD_HOURS, Threshold


class EndorseForm(FlaskForm):
    """A master endorses one apprentice's step to the next stage in one micro skill."""

    person_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired("Choose whom to endorse.")]
    )
    micro_skill_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired("Choose the micro skill.")]
    )
    note = TextAreaField(
        "Note for the apprentice",
        validators=[
            Optional(),
            Length(max=MAX_NOTE, message=f"Keep the note to {MAX_NOTE} characters or fewer."),
        ],
        description="Optional: what they do well, what to work on next.",
    )


class NumberField(FloatField):
    """A decimal number; blank is left to InputRequired, and NaN or infinity is refused."""

    def process_formdata(self, valuelist):
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            self.data = float(valuelist[0])
        except ValueError:
            self.data = None
        if self.data is None or not math.isfinite(self.data):
            self.data = None
            raise ValueError("Enter a number, such as 40 or 3.5.")


def _hours_field(label: str) -> NumberField:
    return NumberField(
        label,
        validators=[
            InputRequired("Enter the hours."),
            NumberRange(0, MAX_THRESHOLD_HOURS, f"Enter from 0 to {MAX_THRESHOLD_HOURS} hours."),
        ],
        description="Verified observation hours in the micro skill, in all.",
    )


def _rating_field(label: str) -> NumberField:
    return NumberField(
        label,
        validators=[
            InputRequired("Enter the average rating."),
            NumberRange(1, 5, "Enter an average rating from 1 to 5."),
        ],
        description="The average of the practice ratings masters gave, from 1 to 5.",
    )


class ThresholdsForm(FlaskForm):
    """What it takes to reach journeyman and master in a micro skill."""

    journeyman_hours = _hours_field("Hours to reach journeyman")
    journeyman_rating = _rating_field("Average rating to reach journeyman")
    master_hours = _hours_field("Hours to reach master")
    master_rating = _rating_field("Average rating to reach master")

    @classmethod
    def filled(cls, thresholds: dict[Stage, Threshold]) -> "ThresholdsForm":
        """The form showing the thresholds in force."""
        return cls(
            data={
                "journeyman_hours": thresholds[Stage.JOURNEYMAN].verified_hours,
                "journeyman_rating": thresholds[Stage.JOURNEYMAN].average_rating,
                "master_hours": thresholds[Stage.MASTER].verified_hours,
                "master_rating": thresholds[Stage.MASTER].average_rating,
            }
        )

    def thresholds(self) -> dict[Stage, Threshold]:
        return {
            Stage.JOURNEYMAN: Threshold(self.journeyman_hours.data, self.journeyman_rating.data),
            Stage.MASTER: Threshold(self.master_hours.data, self.master_rating.data),
        }
