"""Personal links a mail carries (reset, invitation, address confirmation): never stored.

The stored mail holds a placeholder and the kind of link; the link is made for the person at
each attempt. So the database holds no usable token, and a mail retried hours later carries a
link that works from when it arrives, not one that expired while the server was down.
"""

from __future__ import annotations

from collections.abc import Callable

from ..models import Person

RESET = "reset"
INVITATION = "invitation"
CONFIRM_ADDRESS = "confirm-address"

# What the stored copy shows in place of each link; an admin reads these in the outbox.
PLACEHOLDERS = {
    RESET: "[reset link, made when the mail is sent: only the recipient's mail holds it]",
    # Also in notifications' stored mail bodies since invitations began: kept word for word.
    INVITATION: "[set-password link, made when the mail is sent]",
    CONFIRM_ADDRESS: (
        "[confirmation link, made when the mail is sent: only the recipient's mail holds it]"
    ),
}


def _makers() -> dict[str, Callable[[Person], str]]:
    # Imported when a mail is sent: accounts sends its mail through this package.
    from ..accounts import registration, services

    return {
        RESET: services.reset_link,
        INVITATION: services.invitation_link,
        CONFIRM_ADDRESS: registration.confirmation_link,
    }


def with_link(body: str, kind: str, person: Person) -> str:
    """The body as it goes out: the placeholder of `kind` replaced by a link made now."""
    return body.replace(PLACEHOLDERS[kind], _makers()[kind](person))
