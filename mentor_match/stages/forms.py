"""Forms for verifying stages: an admin's ruling, a master's endorsement, an admin's stage."""

from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import HiddenInput

from ..models import Stage
from .services import MAX_REASON

_LONG = f"Keep it to {MAX_REASON} characters or fewer."


class _WaitingStageForm(FlaskForm):
    """Names one waiting stage, and the stage the page showed, so a changed claim is refused."""

    person_id = IntegerField(widget=HiddenInput(), validators=[InputRequired("Choose a person.")])
    micro_skill_id = IntegerField(
        widget=HiddenInput(), validators=[InputRequired("Choose the micro skill.")]
    )
    stage_seen = SelectField(
        widget=HiddenInput(),
        choices=[SelectChoice(s.value, s.value) for s in Stage],
        validators=[InputRequired("The page is out of date; look again.")],
    )

    @property
    def stage(self) -> Stage:
        return Stage(self.stage_seen.data)


class RulingForm(_WaitingStageForm):
    """An admin approves or declines a waiting stage; declining needs a reason."""

    decision = RadioField(
        "Decision",
        choices=[SelectChoice("approve", "Verify as claimed"), SelectChoice("decline", "Decline")],
        validators=[InputRequired("Choose to verify or decline.")],
    )
    reason = TextAreaField(
        "Reason, or a note for them",
        validators=[Optional(), Length(max=MAX_REASON, message=_LONG)],
        description="Needed to decline: they read it and can act on it.",
    )


class PeerEndorsementForm(_WaitingStageForm):
    """A verified master confirms another master's self-declared stage."""

    note = TextAreaField(
        "Note for them (optional)", validators=[Optional(), Length(max=MAX_REASON, message=_LONG)]
    )


class AdminStageForm(FlaskForm):
    """An admin sets a stage, up or down, with a reason the person reads."""

    stage = SelectField(
        "Stage",
        choices=[SelectChoice(s.value, s.label) for s in Stage],
        validators=[InputRequired("Choose a stage.")],
    )
    reason = TextAreaField(
        "Why",
        validators=[
            InputRequired("Give a reason: the person reads why their stage changed."),
            Length(max=MAX_REASON, message=_LONG),
        ],
    )


class RevokeForm(FlaskForm):
    """An admin takes back a verification, with a reason."""

    reason = TextAreaField(
        "Why",
        validators=[
            InputRequired("Give a reason: the person reads why."),
            Length(max=MAX_REASON, message=_LONG),
        ],
    )
