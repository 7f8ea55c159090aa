"""Sealing a secret the site must use again (the provider's client secret) before it is stored.

Tokens that act for a person are stored as digests (see tests/test_secrets_at_rest.py); a
client secret cannot be, because the site sends it to the provider. It is sealed instead
(Fernet: AES-128-CBC with an HMAC-SHA256) under a key derived from SECRET_KEY, which lives in
the environment and never in the database, so the database or a backup of it alone does not
give the secret away. A new SECRET_KEY leaves the sealed secret unreadable: the admin enters it
again (the Single sign-on page says so).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

# Binds the derived key to this one use: the same SECRET_KEY signs cookies and reset links.
_PURPOSE = b"mentor-match: the single sign-on client secret"


class UnsealError(RuntimeError):
    """The sealed text was sealed under another SECRET_KEY, or has been changed."""


def _fernet() -> Fernet:
    secret_key = current_app.config["SECRET_KEY"]
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
        secret_key.encode() if isinstance(secret_key, str) else secret_key
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode("ascii")


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as failure:
        raise UnsealError("sealed under another SECRET_KEY, or changed") from failure
