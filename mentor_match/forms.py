"""Form pieces shared by several features."""

from sqlalchemy import select
from wtforms import SelectChoice, SelectField
from wtforms.validators import ValidationError

from .extensions import db
from .inputs import year_in_range, year_range_message
from .models import Site
from .zones import canonical_zone, is_valid_timezone, timezone_choices

REMOTE = 0  # value of the "remote, no site" choice


def _current_zone_name(value) -> str:
    return canonical_zone(str(value))


class TimezoneField(SelectField):
    """A select of IANA time zones, validated against the zone database.

    A legacy name (Asia/Calcutta), sent or stored, is taken as its current one (Asia/Kolkata):
    the picker shows it selected and saving stores the current name.
    """

    def __init__(self, label="Time zone", **kwargs):
        kwargs.setdefault("default", "UTC")
        kwargs.setdefault("description", "Times are shown to you in this zone.")
        super().__init__(label, choices=timezone_choices(), coerce=_current_zone_name, **kwargs)

    def pre_validate(self, form):
        if not self.data or not is_valid_timezone(self.data):
            raise ValidationError("Choose a time zone from the list.")


def in_usable_years(form, field) -> None:
    """A date field's day must fall in the years people may use (see inputs.FIRST_YEAR)."""
    if field.data is not None and not year_in_range(field.data):
        raise ValidationError(year_range_message(f"“{field.label.text}”"))


def site_choices() -> list[SelectChoice]:
    """Sites to pick from, with "remote" first."""
    sites = db.session.scalars(select(Site).order_by(Site.name))
    return [SelectChoice(REMOTE, "Remote: no site, video only")] + [
        SelectChoice(site.id, f"{site.name} ({site.timezone.replace('_', ' ')})") for site in sites
    ]


def site_from_choice(value: int | None) -> Site | None:
    return None if not value else db.session.get(Site, value)
