"""Settings read from the environment, with defaults that run with no other service."""
import os
import tempfile
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Production-leaning defaults; every one can be overridden by an environment variable."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "")
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
    SESSION_COOKIE_SECURE = _flag("COOKIE_SECURE", True)

    # At most this many failed log-ins per account per hour, then a lock-out message.
    LOGIN_FAILURES_PER_HOUR = 100
    PASSWORD_RESET_MAX_AGE = timedelta(hours=1)
    # An invitation to a person added by import: its set-your-password link lasts a week.
    INVITATION_MAX_AGE = timedelta(days=7)

    # Mail: SMTP when MAIL_SERVER is set, otherwise the outbox an admin reads on the site.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "587"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _flag("MAIL_USE_TLS", True)
    MAIL_SENDER = os.environ.get("MAIL_SENDER", "Mentor Match <no-reply@mentor-match.local>")

    # Used to build absolute links in mail (password resets, invitations).
    SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:5000")

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


class TestConfig(Config):
    """Settings for the test suite: a throwaway database, no real mail, fast hashing off."""

    TESTING = True
    SECRET_KEY = "test-secret-key"
    # A file, not an in-memory database, so background threads and worker processes see it.
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL") or (
        f"sqlite:///{tempfile.gettempdir()}/mentor-match-tests-{os.getpid()}.sqlite"
    )
    REDIS_URL = ""
    ROUND_HEARTBEAT_SECONDS = 0.2
    SESSION_COOKIE_SECURE = False
    MAIL_SERVER = ""
