"""Forms for importing people: the upload, and the confirmation that carries it forward."""

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField
from wtforms.validators import DataRequired


class UploadForm(FlaskForm):
    people = FileField(
        "People file (CSV, UTF-8)",
        validators=[FileRequired("Choose a CSV file to upload.")],
        description="At most 5 MB and 20,000 rows. Nothing is saved until you confirm the preview.",
    )


class ConfirmForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    trust_stages = BooleanField(
        "Trust these stages: the stages in this file were verified by the organisation; "
        "mark them as verified (imported)",
        description="Leave it unticked if people chose their own stages: the stages then "
        "arrive self-declared and wait for an admin, or a verified master, to "
        "verify them.",
    )
