"""Personal access tokens: made once and shown once, stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import request
from sqlalchemy import select

from ..errors import Refusal
from ..extensions import db
from ..models import ApiToken, Person, utcnow

TOKEN_PREFIX = "mm_"
PREFIX_LENGTH = 10  # "mm_" and the first seven random characters, to tell tokens apart
NAME_MAX = 100
# last_used_at is written at most this often, so busy pollers do not write on every call.
TOUCH_EVERY = timedelta(minutes=1)


def bearer_token() -> str | None:
    """The token in the request's `Authorization: Bearer <token>` header, if it has one."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def digest_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(person: Person, name: str) -> tuple[ApiToken, str]:
    """A new token for the person: the row (digest only) and the token, to show once."""
    name = (name or "").strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise Refusal(f"Give the token a name of 1 to {NAME_MAX} characters.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        person_id=person.id, name=name, digest=digest_of(token), prefix=token[:PREFIX_LENGTH]
    )
    db.session.add(row)
    db.session.commit()
    return row, token


def tokens_of(person: Person) -> list[ApiToken]:
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.person_id == person.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def own_token(person: Person, token_id: int) -> ApiToken | None:
    row = db.session.get(ApiToken, token_id)
    return row if row is not None and row.person_id == person.id else None


def revoke(row: ApiToken) -> None:
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        db.session.commit()


def person_for_token(token: str) -> Person | None:
    """The active person a live token belongs to, or None; notes when the token was used."""
    if not token:
        return None
    row = db.session.scalars(select(ApiToken).where(ApiToken.digest == digest_of(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    person = row.person
    if person is None or not person.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
        db.session.commit()
    return person
