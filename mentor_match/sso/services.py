"""Who a verified ID token signs in: the person linked to its (issuer, subject), else the
account with the address the provider vouches for, else a new account within the sign-up
policy.

An address links or opens an account only when the provider says it verified it
(`email_verified`, or Microsoft Entra ID's `xms_edov`): anyone can type any address into
their profile at some providers, and an unverified one would hand them another person's
account here.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.services import check_sign_up_policy, find_person_by_email, normalise_email
from ..errors import Refusal
from ..extensions import db
from ..models import Person, SingleSignOnLink
from .settings import sso_settings

log = logging.getLogger(__name__)

DEACTIVATED = "This account has been deactivated. Ask an admin to restore it."
TRY_AGAIN = "Signing in did not finish: the same account signed in at the same moment. Try again."
NAME_LENGTH = 120
EMAIL_LENGTH = 254  # longer is refused, never cut: a cut address could be someone else's


@dataclass(frozen=True)
class SignIn:
    """Whom a sign-in opened, and whether it made the link or the account."""

    person: Person
    linked: bool  # the first sign-in with this provider account: the link was made now
    created: bool  # the account itself was made now


def _verified(claims: Mapping) -> bool:
    """Whether the provider says it checked the address belongs to the account."""
    return claims.get("email_verified") is True or claims.get("xms_edov") is True


def _name(claims: Mapping, email: str) -> str:
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip():
        parts = [claims.get("given_name"), claims.get("family_name")]
        name = " ".join(part.strip() for part in parts if isinstance(part, str) and part.strip())
    return (name.strip() if name else email.partition("@")[0])[:NAME_LENGTH]


def sign_in(claims: Mapping, *, issuer: str, display_name: str) -> SignIn:
    """The person these verified ID token claims sign in, linking or creating as needed; commits.

    Refuses a deactivated account, an unverified or missing address with no link yet, an
    account linked to another account at the provider, and an address the sign-up policy
    turns away. Each refusal is logged with the subject, never with a token.
    """
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > 255:
        log.warning("sso refused: the ID token has no usable subject")
        raise Refusal(f"{display_name} did not say who you are. Try again, or ask an admin.")
    link = db.session.scalar(
        select(SingleSignOnLink).where(
            SingleSignOnLink.issuer == issuer, SingleSignOnLink.subject == subject
        )
    )
    if link is not None:
        return _through_link(link)
    email = claims.get("email")
    if (
        not isinstance(email, str)
        or "@" not in email
        or len(email.strip()) > EMAIL_LENGTH
        or not _verified(claims)
    ):
        log.warning("sso refused: subject %s has no verified address and no link", subject)
        raise Refusal(
            f"{display_name} did not confirm your email address, so it cannot be matched to "
            "an account here. Ask an admin of Mentor Match to add you, or your "
            f"{display_name} administrator to share your verified address."
        )
    email = normalise_email(email)
    try:
        return _link_by_email(claims, issuer=issuer, email=email, display_name=display_name)
    except IntegrityError:  # the same account's first sign-in in two tabs at once
        db.session.rollback()
        log.warning("sso refused: subject %s was linked by another request at once", subject)
        raise Refusal(TRY_AGAIN) from None


def _through_link(link: SingleSignOnLink) -> SignIn:
    person = link.person
    if not person.active:
        log.warning("sso refused: person %s is deactivated", person.id)
        raise Refusal(DEACTIVATED)
    link.last_used_at = datetime.now(UTC)
    db.session.commit()
    return SignIn(person=person, linked=False, created=False)


def _link_by_email(claims: Mapping, *, issuer: str, email: str, display_name: str) -> SignIn:
    subject = claims["sub"]
    person = find_person_by_email(email)
    created = person is None
    if person is None:
        check_sign_up_policy(email)  # on the address alone, as the sign-up page
        person = Person(
            email=email,
            name=_name(claims, email),
            # No password: the person logs in through the provider, or resets one by mail.
            password_hash=f"!sso:{secrets.token_hex(16)}",
            is_apprentice=True,
            timezone="UTC",
        )
        db.session.add(person)
    else:
        if not person.active:
            log.warning("sso refused: person %s is deactivated", person.id)
            raise Refusal(DEACTIVATED)
        already = db.session.scalar(
            select(SingleSignOnLink).where(
                SingleSignOnLink.person_id == person.id, SingleSignOnLink.issuer == issuer
            )
        )
        if already is not None:
            log.warning(
                "sso refused: person %s is linked to subject %s, not %s",
                person.id,
                already.subject,
                subject,
            )
            raise Refusal(
                f"The account here for {email} is linked to another {display_name} account. "
                "Sign in with that one, or ask an admin of Mentor Match."
            )
        if person.email_confirmed_at is None:
            # A sign-up waiting for its mailed link: the provider has now confirmed the
            # address, but the password was chosen by whoever filled in the form, who may not
            # own the address, so it goes.
            check_sign_up_policy(email)
            person.email_confirmed_at = datetime.now(UTC)
            person.password_hash = f"!sso:{secrets.token_hex(16)}"
            person.end_sessions()
    db.session.flush()
    db.session.add(
        SingleSignOnLink(person_id=person.id, issuer=issuer, subject=subject, email=email)
    )
    db.session.commit()
    log.info(
        "sso linked subject %s to person %s (%s)",
        subject,
        person.id,
        "new account" if created else "by verified email",
    )
    return SignIn(person=person, linked=True, created=created)


@dataclass(frozen=True)
class LinkedPerson:
    """One person who signs in through the provider, for the admin's list."""

    person_id: int
    name: str
    email: str  # the address the provider gave when the link was made
    linked_at: datetime
    last_used_at: datetime


LINKS_SHOWN = 100


def linked_people(issuer: str) -> tuple[int, list[LinkedPerson]]:
    """How many people are linked to the issuer, and the LINKS_SHOWN who signed in last."""
    total = db.session.scalar(
        select(func.count()).select_from(SingleSignOnLink).where(SingleSignOnLink.issuer == issuer)
    )
    rows = db.session.execute(
        select(SingleSignOnLink, Person.name)
        .join(Person, Person.id == SingleSignOnLink.person_id)
        .where(SingleSignOnLink.issuer == issuer)
        .order_by(SingleSignOnLink.last_used_at.desc(), SingleSignOnLink.id.desc())
        .limit(LINKS_SHOWN)
    ).all()
    return total or 0, [
        LinkedPerson(link.person_id, name, link.email, link.created_at, link.last_used_at)
        for link, name in rows
    ]


@dataclass(frozen=True)
class PersonSignIn:
    """How a person signs in through the provider, for their own profile."""

    display_name: str
    email: str
    linked_at: datetime


def sso_sign_in_of(person: Person) -> PersonSignIn | None:
    """The person's link to the configured provider, or None (no link, or single sign-on off)."""
    settings = sso_settings()
    if not settings.enabled:
        return None
    link = db.session.scalar(
        select(SingleSignOnLink).where(
            SingleSignOnLink.person_id == person.id, SingleSignOnLink.issuer == settings.issuer
        )
    )
    if link is None:
        return None
    return PersonSignIn(settings.display_name, link.email, link.created_at)
