"""Reading the organisation's settings; the defaults hold until an admin saves them."""
from __future__ import annotations

from ..extensions import db
from ..models import OrganisationSettings, SignUpPolicy


def organisation_settings() -> OrganisationSettings:
    """The one settings row, or an unsaved row with the defaults of a fresh site."""
    return db.session.get(OrganisationSettings, 1) or OrganisationSettings(
        id=1, only_verified_hosts=True, sign_up_policy=SignUpPolicy.OPEN, sign_up_domains=""
    )


def only_verified_hosts() -> bool:
    return organisation_settings().only_verified_hosts
