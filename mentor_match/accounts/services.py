"""Rules for accounts: who may sign up, authentication with lock-out, password changes and
reset links.

Sign-up and address confirmation are in registration.py.
"""

from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select

from ..errors import Refusal
from ..extensions import db
from ..links import absolute_url
from ..mail import links
from ..mail.services import send_mail
from ..models import FailedLogin, Person, SignUpPolicy
from ..organisation.domains import describe_domains, domain_of
from ..organisation.services import organisation_settings
from .passwords import hash_password, verify_password

# Stands for the set-password link in a stored invitation: the link is made as the mail goes
# out (invitation_link), so the database never holds a usable token.
INVITATION_LINK = links.PLACEHOLDERS[links.INVITATION]
# Compared against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = hash_password("not-a-real-password-for-timing")


BY_INVITATION = (
    "Sign-up here is by invitation only. Ask an admin of Mentor Match at your "
    "organisation to add you: you will get a mail with a link to choose your "
    "password."
)


def check_sign_up_policy(email: str) -> None:
    """Refuse an address the organisation's sign-up policy (Admin > Organisation) turns away.

    The refusal (BY_INVITATION when nobody signs up on the site, the allowed domains for an
    address at another one) concerns the form's "email" field. It looks at the address alone,
    never at whether it has an account, so the answer says nothing about who is signed up. A
    listed domain admits exactly that domain, not its subdomains (see organisation.domains).
    """
    settings = organisation_settings()
    if settings.sign_up_policy is SignUpPolicy.INVITATION:
        raise Refusal(problems={"email": BY_INVITATION})
    if settings.sign_up_policy is SignUpPolicy.DOMAINS and domain_of(email) not in settings.domains:
        allowed = describe_domains(settings.domains)
        raise Refusal(
            problems={
                "email": f"Sign-up here is only for addresses at {allowed}. "
                "Use your address there, or ask an admin of Mentor Match to add you."
            }
        )


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_person_by_email(email: str) -> Person | None:
    return db.session.scalar(select(Person).where(Person.email == normalise_email(email)))


def _failures_within_the_hour(person: Person, client: str) -> int:
    since = datetime.now(UTC) - timedelta(hours=1)
    return (
        db.session.scalar(
            select(func.count()).where(
                FailedLogin.person_id == person.id,
                FailedLogin.client == client,
                FailedLogin.at >= since,
            )
        )
        or 0
    )


def authenticate(email: str, password: str, *, client: str) -> Person:
    """The person with these credentials, or a Refusal saying why not.

    After LOGIN_FAILURES_PER_HOUR failed attempts within the hour from one client, that client
    is locked out of the account whatever the password, so guessing from it cannot continue;
    every other client, the owner's included, logs in as before. A new password lifts it.
    """
    person = find_person_by_email(email)
    if person is None:
        verify_password(_DUMMY_HASH, password)
        raise Refusal("That email and password do not match an account.")
    limit = current_app.config["LOGIN_FAILURES_PER_HOUR"]
    if _failures_within_the_hour(person, client) >= limit:
        raise Refusal(
            "Too many failed log-ins to this account from here: it is locked for you for an "
            "hour. Reset your password to get in now."
        )
    if not verify_password(person.password_hash, password):
        db.session.add(FailedLogin(person_id=person.id, client=client))
        db.session.commit()
        raise Refusal("That email and password do not match an account.")
    if not person.active:
        raise Refusal("This account has been deactivated. Ask an admin to restore it.")
    if person.email_confirmed_at is None:
        raise Refusal(
            f"Confirm your address first: follow the link we mailed to {person.email}. "
            "No mail? Sign up again with the same address and we will send a new one."
        )
    return person


def change_password(person: Person, new_password: str) -> None:
    """Set a new password, end every session of the person and lift any lock-out; commits."""
    person.password_hash = hash_password(new_password)
    person.password_changed_at = datetime.now(UTC)
    # Only the mailbox's owner can follow a reset link, so it confirms the address too.
    person.email_confirmed_at = person.email_confirmed_at or person.password_changed_at
    person.end_sessions()
    # Guesses at the old password say nothing about the new one: every client starts afresh.
    db.session.execute(delete(FailedLogin).where(FailedLogin.person_id == person.id))
    db.session.commit()


def end_all_sessions(person: Person) -> None:
    """Log the person out everywhere (used at log-out so an old cookie cannot be replayed)."""
    person.end_sessions()
    db.session.commit()


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="password-reset")


def make_reset_token(person: Person, *, invitation: bool = False) -> str:
    """A link token to choose a password; an invitation's lasts INVITATION_MAX_AGE, not an hour."""
    # Part of the password hash is signed in, so a token dies once the password changes.
    payload = {"id": person.id, "pw": person.password_hash[-16:]}
    if invitation:
        payload["inv"] = 1
    return _reset_serializer().dumps(payload)


def invitation_link(person: Person) -> str:
    """A new person's link to choose a password; it lasts INVITATION_MAX_AGE from now."""
    return absolute_url("accounts.reset_password", token=make_reset_token(person, invitation=True))


def reset_link(person: Person) -> str:
    """A link to choose a new password; it lasts PASSWORD_RESET_MAX_AGE from now."""
    return absolute_url("accounts.reset_password", token=make_reset_token(person))


def send_password_reset(email: str) -> None:
    """Mail a time-limited reset link if the address has an account; silent otherwise.

    The link is made when the mail goes out (mail.links), so one retried later still works.
    """
    person = find_person_by_email(email)
    if person is None or not person.active:
        return
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE"].total_seconds() // 60)
    send_mail(
        person.email,
        "Reset your Mentor Match password",
        f"Hello {person.name},\n\nSomeone (hopefully you) asked to reset your password.\n"
        f"Follow this link within {minutes} minutes to choose a new one:\n\n"
        f"{links.PLACEHOLDERS[links.RESET]}\n\n"
        "If you did not ask for this, ignore this message: your password stays as it is.\n",
        person_id=person.id,
        link_kind=links.RESET,
    )


def person_for_reset_token(token: str) -> Person:
    """The person a reset token was issued to, or a Refusal if it is bad, used or expired."""
    reset_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    longest = max(reset_age, current_app.config["INVITATION_MAX_AGE"])
    expired = Refusal("That reset link has expired. Ask for a new one.")
    try:
        payload, issued = _reset_serializer().loads(
            token, max_age=int(longest.total_seconds()), return_timestamp=True
        )
    except SignatureExpired:
        raise expired from None
    except BadSignature:
        raise Refusal("That reset link is not valid. Ask for a new one.") from None
    if (
        isinstance(payload, dict)
        and not payload.get("inv")
        and datetime.now(UTC) - issued > reset_age
    ):
        raise expired
    person = db.session.get(Person, payload.get("id")) if isinstance(payload, dict) else None
    if person is None or person.password_hash[-16:] != payload.get("pw") or not person.active:
        raise Refusal("That reset link has already been used. Ask for a new one.")
    if person.email_confirmed_at is None:
        # A reset confirms the address, so a sign-up begun before sign-up was locked down
        # must not be finished this way either.
        check_sign_up_policy(person.email)
    return person
