"""The verification form: a code as typed, and optionally a pasted record or credential."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from . import services

# A pasted document is a few kilobytes; this leaves room for a long career.
MAX_DOCUMENT_LENGTH = 200_000


class VerifyForm(FlaskForm):
    """Check a record by its code, and a copy of it if the visitor has one."""

    code = StringField(
        "Verification code",
        validators=[Optional(), Length(max=60)],
        description=f"As printed on the record, e.g. {services.EXAMPLE_CODE}. "
        "Capitals, spaces and dashes do not matter.",
        render_kw={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"},
    )
    document = TextAreaField(
        "Record document or credential (optional)",
        validators=[Optional(), Length(max=MAX_DOCUMENT_LENGTH)],
        description="Paste the JSON file or the Open Badges credential (.jwt) you were given to "
        "check that it is exactly what the site signed.",
        render_kw={"spellcheck": "false", "rows": 8},
    )

    def validate_code(self, field: StringField) -> None:
        if field.data and services.normalise_code(field.data) is None:
            raise ValidationError("A code is 20 letters and digits, in four groups of five.")
        if not field.data and not (self.document.data or "").strip():
            raise ValidationError("Enter the verification code.")

    def validate_document(self, field: TextAreaField) -> None:
        if not (field.data or "").strip():
            return
        try:
            pasted = services.read_document(field.data)
        except services.DocumentError as error:
            raise ValidationError(str(error)) from None
        if not self.code.data and pasted.code is None:
            raise ValidationError("This document has no code: enter the verification code above.")
