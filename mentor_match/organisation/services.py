"""Reading the organisation's settings, and an admin saving them; the defaults hold until then."""

from __future__ import annotations

from ..errors import Refusal
from ..extensions import db
from ..models import OrganisationSettings, Person, SignUpPolicy
from ..models.allowances import MOST_HOURS_IN_A_MONTH, hours_outside_a_month
from ..tracking.hours import commit_field_changes
from .domains import clean_domains

CHANGE_SUBJECT = "organisation_settings"
NOT_AN_ADMIN = "Only an admin can change the organisation's settings."
NO_POLICY = "Choose who may sign up."
NO_DOMAINS = (
    "List at least one email domain for sign-up by domain, or choose another way "
    "for people to join."
)
SAVED_AT_ONCE = (
    "Someone else saved the organisation's settings at the same moment. Check them and save again."
)


def organisation_settings() -> OrganisationSettings:
    """The one settings row, or an unsaved row with the defaults of a fresh site."""
    return db.session.get(OrganisationSettings, 1) or OrganisationSettings(
        id=1, only_verified_hosts=True, sign_up_policy=SignUpPolicy.OPEN, sign_up_domains=""
    )


def only_verified_hosts() -> bool:
    return organisation_settings().only_verified_hosts


def checked_domains(policy: SignUpPolicy, domains: list[str]) -> list[str]:
    """The domains cleaned (lower-case, no repeats), or a Refusal saying what is wrong.

    The list is checked whatever the policy, as it is kept for when sign-up by domain is
    chosen again; it may be empty only if sign-up is not by domain.
    """
    cleaned = clean_domains(domains)
    if policy is SignUpPolicy.DOMAINS and not cleaned:
        raise Refusal(NO_DOMAINS)
    return cleaned


# How the change log writes the only_verified_hosts flag.
_YES_NO = {True: "yes", False: "no"}


def save_settings(
    admin: Person, *, policy: SignUpPolicy, domains: list[str], only_verified_hosts: bool
) -> int:
    """Save who may sign up and who may host, logging each changed field; commits once.

    Returns how many fields changed. Refuses anyone but an active admin, a domain that is not
    one, more than MAX_DOMAINS domains, and sign-up by domain with none.
    """
    if not (admin.is_admin and admin.active):
        raise Refusal(NOT_AN_ADMIN)
    if not isinstance(policy, SignUpPolicy):
        raise Refusal(NO_POLICY)
    cleaned = checked_domains(policy, domains)
    settings = db.session.get(OrganisationSettings, 1)
    if settings is None:
        settings = organisation_settings()
        db.session.add(settings)
    wanted = {
        "sign_up_policy": (settings.sign_up_policy.value, policy.value),
        "sign_up_domains": (", ".join(settings.domains), ", ".join(cleaned)),
        "only_verified_hosts": (
            _YES_NO[settings.only_verified_hosts],
            _YES_NO[only_verified_hosts],
        ),
    }
    changed = [(name, before, after) for name, (before, after) in wanted.items() if before != after]
    settings.sign_up_policy = policy
    settings.sign_up_domains = "\n".join(cleaned)
    settings.only_verified_hosts = only_verified_hosts
    return commit_field_changes(
        admin, CHANGE_SUBJECT, settings.id, changed, saved_at_once=SAVED_AT_ONCE
    )


ALLOWANCE_CHANGE_SUBJECT = "organisation_allowance"
ALLOWANCE_HOURS_PROBLEM = (
    f"Enter whole hours from 0 to {MOST_HOURS_IN_A_MONTH}, or leave it empty for no allowance."
)


def _allowance_said(hours: int | None) -> str:
    return "none" if hours is None else f"{hours} h"


def save_allowances(
    admin: Person, *, observing_hours: int | None, hosting_hours: int | None
) -> int:
    """Set the organisation's default monthly learning time (None: no allowance, plans need no
    approval), logging each changed figure; commits. Returns how many figures changed.

    Refuses anyone but an active admin and hours outside 0 to a month's 744.
    """
    if not (admin.is_admin and admin.active):
        raise Refusal(NOT_AN_ADMIN)
    problems = hours_outside_a_month(
        ALLOWANCE_HOURS_PROBLEM, observing_hours=observing_hours, hosting_hours=hosting_hours
    )
    if problems:
        raise Refusal(problems=problems)
    settings = db.session.get(OrganisationSettings, 1)
    if settings is None:
        settings = organisation_settings()
        db.session.add(settings)
    wanted = {
        "observing_allowance_hours": (settings.observing_allowance_hours, observing_hours),
        "hosting_allowance_hours": (settings.hosting_allowance_hours, hosting_hours),
    }
    changed = [
        (name, _allowance_said(before), _allowance_said(after))
        for name, (before, after) in wanted.items()
        if before != after
    ]
    settings.observing_allowance_hours = observing_hours
    settings.hosting_allowance_hours = hosting_hours
    return commit_field_changes(
        admin, ALLOWANCE_CHANGE_SUBJECT, settings.id, changed, saved_at_once=SAVED_AT_ONCE
    )
