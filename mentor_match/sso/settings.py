"""The admin's single sign-on settings: the provider, the client, and whether it is the only
way in. Password log-in stays open to admins whatever the setting: it is their way in while the
provider is down or misconfigured (break-glass), and admins are few and known."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from ..errors import Refusal
from ..extensions import db
from ..models import Person, SingleSignOnSettings
from ..sealing import Unsealable, seal, unseal
from ..tracking.hours import commit_field_changes
from . import provider

CHANGE_SUBJECT = "sso_settings"
NOT_AN_ADMIN = "Only an admin can change single sign-on."
# The client secret is sealed at rest (mentor_match/sealing.py) with a key derived for this use.
SEALING_PURPOSE = b"mentor-match: the single sign-on client secret"
SECRET_UNREADABLE = (
    "The stored client secret can no longer be read: the site's SECRET_KEY has changed since "
    "it was saved. Enter the client secret again."
)
SAVED_AT_ONCE = "Someone else saved single sign-on at the same moment. Check it and save again."
_YES_NO = {True: "yes", False: "no"}


def sso_settings() -> SingleSignOnSettings:
    """The one settings row, or an unsaved row with single sign-on off."""
    return db.session.get(SingleSignOnSettings, 1) or SingleSignOnSettings(
        id=1,
        enabled=False,
        issuer="",
        client_id="",
        client_secret_sealed="",
        display_name="",
        sso_only=False,
    )


@dataclass(frozen=True)
class Client:
    """What the site needs to send someone to the provider and check what comes back."""

    issuer: str
    client_id: str
    client_secret: str
    display_name: str


def active_client() -> Client | None:
    """The configured provider, or None while single sign-on is off.

    Raises Refusal when it is on but its secret cannot be read (SECRET_KEY changed).
    """
    settings = sso_settings()
    if not settings.enabled:
        return None
    try:
        secret = unseal(settings.client_secret_sealed, purpose=SEALING_PURPOSE)
    except Unsealable:
        raise Refusal(
            f"Signing in with {settings.display_name} is out of order at the moment: an admin "
            "must enter its client secret again. Admins can log in with their password."
        ) from None
    return Client(settings.issuer, settings.client_id, secret, settings.display_name)


def sso_only() -> bool:
    """Whether password log-in and sign-up are closed (to everyone but admins)."""
    settings = sso_settings()
    return settings.enabled and settings.sso_only


def password_log_in_refused(person: Person) -> str | None:
    """Why this person may not log in with a password, or None if they may."""
    if person.is_admin or not sso_only():
        return None
    return (
        f"Log in with {sso_settings().display_name}: passwords are not used here. "
        "Use the button below."
    )


def save_settings(
    admin: Person,
    *,
    enabled: bool,
    issuer: str,
    client_id: str,
    client_secret: str,
    display_name: str,
    only_way_in: bool,
) -> int:
    """Save single sign-on, logging each changed field (never the secret); commits once.

    Turning it on reads the provider's discovery document, so a wrong issuer is said now, not
    at someone's first log-in. A blank client secret keeps the stored one. Returns how many
    fields changed. Problems are given per field ("issuer", "client_id", ...).
    """
    if not (admin.is_admin and admin.active):
        raise Refusal(NOT_AN_ADMIN)
    settings = db.session.get(SingleSignOnSettings, 1)
    if settings is None:
        settings = sso_settings()
        db.session.add(settings)
    issuer, client_id, display_name = issuer.strip(), client_id.strip(), display_name.strip()
    client_secret = client_secret.strip()
    problems: dict[str, str] = {}
    if issuer and (problem := provider.url_problem(issuer)):
        problems["issuer"] = problem
    if not client_secret and settings.client_secret_sealed:
        try:
            unseal(settings.client_secret_sealed, purpose=SEALING_PURPOSE)
        except Unsealable:
            if enabled:
                problems["client_secret"] = SECRET_UNREADABLE
    if enabled:
        if not issuer:
            problems["issuer"] = provider.NOT_A_URL
        if not client_id:
            problems["client_id"] = "Enter the client (application) ID the provider gave you."
        if not client_secret and not settings.client_secret_sealed:
            problems["client_secret"] = "Enter the client secret the provider gave you."
        if not display_name:
            problems["display_name"] = (
                "Enter your organisation's name, for the “Sign in with …” button."
            )
    elif only_way_in:
        problems["sso_only"] = "Turn single sign-on on before making it the only way in."
    if enabled and "issuer" not in problems:
        try:
            issuer = provider.discover(issuer, fresh=True).issuer
        except provider.ProviderError as failure:
            problems["issuer"] = str(failure)
    if problems:
        db.session.rollback()
        raise Refusal(problems=problems)
    changed = _changes(settings, enabled, issuer, client_id, display_name, only_way_in)
    if client_secret:
        settings.client_secret_sealed = seal(client_secret, purpose=SEALING_PURPOSE)
        changed.append(("client_secret", "", "(a new secret)"))
    settings.enabled, settings.issuer, settings.client_id = enabled, issuer, client_id
    settings.display_name, settings.sso_only = display_name, only_way_in
    settings.updated_at = datetime.now(UTC)
    count = commit_field_changes(
        admin, CHANGE_SUBJECT, settings.id, changed, saved_at_once=SAVED_AT_ONCE
    )
    provider.forget_discoveries()
    return count


def _changes(settings, enabled, issuer, client_id, display_name, only_way_in):
    wanted = {
        "enabled": (_YES_NO[bool(settings.enabled)], _YES_NO[enabled]),
        "issuer": (settings.issuer or "", issuer),
        "client_id": (settings.client_id or "", client_id),
        "display_name": (settings.display_name or "", display_name),
        "sso_only": (_YES_NO[bool(settings.sso_only)], _YES_NO[only_way_in]),
    }
    return [(name, before, after) for name, (before, after) in wanted.items() if before != after]
