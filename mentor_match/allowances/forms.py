"""Forms for managers and learning time: choosing a manager, an allowance's two figures, and
deciding a request."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import Length, StopValidation

from ..models.allowances import MOST_HOURS_IN_A_MONTH
from .requests import MAX_REASON
from .standing import HOURS_PROBLEM


def _hours_or_empty(form, field) -> None:
    """Empty is None; anything else must be whole hours a month can hold."""
    if not (field.raw_data and field.raw_data[0].strip()):
        field.errors[:] = []
        field.data = None
        raise StopValidation()
    if field.data is None or not 0 <= field.data <= MOST_HOURS_IN_A_MONTH:
        # One message for "not a number" and "out of range": both are fixed the same way.
        field.errors[:] = []
        raise StopValidation(HOURS_PROBLEM)


def _hours_field(label: str, description: str) -> IntegerField:
    return IntegerField(
        label,
        validators=[_hours_or_empty],
        description=description,
        render_kw={"inputmode": "numeric", "min": 0, "max": MOST_HOURS_IN_A_MONTH},
    )


class AllowanceForm(FlaskForm):
    """A month's hours of learning time: observing and hosting, each empty for none."""

    observing_hours = _hours_field(
        "Observing hours a month", "Hours watching masters, as an apprentice."
    )
    hosting_hours = _hours_field("Hosting hours a month", "Hours being watched, as a master.")


class ManagerForm(FlaskForm):
    """Who manages a person, by email or name; empty for no manager."""

    manager = StringField(
        "Manager",
        validators=[Length(max=254, message="Enter an email of at most 254 characters.")],
        description=(
            "An email or full name. A manager grants learning time and decides requests for "
            "more; leave it empty for no manager, and the admins decide."
        ),
    )


class DecisionForm(FlaskForm):
    """Approving or declining a request: a reason, required to decline."""

    reason = TextAreaField(
        "Reason",
        validators=[
            Length(max=MAX_REASON, message=f"Keep the reason to {MAX_REASON} characters or fewer.")
        ],
    )
