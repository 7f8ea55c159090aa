"""Profile pages: seeing a person, editing your own profile and skills, and finding people."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..allowances.forms import ManagerForm
from ..allowances.managers import active_people_choices
from ..forms import REMOTE, site_from_choice
from ..inputs import page_arg
from ..models import AreaIntent
from ..pages import attempt, current_person
from ..sso.services import sso_sign_in_of
from . import services
from .forms import AddSkillForm, ProfileForm, SearchForm, SkillFlagsForm

bp = Blueprint("profiles", __name__)


@bp.route("/people/<int:person_id>")
@login_required
def show(person_id: int):
    """A person's profile: roles, place, bio, micro skills and areas."""
    person = services.visible_person(current_person(), person_id)
    if person is None:
        abort(404)
    return render_template("profiles/show.html", profile=services.profile_view(person))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def edit():
    """Edit your own name, bio, place, time zone, roles and areas."""
    person = current_person()
    form = ProfileForm(
        data={
            "name": person.name,
            "bio": person.bio,
            "site": person.site_id or REMOTE,
            "timezone": person.timezone,
            "is_master": person.is_master,
            "is_apprentice": person.is_apprentice,
            "masters_now": services.area_ids_with_intent(person, AreaIntent.MASTERS_NOW),
            "wants_next": services.area_ids_with_intent(person, AreaIntent.WANTS_NEXT),
        }
    )
    if form.validate_on_submit():
        saved = attempt(
            lambda: services.update_profile(
                person,
                name=form.name.data,
                bio=form.bio.data or "",
                site=site_from_choice(form.site.data),
                timezone_name=form.timezone.data,
                is_master=form.is_master.data,
                is_apprentice=form.is_apprentice.data,
                masters_now=services.areas_by_ids(form.masters_now.data),
                wants_next=services.areas_by_ids(form.wants_next.data),
            ),
            success="Your profile has been saved.",
            form=form,
        )
        if saved:
            for note in saved.result:
                flash(note, "info")
            return redirect(url_for("profiles.show", person_id=person.id))
    manager_form = ManagerForm(
        formdata=None, data={"manager": person.manager.email if person.manager else ""}
    )
    return render_template(
        "profiles/edit.html",
        form=form,
        sso=sso_sign_in_of(person),
        manager_form=manager_form,
        people_choices=active_people_choices(),
    )


def _render_skills(add_form: AddSkillForm, failed: tuple[int, SkillFlagsForm] | None = None):
    """The skills page: what you hold, each with its own change form, and the add form."""
    person = current_person()
    rows = []
    for held in services.held_skills(person):
        if failed and failed[0] == held.micro_skill_id:
            change_form = failed[1]
        else:
            change_form = SkillFlagsForm(
                formdata=None, obj=held, prefix=f"skill-{held.micro_skill_id}"
            )
        rows.append((held, change_form))
    return render_template("profiles/skills.html", rows=rows, add_form=add_form)


@bp.route("/profile/skills", methods=["GET", "POST"])
@login_required
def skills():
    """Your micro skills: add one with a stage and flags, or change and remove those you hold."""
    form = AddSkillForm()
    if form.validate_on_submit() and attempt(
        lambda: services.add_skill(
            current_person(),
            form.chosen_micro_skill(),
            form.stage.data,
            hosts=form.hosts.data,
            develops=form.develops.data,
        ),
        success=lambda held: f"Added {held.micro_skill.full_name}.",
        form=form,
    ):
        return redirect(url_for("profiles.skills"))
    return _render_skills(form)


def _own_held_skill(micro_skill_id: int):
    held = services.held_skill(current_person(), micro_skill_id)
    if held is None:
        abort(404)
    return held


@bp.route("/profile/skills/<int:micro_skill_id>", methods=["POST"])
@login_required
def change_skill(micro_skill_id: int):
    """Change the stage and flags of a micro skill you hold."""
    held = _own_held_skill(micro_skill_id)
    form = SkillFlagsForm(prefix=f"skill-{micro_skill_id}")
    if form.validate_on_submit() and attempt(
        lambda: services.change_skill(
            current_person(),
            held,
            form.stage.data,
            hosts=form.hosts.data,
            develops=form.develops.data,
        ),
        success=lambda _: f"Saved {held.micro_skill.full_name}.",
        form=form,
    ):
        return redirect(url_for("profiles.skills"))
    if not form.errors:
        form.form_errors.append("That change could not be saved; please try again.")
    return _render_skills(AddSkillForm(formdata=None), failed=(micro_skill_id, form))


@bp.route("/profile/skills/<int:micro_skill_id>/remove", methods=["POST"])
@login_required
def remove_skill(micro_skill_id: int):
    """Take a micro skill off your profile."""
    held = _own_held_skill(micro_skill_id)
    name = held.micro_skill.full_name
    services.remove_skill(current_person(), held)
    flash(f"Removed {name} from your profile.", "success")
    return redirect(url_for("profiles.skills"))


@bp.route("/people")
@login_required
def search():
    """Find people by micro skill or area, stage, site and how you would observe them."""
    form = SearchForm(formdata=request.args)
    filtered = any(key != "page" for key in request.args)
    if filtered and not form.validate():
        return render_template("profiles/search.html", form=form, results=None), 400
    criteria = form.criteria() if filtered else services.SearchCriteria()
    results = services.search_people(criteria, page=page_arg())
    return render_template("profiles/search.html", form=form, results=results)
