"""Forms for editing a profile, managing micro skills, and searching for people."""

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import enum_coerce
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..extensions import db
from ..forms import TimezoneField, site_choices
from ..models import Area, MicroSkill, Site, Stage
from . import services
from .services import Mode, SearchCriteria

BIO_MAX_LENGTH = 2000


def _optional_int(value) -> int | None:
    """Coerce a select's value to an id, with the empty "any" choice as None."""
    return None if value in ("", None) else int(value)


def _optional_stage(value) -> Stage | None:
    return None if value in ("", None) else Stage(value)


def _stage_choices() -> list[SelectChoice]:
    return [SelectChoice(stage.value, stage.label) for stage in Stage]


def _area_choices() -> list[SelectChoice]:
    return [SelectChoice(area.id, area.name) for area in services.all_areas()]


def _micro_skill_choices() -> list[SelectChoice]:
    return [
        SelectChoice(skill.id, skill.name, optgroup=skill.area.name)
        for skill in services.micro_skills_by_area()
    ]


class AreaChoicesField(SelectMultipleField):
    """Areas of mastery as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label, **kwargs):
        super().__init__(
            label,
            coerce=int,
            choices=_area_choices,
            invalid_value_message="Choose areas from the list.",
            invalid_choice_message="Choose areas from the list.",
            **kwargs,
        )


class ProfileForm(FlaskForm):
    name = StringField(
        "Full name",
        validators=[
            DataRequired("Enter your name."),
            Length(max=120, message="Keep your name to 120 characters or fewer."),
        ],
    )
    bio = TextAreaField(
        "Bio",
        validators=[
            Length(
                max=BIO_MAX_LENGTH,
                message=f"Keep your bio to {BIO_MAX_LENGTH} characters or fewer.",
            )
        ],
        description="What you do, and what others could learn by watching you "
        f"(up to {BIO_MAX_LENGTH} characters).",
    )
    is_master = BooleanField("I am a master: others can learn by watching me work")
    is_apprentice = BooleanField("I am an apprentice: I want to learn by watching masters")
    site = SelectField(
        "Where you work",
        coerce=int,
        choices=site_choices,
        invalid_value_message="Choose a site from the list, or remote.",
        invalid_choice_message="Choose a site from the list, or remote.",
    )
    timezone = TimezoneField()
    masters_now = AreaChoicesField("Areas you master now")
    wants_next = AreaChoicesField("Areas you want to master next")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        problems = services.profile_problems(
            is_master=self.is_master.data,
            is_apprentice=self.is_apprentice.data,
            masters_now_ids=self.masters_now.data or [],
            wants_next_ids=self.wants_next.data or [],
        )
        for name, message in problems.items():
            self[name].errors.append(message)
        return valid and not problems


class SkillFlagsForm(FlaskForm):
    """A micro skill's stage and flags, as changed in the list of skills one holds."""

    stage = SelectField(
        "Your stage",
        coerce=enum_coerce(Stage),
        choices=_stage_choices,
        default=Stage.APPRENTICE,
        invalid_value_message="Choose a stage from the list.",
        invalid_choice_message="Choose a stage from the list.",
    )
    hosts = BooleanField(
        "I can be observed doing this",
        description="For masters, in skills where they are a journeyman or a master.",
    )
    develops = BooleanField(
        "I want to develop this",
        description="For apprentices, in skills they have not mastered yet.",
    )


class AddSkillForm(SkillFlagsForm):
    micro_skill = SelectField(
        "Micro skill",
        coerce=int,
        choices=_micro_skill_choices,
        invalid_value_message="Choose a micro skill from the list.",
        invalid_choice_message="Choose a micro skill from the list.",
    )

    def chosen_micro_skill(self) -> MicroSkill:
        return db.session.get(MicroSkill, self.micro_skill.data)


def _what_choices() -> list[SelectChoice]:
    choices = [SelectChoice("", "Any micro skill")]
    area = None
    for skill in services.micro_skills_by_area():
        if skill.area is not area:
            area = skill.area
            choices.append(
                SelectChoice(f"area-{area.id}", f"All of {area.name}", optgroup=area.name)
            )
        choices.append(SelectChoice(f"skill-{skill.id}", skill.name, optgroup=area.name))
    return choices


def _site_filter_choices() -> list[SelectChoice]:
    return [SelectChoice("", "Any site, or remote")] + [
        choice for choice in site_choices() if choice.value
    ]


class SearchForm(FlaskForm):
    """Search filters, read from the query string (a GET form, so no CSRF token)."""

    class Meta:
        csrf = False

    what = SelectField(
        "Micro skill or area",
        choices=_what_choices,
        default="",
        invalid_choice_message="Choose a micro skill or an area from the list.",
    )
    min_stage = SelectField(
        "At least at stage",
        coerce=_optional_stage,
        choices=lambda: [SelectChoice("", "Any stage")] + _stage_choices(),
        invalid_value_message="Choose a stage from the list.",
        invalid_choice_message="Choose a stage from the list.",
    )
    site = SelectField(
        "Site",
        coerce=_optional_int,
        choices=_site_filter_choices,
        invalid_value_message="Choose a site from the list.",
        invalid_choice_message="Choose a site from the list.",
    )
    mode = SelectField(
        "How",
        choices=lambda: [SelectChoice(mode.value, mode.label) for mode in Mode],
        default=Mode.ANY.value,
        invalid_choice_message="Choose in person, video, or either.",
    )
    hosts_only = BooleanField("Only people who can be observed doing it")

    def criteria(self) -> SearchCriteria:
        """The validated filters as search criteria."""
        kind, _, ident = (self.what.data or "").partition("-")
        return SearchCriteria(
            micro_skill=db.session.get(MicroSkill, int(ident)) if kind == "skill" else None,
            area=db.session.get(Area, int(ident)) if kind == "area" else None,
            min_stage=self.min_stage.data,
            site=db.session.get(Site, self.site.data) if self.site.data else None,
            mode=Mode(self.mode.data),
            hosts_only=self.hosts_only.data,
        )
