"""What every page's view shares: who is signed in, and the one way a refusal is shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import flash
from flask_login import current_user
from flask_wtf import FlaskForm

from .errors import WHOLE_FORM, Refusal
from .extensions import db
from .models import Person

T = TypeVar("T")


def current_person() -> Person:
    """The signed-in person as the model itself (not Flask-Login's proxy), for services."""
    return current_user._get_current_object()


def show_refusal(refusal: Refusal, *, form: FlaskForm | None = None) -> None:
    """Say why an action was refused, and drop anything the failed action left in the session.

    With a form, each problem goes under the field it names (or above the form when it names
    none) so the page re-rendered with that form shows it in place; without one, the message is
    flashed for the page the view redirects to.
    """
    db.session.rollback()
    if form is None:
        flash(str(refusal), "error")
        return
    problems = refusal.problems or {WHOLE_FORM: str(refusal)}
    for name, message in problems.items():
        if name != WHOLE_FORM and name in form:
            form[name].errors.append(message)
        else:
            form.form_errors.append(message)


def attempt(action: Callable[[], T], *, success: str, form: FlaskForm | None = None) -> bool:
    """Run one service call: flash `success` when it is done, show its refusal when it is not.

    The shape of nearly every POST view: `if attempt(lambda: services.x(...), success="Done."):`
    followed by the redirect, with the refusal shown by `show_refusal`.
    """
    try:
        action()
    except Refusal as refusal:
        show_refusal(refusal, form=form)
        return False
    flash(success, "success")
    return True


def flash_form_errors(form: FlaskForm) -> None:
    """Flash what is wrong with each field, for a form posted from a page the view returns to."""
    for errors in form.errors.values():
        flash(" ".join(errors), "error")
