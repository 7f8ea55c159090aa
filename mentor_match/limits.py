"""Rate limits on the doors an attacker would try: log-in, reset mail, sign-up, /verify, the API.

Every limited door is counted twice, per client (its address) and per account (the email a
form names, the record code checked, the API token used), with Flask-Limiter. Counts live in
Redis when REDIS_URL is set, so every web process shares them, and in memory otherwise.
A refused request gets 429 with Retry-After, as a page or, under /api/, as JSON.
"""

from __future__ import annotations

import math
import time

from flask import Flask, Response, current_app, render_template, request
from flask_limiter import Limiter
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .accounts.services import normalise_email
from .api.tokens import bearer_token, digest_of

# A browser that has signed in to an account before carries this cookie (OWASP's "device
# cookie"): the account-wide log-in limit, which a stranger can exhaust, does not apply to it.
KNOWN_DEVICE_COOKIE = "known_device"
KNOWN_DEVICE_MAX_AGE = 180 * 24 * 3600


def client_address() -> str:
    """The client's address (behind PROXY_HOPS proxies, the one they saw; see create_app)."""
    return request.remote_addr or "unknown"


limiter = Limiter(key_func=client_address)


def _named_email() -> str:
    return normalise_email(request.form.get("email") or "")


def form_email() -> str:
    """The account a form names, so one address is limited whoever asks for it."""
    return "email:" + _named_email()


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="known-device")


def remember_device(response: Response, email: str) -> None:
    """Mark this browser as one the account's owner signs in from (after a successful log-in)."""
    response.set_cookie(
        KNOWN_DEVICE_COOKIE,
        _device_serializer().dumps(normalise_email(email)),
        max_age=KNOWN_DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def is_known_device() -> bool:
    """Whether this browser signed in before to the account the log-in form names."""
    value = request.cookies.get(KNOWN_DEVICE_COOKIE)
    if not value:
        return False
    try:
        email = _device_serializer().loads(value, max_age=KNOWN_DEVICE_MAX_AGE)
    except BadSignature:
        return False
    return email == _named_email()


def record_code() -> str:
    """The record a /verify request checks."""
    return "record:" + (request.form.get("code") or request.args.get("code") or "").strip().upper()


def api_token() -> str:
    """The API token a request carries (its digest), or the client when it carries none."""
    token = bearer_token()
    if token is not None:
        return "token:" + digest_of(token)  # the key never holds the token itself
    return "client:" + client_address()


def configured(name: str):
    """A limit read from the settings when the request comes, so tests and operators can set it."""
    return lambda: current_app.config[name]


def retry_after_seconds() -> int:
    """Whole seconds until the limit that refused this request lets it through again."""
    current = limiter.current_limit
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def too_many_message(seconds: int) -> str:
    wait = f"{seconds} seconds" if seconds < 120 else f"{math.ceil(seconds / 60)} minutes"
    return f"Too many attempts in a short time. Wait {wait} and try again."


def init_limits(app: Flask) -> None:
    """Attach the limiter: Redis storage when REDIS_URL is set, memory otherwise."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config.get("REDIS_URL") or "memory://")
    limiter.init_app(app)

    @app.errorhandler(429)
    def too_many_requests(error):
        return render_template(
            "errors/error.html",
            code=429,
            message=too_many_message(retry_after_seconds()),
        ), 429
