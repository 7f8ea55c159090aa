"""Sealing a calendar's private address before it is stored, as the site seals every secret it
must use again.

Tokens that act for a person are stored as digests (tests/test_secrets_at_rest.py); a calendar
address cannot be, because the site fetches it. It is sealed instead (Fernet: AES-128-CBC with
an HMAC-SHA256 tag) under a key derived from SECRET_KEY, which lives in the environment, never
in the database: the database or a backup alone does not give anyone's calendar away. A new
SECRET_KEY leaves the address unreadable; the person is told to paste it again.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Binds the derived key to this one use: the same SECRET_KEY signs cookies and reset links.
_PURPOSE = b"mentor-match: calendar feed addresses"


class Unsealable(Exception):
    """The sealed address was made under another SECRET_KEY, or was changed."""


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
        raise Unsealable("sealed under another SECRET_KEY, or changed") from error
