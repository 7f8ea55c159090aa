"""Forms for the admin pages: finding people, the skill taxonomy, and sites."""

from flask_wtf import FlaskForm
from wtforms import SearchField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import TimezoneField


class PeopleSearchForm(FlaskForm):
    """Filter the people list by name or email, from the query string."""

    class Meta:
        csrf = False

    q = SearchField(
        "Name or email", validators=[Length(max=254, message="Search for at most 254 characters.")]
    )


class TaxonomyForm(FlaskForm):
    """An area of mastery or a micro skill: a name and what it covers."""

    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter a name."),
            Length(max=120, message="Keep the name to 120 characters or fewer."),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[Length(max=2000, message="Keep the description to 2000 characters or fewer.")],
    )


class SiteForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[
            DataRequired("Enter a name."),
            Length(max=120, message="Keep the name to 120 characters or fewer."),
        ],
    )
    timezone = TimezoneField(description="The local time the site keeps.")
