"""Forms for after a session: attendance, disputes, observations, ratings and practice."""

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, NumberRange

from ..forms import in_usable_years

RATINGS = [
    SelectChoice(5, "5: excellent"),
    SelectChoice(4, "4: good"),
    SelectChoice(3, "3: adequate"),
    SelectChoice(2, "2: weak"),
    SelectChoice(1, "1: poor"),
]


class AttendanceForm(FlaskForm):
    minutes = IntegerField(
        "Minutes watched",
        validators=[
            InputRequired("Enter the minutes watched (0 if they did not come)."),
            NumberRange(0, 1440, "Enter the minutes watched, from 0."),
        ],
        invalid_value_message="Enter the minutes watched, from 0.",
    )


class DisputeForm(FlaskForm):
    reason = TextAreaField(
        "What happened",
        validators=[
            InputRequired("Say what happened."),
            Length(10, 1000, "Say in 10 to 1000 characters what happened."),
        ],
    )


class ResolveForm(FlaskForm):
    minutes = IntegerField(
        "Minutes to count",
        validators=[
            InputRequired("Enter the minutes to count."),
            NumberRange(0, 1440, "Enter minutes from 0."),
        ],
        invalid_value_message="Enter minutes from 0.",
    )


class ObservationForm(FlaskForm):
    notes = TextAreaField(
        "What you observed",
        validators=[Length(max=4000, message="Keep it to 4000 characters.")],
        description="What the master did, how, and what you will try yourself.",
    )
    micro_skills = SelectMultipleField("Micro skills you saw used", coerce=int)


class RatingForm(FlaskForm):
    rating = SelectField(
        "Rating", coerce=int, choices=RATINGS, validators=[InputRequired("Choose a rating.")]
    )
    note = TextAreaField(
        "Note", validators=[Length(max=4000, message="Keep it to 4000 characters.")]
    )


class PracticeForm(FlaskForm):
    micro_skill_id = SelectField("Micro skill", coerce=int)
    master_id = SelectField(
        "Master to rate it",
        coerce=int,
        description="A master who hosts this micro skill above your stage.",
    )
    practised_on = DateField(
        "When", validators=[InputRequired("Choose the day you practised."), in_usable_years]
    )
    description = TextAreaField(
        "What you did",
        validators=[
            InputRequired("Describe what you did."),
            Length(10, 4000, "Describe what you did in 10 to 4000 characters."),
        ],
    )
