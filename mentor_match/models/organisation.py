"""Organisation-wide rules an admin sets: who may host, and who may join."""

from __future__ import annotations

import enum

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .types import value_enum


class SignUpPolicy(enum.StrEnum):
    """Who may create an account on the sign-up page."""

    OPEN = "open"  # anyone with an address they can confirm
    DOMAINS = "domains"  # only addresses at the organisation's listed email domains
    INVITATION = "invitation"  # nobody: accounts come from an admin or an import's invitation

    @property
    def label(self) -> str:
        return {
            SignUpPolicy.OPEN: "Open: anyone who confirms their email address",
            SignUpPolicy.DOMAINS: "Only addresses at the email domains listed below",
            SignUpPolicy.INVITATION: "By invitation only: people added by an admin or an import",
        }[self]


class OrganisationSettings(db.Model):
    """One row. Absent means the defaults below: a fresh site trusts only verified hosts."""

    __tablename__ = "organisation_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only people whose hosting stage is verified (endorsed, set by an admin, or a trusted
    # import) host: paired in rounds, bookable, able to open sessions.
    only_verified_hosts: Mapped[bool] = mapped_column(default=True)
    sign_up_policy: Mapped[SignUpPolicy] = mapped_column(
        value_enum(SignUpPolicy), default=SignUpPolicy.OPEN
    )
    # Lower-case domains, one per line, for SignUpPolicy.DOMAINS (e.g. "example.org").
    sign_up_domains: Mapped[str] = mapped_column(Text, default="")
    # Calendar feeds are fetched from addresses people type: off, an address on a private
    # network (or this machine) is refused, so the site cannot be used to read the intranet.
    # An admin turns it on for a calendar server inside the organisation's own network.
    allow_private_calendar_addresses: Mapped[bool] = mapped_column(default=False)
    # The monthly learning time everyone is granted unless their manager sets their own
    # figure: hours observing (as an apprentice) and hosting (as a master). None means the
    # organisation has set no allowance, and plans need no one's approval, as before there
    # were allowances: an upgrade does not cut anyone's next round.
    observing_allowance_hours: Mapped[int | None]
    hosting_allowance_hours: Mapped[int | None]

    @property
    def domains(self) -> list[str]:
        return [line.strip() for line in self.sign_up_domains.splitlines() if line.strip()]
