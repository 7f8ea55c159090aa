"""The form that adds a webhook endpoint."""

from urllib.parse import urlsplit

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from ..integrations.events import KINDS
from ..models import EndpointKind
from .endpoints import URL_PROBLEM

EVENT_LABELS = {
    "round.published": "A matching round is published",
    "session.booked": "A seat is booked",
    "session.cancelled": "A seat or session is cancelled",
    "session.moved": "A seat moves to another time",
    "session.confirmed": "A master confirms attendance",
    "session.reminded": "A session's reminder goes out",
}


class EndpointForm(FlaskForm):
    """Where to post, in which format, and which events."""

    name = StringField(
        "Name",
        description="For you: the channel or system it posts to, such as #shadowing.",
        validators=[
            DataRequired("Enter a name."),
            Length(max=100, message="Keep the name to 100 characters or fewer."),
        ],
    )
    kind = SelectField(
        "Format",
        choices=[SelectChoice(kind.value, kind.label) for kind in EndpointKind],
        default=EndpointKind.SLACK.value,
        description="Slack and Teams get a message in words; signed JSON gets the event itself.",
    )
    url = StringField(
        "Webhook address",
        description="The incoming-webhook URL from Slack or Teams, or your system's https URL. "
        "It is stored encrypted and never shown again.",
        validators=[
            DataRequired("Enter the webhook address."),
            Length(max=2000, message="Keep the address to 2000 characters or fewer."),
        ],
    )

    def validate_url(self, field) -> None:
        parts = urlsplit(field.data.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(URL_PROBLEM)

    event_kinds = SelectMultipleField(
        "Events to send",
        choices=[SelectChoice(kind, EVENT_LABELS[kind]) for kind in KINDS],
        default=["round.published", "session.booked", "session.cancelled", "session.reminded"],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validators=[DataRequired("Choose at least one kind of event.")],
    )
