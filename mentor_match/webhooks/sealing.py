"""Secrets the site must use again (a chat webhook address, a signing secret), kept sealed.

The database holds them encrypted (Fernet: AES-128-CBC with an HMAC-SHA256 tag) under a key
derived from SECRET_KEY, so a copy of the database or a backup alone gives none of them. A
new SECRET_KEY makes them unreadable: the endpoint's deliveries then fail with words that say
to add it again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Kept apart from every other use of SECRET_KEY (sessions, signed links) by its own label.
_PURPOSE = b"mentor-match sealed settings v1"


class Unsealable(Exception):
    """The sealed value was made under another SECRET_KEY, or was changed."""


def _fernet() -> Fernet:
    secret = current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret.encode() if isinstance(secret, str) else secret
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str) -> str:
    """The text encrypted and authenticated, as ASCII for a text column."""
    return _fernet().encrypt(text.encode()).decode("ascii")


def unseal(sealed: str) -> str:
    """The text `seal` was given; Unsealable when SECRET_KEY changed since or it was altered."""
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise Unsealable(
            "This endpoint's address or secret was saved under another SECRET_KEY and cannot "
            "be read: add the endpoint again."
        ) from error
