"""Sealing secrets the site must use again before they are stored.

Tokens that act for a person are stored as digests (tests/test_secrets_at_rest.py). A secret
the site has to send or use again cannot be: a provider's client secret, a chat webhook
address, a webhook signing secret, a private calendar address. Those are sealed (Fernet:
AES-128-CBC with an HMAC-SHA256 tag) under a key derived from SECRET_KEY, which lives in the
environment and never in the database, so the database or a backup of it alone gives none of
them away. A new SECRET_KEY leaves them unreadable: each feature tells its people in words to
enter the secret again.

Each use derives its own key from its `purpose`, so a value sealed for one use is unreadable
by another, and none of them shares a key with the cookies and signed links SECRET_KEY also
serves.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app


class Unsealable(Exception):
    """The sealed text was sealed under another SECRET_KEY or for another purpose, or changed."""


def _fernet(purpose: bytes) -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode() if isinstance(secret_key, str) else secret_key
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, *, purpose: bytes) -> str:
    """The text encrypted and authenticated, as ASCII for a text column."""
    return _fernet(purpose).encrypt(text.encode()).decode("ascii")


def unseal(sealed: str, *, purpose: bytes) -> str:
    """The text `seal` was given for `purpose`; Unsealable when it cannot be read back."""
    try:
        return _fernet(purpose).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as failure:  # UnicodeError is a ValueError
        raise Unsealable(f"sealed under another SECRET_KEY, or changed ({purpose!r})") from failure
