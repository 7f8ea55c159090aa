"""Who is calling the API: the person a bearer token acts as, and what that person may see."""

from __future__ import annotations

from functools import wraps

from flask import g

from ..extensions import db
from ..inputs import MAX_ID
from ..models import Person
from . import tokens
from .failures import ApiError


def token_required(view=None, *, admin: bool = False):
    """The request must carry a live token of an active person (and an admin's, if asked)."""

    def decorate(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            token = tokens.bearer_token()
            if token is None:
                raise ApiError(
                    401,
                    "unauthenticated",
                    "Send a personal access token: Authorization: Bearer <token>.",
                )
            person = tokens.person_for_token(token)
            if person is None:
                raise ApiError(
                    401,
                    "invalid_token",
                    "The token is unknown, revoked, or its person is inactive.",
                )
            if admin and not person.is_admin:
                raise ApiError(403, "forbidden", "Only admins may use this endpoint.")
            g.api_person = person
            return view(*args, **kwargs)

        return guarded

    return decorate(view) if view is not None else decorate


def me() -> Person:
    """The person the request's token acts as (set by `token_required`)."""
    return g.api_person


def visible_person(person_id: int) -> Person:
    """The person, if the caller may see them (themselves, or anyone for an admin), else 404."""
    caller = me()
    person = db.session.get(Person, person_id) if 1 <= person_id <= MAX_ID else None
    if person is None or not (caller.is_admin or person.id == caller.id):
        raise ApiError(404, "not_found", "No such person.")
    return person
