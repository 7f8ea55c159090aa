"""Password policy (OWASP): 8 to 128 characters, not a common password, hashed with scrypt."""

import gzip
from functools import cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
MAX_LENGTH = 128
# The 20,000 most common passwords, as shipped by Django (BSD licence).
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt.gz")


@cache
def common_passwords() -> frozenset[str]:
    """The set of passwords too common to allow, lower-cased."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip().lower() for line in handle if line.strip())


def password_problem(password: str) -> str | None:
    """Why a password is refused, in words for the person choosing it, or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    if password.lower() in common_passwords():
        return "That password is one of the most common and easy to guess. Choose another."
    return None


def hash_password(password: str) -> str:
    """A salted scrypt hash of the password."""
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)
