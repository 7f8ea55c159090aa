"""The organisation's OpenID Connect provider: which issuer URLs the site accepts, reading the
provider's discovery document, and the Authlib client that speaks to it.

Issuers must be https. Only with the site in debug or test mode is plain http accepted, and
then only on the machine itself (localhost, 127.0.0.1, ::1): the test suite's provider runs
there, and nothing that crosses a network carries tokens in clear text.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from authlib.integrations.flask_client import FlaskIntegration, FlaskOAuth2App
from flask import current_app

log = logging.getLogger(__name__)

SCOPE = "openid email profile"
DISCOVERY_PATH = "/.well-known/openid-configuration"
# Seconds the provider may take to answer one request from the site.
TIMEOUT_SECONDS = 10
# A discovery document read is used this long before it is read again.
DISCOVERY_KEPT_SECONDS = 300
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
_ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")

NOT_A_URL = (
    "Enter the issuer's URL, e.g. https://login.microsoftonline.com/<tenant id>/v2.0 or "
    "https://accounts.google.com."
)
NOT_HTTPS = (
    "The issuer's URL must start with https://, so that tokens never cross a network unencrypted."
)


class ProviderError(RuntimeError):
    """The provider could not be reached or its discovery document cannot be used; the message
    says why, for the admin and the log."""


def url_problem(url: str) -> str | None:
    """Why an issuer (or endpoint) URL cannot be used, or None when it can."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return NOT_A_URL
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.fragment:
        return NOT_A_URL
    if parts.query:
        return "The issuer's URL has no ?query part: copy it from the provider without one."
    if parts.scheme == "http":
        local_use = current_app.debug or current_app.testing
        if not (local_use and host in _LOOPBACK):
            return NOT_HTTPS
    return None


@dataclass(frozen=True)
class Discovery:
    """What the site uses of a provider's discovery document."""

    issuer: str
    metadata: dict


_read: dict[str, tuple[float, Discovery]] = {}
_reading = threading.Lock()


def discover(issuer: str, *, fresh: bool = False) -> Discovery:
    """The provider's discovery document, checked; kept DISCOVERY_KEPT_SECONDS unless `fresh`.

    The issuer it names must be the one configured (a trailing slash aside): ID tokens are
    checked against it, so a document naming another would refuse every sign-in.
    """
    with _reading:
        kept = _read.get(issuer)
    if kept and not fresh and time.monotonic() - kept[0] < DISCOVERY_KEPT_SECONDS:
        return kept[1]
    address = issuer.rstrip("/") + DISCOVERY_PATH
    try:
        response = requests.get(address, timeout=TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as failure:
        raise ProviderError(f"The provider did not answer at {address}: {failure}") from None
    if response.status_code != 200:
        raise ProviderError(
            f"The provider answered {response.status_code} at {address}: check the issuer URL."
        )
    try:
        metadata = response.json()
    except ValueError:
        raise ProviderError(f"{address} is not a discovery document (not JSON).") from None
    if not isinstance(metadata, dict):
        raise ProviderError(f"{address} is not a discovery document.")
    named = metadata.get("issuer")
    if not isinstance(named, str) or named.rstrip("/") != issuer.rstrip("/"):
        raise ProviderError(
            f"The discovery document names the issuer {str(named)[:200]!r}, not {issuer!r}: "
            "enter the issuer exactly as the provider's documentation gives it."
        )
    for name in _ENDPOINTS:
        value = metadata.get(name)
        if not isinstance(value, str) or url_problem(value):
            raise ProviderError(f"The discovery document has no usable {name}.")
    methods = metadata.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderError("The provider does not support PKCE with S256, which the site uses.")
    found = Discovery(issuer=named, metadata=metadata)
    with _reading:
        _read[issuer] = (time.monotonic(), found)
    return found


def forget_discoveries() -> None:
    """Read every provider's discovery document afresh next time (settings saved, tests)."""
    with _reading:
        _read.clear()


def oauth_client(discovery: Discovery, *, client_id: str, client_secret: str) -> FlaskOAuth2App:
    """Authlib's Flask client for the provider: the authorization code flow with PKCE (S256),
    state and nonce kept in the signed session cookie, and the ID token's signature (from the
    provider's JWKS), issuer, audience, expiry and nonce checked when it arrives."""
    metadata = {key: value for key, value in discovery.metadata.items() if not key.startswith("_")}
    client = FlaskOAuth2App(
        FlaskIntegration("sso"),
        name="sso",
        client_id=client_id,
        client_secret=client_secret,
        client_kwargs={
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "default_timeout": TIMEOUT_SECONDS,
        },
    )
    client.server_metadata = metadata  # as read: Authlib reads no document of its own
    return client
