"""The signature of a signed webhook, as Stripe and GitHub sign theirs.

Header `Mentor-Match-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The
timestamp is inside the signed text, so a receiver that refuses old ones refuses replays.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

HEADER = "Mentor-Match-Signature"
# A receiver should refuse a signature older than this (our README's example does).
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A signing secret to show the admin once ("whsec_" tells it apart from other keys)."""
    return "whsec_" + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, *, timestamp: int) -> str:
    """The header value for `body` sent at `timestamp`."""
    digest = hmac.new(
        secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether `header` signs `body` with `secret` within `tolerance` seconds of `now`.

    What a receiver does; the site uses it in its tests and the README shows the same steps.
    """
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    stamp, given = fields.get("t", ""), fields.get("v1", "")
    if not stamp.isdigit() or not given:
        return False
    if abs((time.time() if now is None else now) - int(stamp)) > tolerance:
        return False
    expected = signature(secret, body, timestamp=int(stamp)).rpartition("v1=")[2]
    return hmac.compare_digest(expected, given)
