"""Sign-up that says nothing about who has an account: every address is confirmed by mail.

The page answers alike whether or not an address is known: a new address gets an account
waiting for confirmation and a link to confirm it; a known one gets a mail telling its owner
that someone tried, with nothing changed. Both mails go out in the background.

Confirming asks for the password chosen at sign-up, so a stranger who signed up with
someone else's address cannot have its owner confirm an account the stranger can open.

The organisation's sign-up policy is checked first, on the address alone
(services.check_sign_up_policy), so its answer does not depend on whether the address has an
account. A sign-up still waiting for confirmation is held to the policy in force when it is
confirmed: locking sign-up down also stops accounts begun before.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import null
from sqlalchemy.exc import IntegrityError

from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..mail import links
from ..mail.services import send_mail
from ..models import Person, Site
from .passwords import hash_password, verify_password
from .services import check_sign_up_policy, find_person_by_email, normalise_email


def sign_up(
    *,
    name: str,
    email: str,
    password: str,
    is_master: bool,
    is_apprentice: bool,
    site: Site | None,
    timezone_name: str,
) -> None:
    """Hold an account for a new address until it is confirmed; change nothing for a known one.

    A sign-up for an address still waiting for confirmation replaces the waiting details:
    the latest attempt is most likely the person trying again. Refuses an address the sign-up
    policy turns away, saving nothing. Commits.
    """
    check_sign_up_policy(email)
    password_hash = hash_password(password)  # either way, so both answers take as long
    person = find_person_by_email(email)
    if person is not None and person.email_confirmed_at is not None:
        return
    if person is None:
        # null(), not None: None would let the column's default (confirmed now) apply.
        person = Person(email=normalise_email(email), email_confirmed_at=null())
        db.session.add(person)
    person.name, person.password_hash = name.strip(), password_hash
    person.is_master, person.is_apprentice = is_master, is_apprentice
    person.site, person.timezone = site, timezone_name
    try:
        db.session.commit()
    except IntegrityError:  # the same address signed up at the same moment: that one stands
        db.session.rollback()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="confirm-address")


def confirmation_link(person: Person) -> str:
    """The link that confirms the person's address; it lasts SIGNUP_CONFIRM_MAX_AGE from now."""
    token = _serializer().dumps({"id": person.id, "email": person.email})
    return absolute_url("accounts.confirm_address", token=token)


def send_sign_up_mail(email: str) -> None:
    """Mail the address what its sign-up means: a link to confirm, or that it already has an
    account. Run in the background (rounds.jobs.dispatch_sign_up_mail); commits. The link is
    made when the mail goes out (mail.links), so one retried later still works."""
    person = find_person_by_email(email)
    if person is None:
        return
    if person.email_confirmed_at is None:
        days = current_app.config["SIGNUP_CONFIRM_MAX_AGE"].days
        send_mail(
            person.email,
            "Confirm your address to finish signing up",
            f"Hello {person.name},\n\nFollow this link within {days} days to confirm your "
            f"address and finish signing up to Mentor Match:\n\n"
            f"{links.PLACEHOLDERS[links.CONFIRM_ADDRESS]}\n\n"
            "You will be asked for the password you chose.\n\n"
            "If you did not sign up, ignore this message: no account is opened.\n",
            person_id=person.id,
            link_kind=links.CONFIRM_ADDRESS,
        )
    else:
        send_mail(
            person.email,
            "Someone tried to sign up with your address",
            f"Hello {person.name},\n\nSomeone (hopefully you) tried to sign up to Mentor Match "
            "with this address. It already has an account, and nothing has changed.\n\n"
            f"Log in: {absolute_url('accounts.login')}\n"
            f"Forgot your password? {absolute_url('accounts.forgot_password')}\n\n"
            "If it was not you, ignore this message.\n",
        )


def person_to_confirm(token: str) -> Person:
    """The person a confirmation link was made for, or a Refusal saying what to do."""
    max_age = int(current_app.config["SIGNUP_CONFIRM_MAX_AGE"].total_seconds())
    not_valid = Refusal("That confirmation link is not valid. Sign up again for a new one.")
    try:
        payload = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise Refusal("That confirmation link has expired. Sign up again for a new one.") from None
    except BadSignature:
        raise not_valid from None
    person = db.session.get(Person, payload.get("id")) if isinstance(payload, dict) else None
    if person is None or person.email != payload.get("email"):
        raise not_valid
    if person.email_confirmed_at is not None:
        raise Refusal("Your address is already confirmed. Log in.")
    check_sign_up_policy(person.email)
    return person


def confirm_address(person: Person, password: str) -> None:
    """Open the account if the password is the one chosen at sign-up and the sign-up policy
    still admits the address; commits. Either refusal concerns the form's "password" field,
    the one field the confirmation page has."""
    try:
        check_sign_up_policy(person.email)
    except Refusal as refusal:
        raise Refusal(problems={"password": str(refusal)}) from None
    if not verify_password(person.password_hash, password):
        raise Refusal(
            problems={
                "password": "That is not the password you chose when you signed up. Forgot it? "
                "Reset your password: that confirms your address too."
            }
        )
    person.email_confirmed_at = datetime.now(UTC)
    db.session.commit()
