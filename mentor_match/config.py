"""Settings read from the environment, with defaults that run with no other service."""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, *, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production-leaning defaults; every one can be overridden by an environment variable."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    # Signs Open Badges credentials (ES256): the PEM text of an EC P-256 private key, the same in
    # every web process. Empty: the site makes one once in instance/credential_signing_key.pem.
    CREDENTIAL_SIGNING_KEY = os.environ.get("CREDENTIAL_SIGNING_KEY", "")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{PROJECT_ROOT / 'instance' / 'mentor_match.sqlite'}"
    )
    # A pooled connection idle this long is checked (one round trip) before a request uses it;
    # see extensions.init_connection_checks.
    DATABASE_CHECK_AFTER_IDLE_SECONDS = 10.0

    # Sessions: idle timeout 30 minutes (activity refreshes it, at most once a minute:
    # security.SessionCookies), absolute limit 12 hours.
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("COOKIE_SECURE", default=True)

    # After this many failed log-ins in an hour from one client to one account, that client is
    # locked out of that account for the hour; the owner, from anywhere else, still gets in.
    LOGIN_FAILURES_PER_HOUR = 100

    # Rate limits (mentor_match/limits.py), in Flask-Limiter's notation. Counted in Redis when
    # REDIS_URL is set (every web process shares the counts), otherwise in this process' memory.
    RATELIMIT_ENABLED = _flag("RATELIMIT_ENABLED", default=True)
    RATELIMIT_HEADERS_ENABLED = True  # Retry-After on every 429
    RATELIMIT_KEY_PREFIX = "mentor-match"
    # A Redis outage must not close the log-in page: count in memory until it is back.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    # Behind this many reverse proxies, the client's address is the one they add to
    # X-Forwarded-For (and https from X-Forwarded-Proto); 0 trusts no such header.
    PROXY_HOPS = int(os.environ.get("PROXY_HOPS", "0"))
    # From the environment as well: the scale-out test sets a low one to count it across processes.
    LOGIN_LIMIT_PER_CLIENT = os.environ.get("LOGIN_LIMIT_PER_CLIENT", "20 per minute;200 per hour")
    # Failed log-ins to one account from any client; a browser that signed in to the account
    # before (its owner's, known by a signed cookie) is not held back by it.
    LOGIN_LIMIT_PER_ACCOUNT = "10 per minute;100 per hour"
    RESET_LIMIT_PER_CLIENT = "5 per minute;30 per hour"
    RESET_LIMIT_PER_ACCOUNT = "2 per 10 minutes;5 per day"
    SIGNUP_LIMIT_PER_CLIENT = "5 per minute;30 per hour"
    SIGNUP_LIMIT_PER_ACCOUNT = "2 per 10 minutes;5 per day"
    VERIFY_LIMIT_PER_CLIENT = "30 per minute;300 per hour"
    VERIFY_LIMIT_PER_ACCOUNT = "60 per minute"
    API_LIMIT_PER_CLIENT = "300 per minute"
    API_LIMIT_PER_ACCOUNT = "120 per minute;3000 per hour"
    PASSWORD_RESET_MAX_AGE = timedelta(hours=1)
    # An invitation to a person added by import: its set-your-password link lasts a week.
    INVITATION_MAX_AGE = timedelta(days=7)
    # The link that confirms a self sign-up's address.
    SIGNUP_CONFIRM_MAX_AGE = timedelta(days=2)

    # Mail: SMTP when MAIL_SERVER is set, otherwise the outbox an admin reads on the site.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    # STARTTLS on MAIL_PORT (587); MAIL_USE_SSL instead speaks TLS from the start (port 465).
    MAIL_USE_TLS = _flag("MAIL_USE_TLS", default=True)
    MAIL_USE_SSL = _flag("MAIL_USE_SSL", default=False)
    # The server's certificate is always verified: against the system's authorities, or this
    # PEM file of a private CA (a relay inside the organisation with its own certificates).
    MAIL_CA_FILE = os.environ.get("MAIL_CA_FILE", "")
    # Seconds each step of the SMTP conversation may take before the attempt counts as failed.
    MAIL_TIMEOUT = float(os.environ.get("MAIL_TIMEOUT", "10"))
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Mentor Match <no-reply@mentor-match.local>")

    # Where people reach the site, e.g. https://mentor.example.org: every absolute link the site
    # writes (mail, calendar feeds, records) is built on it, never on a request's Host header.
    # Required outside debug and tests (create_app refuses to start without it).
    SITE_URL = os.environ.get("SITE_URL", "")
    # Host names requests may carry; others get 400. Empty means SITE_URL's host alone.
    TRUSTED_HOSTS = [
        host.strip() for host in os.environ.get("TRUSTED_HOSTS", "").split(",") if host.strip()
    ] or None

    # The largest request body accepted; the views that take uploads (the people import, a
    # round's solution) allow more for themselves (inputs.allows_upload).
    MAX_CONTENT_LENGTH = 1024 * 1024

    # Virtual sessions meet at VIDEO_BASE_URL/<the session's unguessable room name>.
    VIDEO_BASE_URL = os.environ.get("VIDEO_BASE_URL") or "https://meet.jit.si"

    # Matching rounds: with a Redis URL, runs and round mail go to RQ workers (`make worker`);
    # without one, the site runs them in a background thread.
    REDIS_URL = os.environ.get("REDIS_URL", "")
    ROUND_TIME_LIMIT = float(os.environ.get("ROUND_TIME_LIMIT", "60"))
    # A running run's worker writes a heartbeat this often; one silent this long is failed.
    ROUND_HEARTBEAT_SECONDS = float(os.environ.get("ROUND_HEARTBEAT_SECONDS", "2"))
    ROUND_RUN_STALE_SECONDS = float(os.environ.get("ROUND_RUN_STALE_SECONDS", "30"))

    # Webhooks (mentor_match/webhooks): how long a receiver may take to answer a post, and
    # whether endpoints on private networks (an intranet system) may be posted to.
    WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
    WEBHOOK_ALLOW_PRIVATE_ADDRESSES = _flag("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False)
    # Chat messages give times in UTC and in this zone, the site's default.
    CHAT_TIME_ZONE = os.environ.get("CHAT_TIME_ZONE", "Europe/London")

    # Logs (mentor_match/logs.py): "json", one object per line for a log collector, or "text"
    # for a person. Empty: text in debug or on a terminal (make demo), else json.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "")
    # /readyz: how long the database and Redis may take to answer before they count as down.
    READINESS_TIMEOUT_SECONDS = float(os.environ.get("READINESS_TIMEOUT_SECONDS", "2"))


class TestConfig(Config):
    """Settings for the test suite: a throwaway database, no real mail, fast hashing off."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    # Flask's test client asks for http://localhost/; the browser tests' server is 127.0.0.1.
    SITE_URL = "http://localhost"
    TRUSTED_HOSTS = ["localhost", "127.0.0.1"]
    # A file, not an in-memory database, so background threads and worker processes see it.
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tempfile.gettempdir()}/mentor-match-tests-{os.getpid()}.sqlite"
    )
    REDIS_URL = ""
    # Tests sign in hundreds of times from one address; tests/test_rate_limits.py turns it on.
    RATELIMIT_ENABLED = False
    ROUND_HEARTBEAT_SECONDS = 0.2
    SESSION_COOKIE_SECURE = False
    MAIL_SERVER = ""
