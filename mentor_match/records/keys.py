"""The site's key for signing Open Badges credentials: where it comes from, and its public half.

The private key is an EC P-256 key (ES256). In production it is the PEM text in the setting
CREDENTIAL_SIGNING_KEY, the same in every web process. Without it the site makes one once
and keeps it in instance/credential_signing_key.pem (mode 0600), as it does for a local
SECRET_KEY; a test app makes a fresh key of its own in memory.

Each key is known by its JWK thumbprint (RFC 7638). Open Badges 3.0 wants a credential's
`kid` to be a URL that dereferences to the public JWK, so the `kid` is the site's
/keys/<thumbprint> address, and the JWKS at /.well-known/jwks.json lists the key under
that same `kid`.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from ..links import absolute_url

log = logging.getLogger(__name__)

ALGORITHM = "ES256"
CURVE = "P-256"
KEY_FILE_NAME = "credential_signing_key.pem"
SETTING = "CREDENTIAL_SIGNING_KEY"
_EXTENSION = "mentor_match.credential_key"
_making_key = threading.Lock()


class CredentialKeyError(RuntimeError):
    """The configured signing key cannot be used; the message says why and how to make one."""


@dataclass(frozen=True)
class SigningKey:
    """The private key the site signs credentials with, and the name it is published under."""

    private: ECKey
    thumbprint: str

    @property
    def kid(self) -> str:
        """The URL the public key is published at, used as the JWS `kid`."""
        return absolute_url("records.public_key", thumbprint=self.thumbprint)

    def public_jwk(self) -> dict:
        """The public half as a JWK, never with "d", named by its `kid`."""
        public = self.private.as_dict(private=False)
        return {**public, "kid": self.kid, "use": "sig", "alg": ALGORITHM}


def _from_pem(pem: str | bytes, where: str) -> SigningKey:
    text = pem.decode() if isinstance(pem, bytes) else pem
    # An environment variable often carries a PEM on one line, its line breaks written as \n.
    text = text.replace("\\n", "\n").strip() + "\n"
    how = "Make one with: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256"
    try:
        key = ECKey.import_key(text)
    except (ValueError, TypeError, JoseError) as error:
        raise CredentialKeyError(f"{where} is not a PEM EC private key ({error}). {how}") from None
    if not key.is_private or key.as_dict(private=False).get("crv") != CURVE:
        raise CredentialKeyError(f"{where} must be an EC {CURVE} private key. {how}")
    return SigningKey(private=key, thumbprint=key.thumbprint())


def _generated() -> SigningKey:
    key = ECKey.generate_key(CURVE, private=True)
    return SigningKey(private=key, thumbprint=key.thumbprint())


def _from_instance_file(app: Flask) -> SigningKey:
    """The key kept under instance/, made there once (readable by the owner only)."""
    path = Path(app.instance_path) / KEY_FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _keep_new_key(path)
    return _from_pem(path.read_bytes(), str(path))


def _keep_new_key(path: Path) -> None:
    """Make a key and put it at `path` unless another process got there first.

    Web processes starting at once may each make one; the file is written whole under a
    name of its own, then linked into place, which fails if a key is there already. So
    every process reads the one key kept, never a file another is still writing.
    """
    draft = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    draft.unlink(missing_ok=True)
    pem = ECKey.generate_key(CURVE, private=True).as_pem(private=True)
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        os.link(draft, path)
    except FileExistsError:
        pass  # another process kept its key first: that is the one every process uses
    else:
        log.info("made a credential signing key in %s; set %s to use your own", path, SETTING)
    finally:
        draft.unlink(missing_ok=True)


def init_app(app: Flask) -> None:
    """Check a configured key as the app starts, so a bad one stops it with the reason."""
    configured = app.config.get(SETTING)
    if configured:
        app.extensions[_EXTENSION] = _from_pem(configured, f"The setting {SETTING}")


def signing_key() -> SigningKey:
    """The app's signing key: configured, else made once (per app in tests, else on disk)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    key = app.extensions.get(_EXTENSION)
    if key is None:
        with _making_key:
            key = app.extensions.get(_EXTENSION)
            if key is None:
                key = _generated() if app.testing else _from_instance_file(app)
                app.extensions[_EXTENSION] = key
    return key


def published_keys() -> list[SigningKey]:
    """The keys whose public halves the site publishes: today, the one it signs with."""
    return [signing_key()]


def key_for_kid(kid: object) -> SigningKey | None:
    """The site's key a credential's `kid` names (by the thumbprint at its end), if any."""
    if not isinstance(kid, str):
        return None
    return key_for_thumbprint(kid.rstrip("/").rsplit("/", 1)[-1])


def key_for_thumbprint(thumbprint: str) -> SigningKey | None:
    """The published key with this RFC 7638 thumbprint, if any."""
    return next((key for key in published_keys() if key.thumbprint == thumbprint), None)


def jwks() -> dict:
    """The JSON Web Key Set of the site's public credential keys."""
    return {"keys": [key.public_jwk() for key in published_keys()]}
