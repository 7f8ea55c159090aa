"""The admin's form for the organisation's settings: who may sign up, and who may host."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, ValidationError

from ..allowances.forms import AllowanceForm
from ..errors import Refusal
from ..models import OrganisationSettings, SignUpPolicy
from .domains import MAX_DOMAINS, split_domains
from .services import NO_POLICY, checked_domains

_POLICY_VALUES = frozenset(policy.value for policy in SignUpPolicy)
# Room for MAX_DOMAINS domains of the longest kind, one per line.
MAX_DOMAINS_TEXT = MAX_DOMAINS * 254


class OrganisationForm(FlaskForm):
    sign_up_policy = RadioField(
        "Who may sign up",
        choices=[SelectChoice(policy.value, policy.label) for policy in SignUpPolicy],
        validate_choice=False,  # checked below, with a message of our own
    )
    sign_up_domains = TextAreaField(
        "Email domains",
        validators=[Length(max=MAX_DOMAINS_TEXT, message=f"List at most {MAX_DOMAINS} domains.")],
        description=(
            f"One per line, e.g. example.org; at most {MAX_DOMAINS}. Only an exact match "
            "admits an address: example.org does not admit mail.example.org, so list each "
            "subdomain you want too. Kept when another policy is chosen."
        ),
    )
    only_verified_hosts = BooleanField(
        "Only verified masters host",
        description=(
            "Masters whose stage in a skill is self-declared wait for an admin or a verified "
            "master in that skill to verify it before they are paired in rounds, booked, or "
            "open sessions. Turn it off only while you verify the masters of a site that ran "
            "without it."
        ),
    )

    @classmethod
    def filled(cls, settings: OrganisationSettings) -> OrganisationForm:
        return cls(
            data={
                "sign_up_policy": settings.sign_up_policy.value,
                "sign_up_domains": "\n".join(settings.domains),
                "only_verified_hosts": settings.only_verified_hosts,
            }
        )

    def validate_sign_up_policy(self, field) -> None:
        if field.data not in _POLICY_VALUES:
            raise ValidationError(NO_POLICY)

    def validate_sign_up_domains(self, field) -> None:
        # With no valid policy chosen, the domains are still checked as domains.
        policy = self.policy if self.sign_up_policy.data in _POLICY_VALUES else SignUpPolicy.OPEN
        try:
            checked_domains(policy, split_domains(field.data or ""))
        except Refusal as refusal:
            raise ValidationError(str(refusal)) from None

    @property
    def policy(self) -> SignUpPolicy:
        return SignUpPolicy(self.sign_up_policy.data)


class OrganisationAllowanceForm(AllowanceForm):
    """The organisation's default learning time, with a prefix of its own on the shared page."""

    def __init__(self, **kwargs):
        super().__init__(prefix="allowance", **kwargs)
