"""Number fields: what was typed comes back as typed, beside its error.

A browser empties an <input type=number> that holds what is not a number and sends nothing,
so the form macro renders number fields as text boxes with a number keyboard (inputmode).
"""

import re
from html import unescape

from flask import render_template_string
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DecimalField, FloatField, IntegerField

from .factories import make_admin


def _input(page: str, name: str) -> str:
    match = re.search(rf'<input [^>]*name="{name}"[^>]*>', page)
    assert match, name
    return match.group(0)


class _Numbers(FlaskForm):
    class Meta:
        csrf = False

    whole = IntegerField("Whole", render_kw={"min": 0, "max": 9})
    real = FloatField("Real")
    exact = DecimalField("Exact")


def test_the_form_macro_renders_number_fields_as_text_that_keeps_what_was_typed(app):
    typed = MultiDict({"whole": "twelve", "real": "1,5", "exact": "3 and a half"})
    with app.test_request_context():
        form = _Numbers(formdata=typed)
        assert not form.validate()
        page = render_template_string(
            '{% from "_forms.html" import field %}'
            "{{ field(form.whole) }}{{ field(form.real) }}{{ field(form.exact, step='any') }}",
            form=form,
        )
    for name, value, keyboard in (
        ("whole", "twelve", "numeric"),
        ("real", "1,5", "decimal"),
        ("exact", "3 and a half", "decimal"),
    ):
        tag = _input(page, name)
        assert 'type="text"' in tag and f'value="{value}"' in tag, tag
        assert f'inputmode="{keyboard}"' in tag and 'aria-invalid="true"' in tag, tag
        assert "min=" not in tag and "max=" not in tag and "step=" not in tag, tag
    assert 'id="whole-error">Not a valid integer value.</p>' in page


def test_a_word_in_the_notice_period_comes_back_with_its_error(client, login):
    login(make_admin("Morgan Admin"))
    page = unescape(client.post("/admin/booking", data={"notice_hours": "twelve"}).get_data(True))
    tag = _input(page, "notice_hours")
    assert 'type="text"' in tag and 'value="twelve"' in tag and 'inputmode="numeric"' in tag
    assert "Choose from 0 to 336 hours (two weeks)." in page
    assert "Please correct the fields marked below; nothing has been saved." in page


def test_a_decimal_comma_in_a_stage_threshold_comes_back_with_its_error(client, login):
    login(make_admin("Morgan Admin"))
    response = client.post(
        "/admin/stages",
        data={
            "journeyman_hours": "40,5",
            "journeyman_rating": "3.5",
            "master_hours": "120",
            "master_rating": "4.2",
        },
    )
    page = unescape(response.get_data(as_text=True))
    tag = _input(page, "journeyman_hours")
    assert 'type="text"' in tag and 'value="40,5"' in tag and 'inputmode="decimal"' in tag
    assert "Enter a number, such as 40 or 3.5." in page
