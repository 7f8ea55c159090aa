"""pages.attempt and show_refusal: how every view runs one action and shows its refusal."""

from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from mentor_match.errors import Refusal
from mentor_match.extensions import db
from mentor_match.models import Site
from mentor_match.pages import attempt, form_problems

from .database import count


class _SiteForm(FlaskForm):
    name = StringField("Name")


def _refuse():
    db.session.add(Site(name="Half-made", timezone="UTC"))
    db.session.flush()
    raise Refusal(problems={"name": "That name is taken.", "other": "Not a field here."})


def test_a_done_action_flashes_its_success_from_what_it_returned_and_hands_the_result_back(app):
    with app.test_request_context("/"):
        done = attempt(lambda: 41 + 1, success=lambda answer: f"The answer is {answer}.")
        assert bool(done) is True and done.result == 42
        assert get_flashed_messages(with_categories=True) == [("success", "The answer is 42.")]


def test_a_done_action_with_no_success_message_flashes_nothing(app):
    with app.test_request_context("/"):
        done = attempt(lambda: "saved", success=None)
        assert done and done.result == "saved"
        assert get_flashed_messages() == []


def test_a_refused_action_rolls_back_and_puts_each_problem_under_its_field(app):
    with app.test_request_context("/", method="POST", data={"name": "London"}):
        form = _SiteForm(meta={"csrf": False})
        assert form.validate()  # as every view does before it acts
        refused = attempt(_refuse, success=lambda _: "Never said.", form=form)
        assert bool(refused) is False and refused.result is None
        assert get_flashed_messages() == []
        assert form.name.errors == ["That name is taken."]
        assert form.form_errors == ["Not a field here."]
        assert form_problems(form) == "That name is taken. Not a field here."
    assert count(Site) == 0


def test_a_refused_action_without_a_form_flashes_the_refusal(app):
    with app.test_request_context("/"):
        refused = attempt(_refuse, success="Never said.")
        assert not refused
        assert get_flashed_messages(with_categories=True) == [
            ("error", "That name is taken. Not a field here.")
        ]
    assert count(Site) == 0
