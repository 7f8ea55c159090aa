"""What every page's view shares: who is signed in, and the one way a refusal is shown."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

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


@dataclass(frozen=True)
class Attempted(Generic[T]):
    """What `attempt` came to: true when the action was done, with what it returned."""

    done: bool
    result: T | None = None

    def __bool__(self) -> bool:
        return self.done


def attempt(
    action: Callable[[], T],
    *,
    success: str | Callable[[T], str] | None,
    form: FlaskForm | None = None,
) -> Attempted[T]:
    """Run one service call: flash `success` when it is done, show its refusal when it is not.

    The shape of nearly every POST view: `if attempt(lambda: services.x(...), success="Done."):`
    followed by the redirect, with the refusal shown by `show_refusal`. A `success` that depends
    on what the action returned is a function of it (`lambda area: f"Added {area.name}."`);
    None flashes nothing, for a view that says more itself. The result is `.result`.
    """
    try:
        result = action()
    except Refusal as refusal:
        show_refusal(refusal, form=form)
        return Attempted(done=False)
    if success is not None:
        flash(success if isinstance(success, str) else success(result), "success")
    return Attempted(done=True, result=result)


def form_problems(form: FlaskForm) -> str:
    """Everything wrong with a form's fields in one sentence, for a form posted from a page
    the view returns to with one message."""
    return " ".join(error for messages in form.errors.values() for error in messages)


def flash_form_errors(form: FlaskForm) -> None:
    """Flash what is wrong with each field, for a form posted from a page the view returns to."""
    for errors in form.errors.values():
        flash(" ".join(errors), "error")
