"""Forms: a person's calendar address, and the admin's private-network switch."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import Length

from .services import MAX_ADDRESS_LENGTH, TOO_LONG


class CalendarAddressForm(FlaskForm):
    address = StringField(
        "Your calendar's private address (iCal)",
        validators=[Length(max=MAX_ADDRESS_LENGTH, message=TOO_LONG)],
        description=(
            "Google Calendar: Settings, your calendar, “Secret address in iCal format”. "
            "Outlook: Settings, Calendar, Shared calendars, Publish a calendar, ICS link. "
            "Apple iCloud: share the calendar as a public calendar and copy its webcal:// link. "
            "Only you see your busy times; the address is stored encrypted."
        ),
    )


class PrivateAddressesForm(FlaskForm):
    allow = BooleanField(
        "Allow calendar addresses on private networks",
        description=(
            "Off, the site refuses a calendar address on a private network or on this machine "
            "(10.x, 192.168.x, localhost, a cloud's metadata address …), so nobody can make it "
            "read your internal servers. Turn it on only if people keep their calendars on a "
            "server inside your own network."
        ),
    )
