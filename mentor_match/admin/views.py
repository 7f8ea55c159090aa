"""Admin pages: people and their access, areas and micro skills, sites, and the outbox."""

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..allowances import managers
from ..allowances.forms import ManagerForm
from ..errors import Refusal
from ..extensions import db
from ..inputs import page_arg
from ..models import Area, MicroSkill, OutboxMessage, Person, Site
from ..pages import attempt, current_person, show_refusal
from ..security import admin_required
from . import services
from .forms import PeopleSearchForm, SiteForm, TaxonomyForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.route("/")
@admin_required
def index():
    """Counts of people, skills, sites and mail, with links to manage each."""
    return render_template("admin/index.html", totals=services.site_totals())


# --- People ------------------------------------------------------------------------------------


def _back_to_people():
    """Return to the people list at the search and page the action was taken from."""
    return redirect(
        url_for(
            "admin.people", q=request.args.get("q") or None, page=request.args.get("page", type=int)
        )
    )


@bp.route("/people")
@admin_required
def people():
    """Everyone, searchable by name or email, with their roles and status."""
    form = PeopleSearchForm(formdata=request.args)
    text = (form.q.data or "") if form.validate() else ""
    page = services.find_people(text, page_arg())
    # Actions on a row carry the search and page, so the list comes back as it was.
    here = {"q": text or None, "page": page.page if page.page > 1 else None}
    return render_template("admin/people.html", form=form, page=page, here=here)


@bp.route("/people/<int:person_id>/deactivate", methods=["POST"])
@admin_required
def deactivate(person_id: int):
    """Stop a person signing in, and sign them out everywhere."""
    person = db.get_or_404(Person, person_id)
    attempt(
        lambda: services.deactivate_person(current_person(), person),
        success=f"{person.name} is deactivated and has been signed out.",
    )
    return _back_to_people()


@bp.route("/people/<int:person_id>/reactivate", methods=["POST"])
@admin_required
def reactivate(person_id: int):
    """Let a deactivated person sign in again."""
    person = db.get_or_404(Person, person_id)
    attempt(lambda: services.reactivate_person(person), success=f"{person.name} can sign in again.")
    return _back_to_people()


@bp.route("/people/<int:person_id>/grant-admin", methods=["POST"])
@admin_required
def grant_admin(person_id: int):
    """Make a person an admin."""
    person = db.get_or_404(Person, person_id)
    attempt(lambda: services.grant_admin(person), success=f"{person.name} is now an admin.")
    return _back_to_people()


@bp.route("/people/<int:person_id>/revoke-admin", methods=["POST"])
@admin_required
def revoke_admin(person_id: int):
    """Take admin rights from a person, unless they are the last admin."""
    person = db.get_or_404(Person, person_id)
    done = attempt(
        lambda: services.revoke_admin(person), success=f"{person.name} is no longer an admin."
    )
    if done and person.id == current_person().id:
        return redirect(url_for("home.dashboard"))
    return _back_to_people()


@bp.route("/people/<int:person_id>/manager", methods=["GET", "POST"])
@admin_required
def person_manager(person_id: int):
    """Set or clear who manages a person."""
    person = db.get_or_404(Person, person_id)
    form = ManagerForm(data={"manager": person.manager.email if person.manager else ""})
    if form.validate_on_submit():
        try:
            manager = managers.person_named(form.manager.data or "")
            changed = managers.set_manager(current_person(), person, manager)
        except Refusal as refusal:
            show_refusal(refusal, form=form)
        else:
            if not changed:
                flash("Nothing changed.", "info")
            elif manager:
                flash(f"{manager.name} now manages {person.name}.", "success")
            else:
                flash(f"{person.name} has no manager now: the admins decide.", "success")
            return redirect(url_for("admin.person_manager", person_id=person.id))
    return render_template(
        "admin/person_manager.html",
        person=person,
        form=form,
        people_choices=managers.active_people_choices(),
    )


# --- Taxonomy ----------------------------------------------------------------------------------


@bp.route("/areas", methods=["GET", "POST"])
@admin_required
def areas():
    """Areas of mastery, with how many micro skills and people each has; add one."""
    form = TaxonomyForm()
    if form.validate_on_submit():
        added = attempt(
            lambda: services.create_area(form.name.data, form.description.data or ""),
            success=lambda area: f"Added the area {area.name}. Now add its micro skills.",
            form=form,
        )
        if added:
            return redirect(url_for("admin.edit_area", area_id=added.result.id))
    return render_template("admin/areas.html", form=form, summaries=services.area_summaries())


def _render_area(area: Area, form: TaxonomyForm, skill_form: TaxonomyForm):
    return render_template(
        "admin/area.html",
        area=area,
        form=form,
        skill_form=skill_form,
        holders=services.area_holders(area),
        skill_holders=services.micro_skill_holders(area.micro_skills),
    )


@bp.route("/areas/<int:area_id>", methods=["GET", "POST"])
@admin_required
def edit_area(area_id: int):
    """Rename or describe an area, and see its micro skills."""
    area = db.get_or_404(Area, area_id)
    form = TaxonomyForm(obj=area)
    if form.validate_on_submit() and attempt(
        lambda: services.update_area(area, form.name.data, form.description.data or ""),
        success=lambda _: f"Saved the area {area.name}.",
        form=form,
    ):
        return redirect(url_for("admin.edit_area", area_id=area.id))
    return _render_area(area, form, TaxonomyForm(formdata=None, prefix="skill"))


@bp.route("/areas/<int:area_id>/delete", methods=["POST"])
@admin_required
def delete_area(area_id: int):
    """Delete an area with its micro skills, taking them off every profile."""
    area = db.get_or_404(Area, area_id)
    name, skills = area.name, len(area.micro_skills)
    services.delete_area(area)
    flash(f"Deleted the area {name} and its {skills} micro skill(s).", "success")
    return redirect(url_for("admin.areas"))


@bp.route("/areas/<int:area_id>/skills", methods=["POST"])
@admin_required
def create_micro_skill(area_id: int):
    """Add a micro skill to an area."""
    area = db.get_or_404(Area, area_id)
    skill_form = TaxonomyForm(prefix="skill")
    if skill_form.validate_on_submit() and attempt(
        lambda: services.create_micro_skill(
            area, skill_form.name.data, skill_form.description.data or ""
        ),
        success=lambda skill: f"Added the micro skill {skill.full_name}.",
        form=skill_form,
    ):
        return redirect(url_for("admin.edit_area", area_id=area.id))
    return _render_area(area, TaxonomyForm(formdata=None, obj=area), skill_form)


@bp.route("/skills/<int:micro_skill_id>", methods=["GET", "POST"])
@admin_required
def edit_micro_skill(micro_skill_id: int):
    """Rename or describe a micro skill."""
    skill = db.get_or_404(MicroSkill, micro_skill_id)
    form = TaxonomyForm(obj=skill)
    if form.validate_on_submit() and attempt(
        lambda: services.update_micro_skill(skill, form.name.data, form.description.data or ""),
        success=lambda _: f"Saved the micro skill {skill.full_name}.",
        form=form,
    ):
        return redirect(url_for("admin.edit_area", area_id=skill.area_id))
    holders = services.micro_skill_holders([skill])[skill.id]
    return render_template("admin/micro_skill.html", skill=skill, form=form, holders=holders)


@bp.route("/skills/<int:micro_skill_id>/delete", methods=["POST"])
@admin_required
def delete_micro_skill(micro_skill_id: int):
    """Delete a micro skill, taking it off every profile."""
    skill = db.get_or_404(MicroSkill, micro_skill_id)
    name, area_id = skill.full_name, skill.area_id
    services.delete_micro_skill(skill)
    flash(f"Deleted the micro skill {name}.", "success")
    return redirect(url_for("admin.edit_area", area_id=area_id))


# --- Sites -------------------------------------------------------------------------------------


@bp.route("/sites", methods=["GET", "POST"])
@admin_required
def sites():
    """Sites with how many people work at each; add one."""
    form = SiteForm()
    if form.validate_on_submit() and attempt(
        lambda: services.create_site(form.name.data, form.timezone.data),
        success=lambda site: f"Added the site {site.name}.",
        form=form,
    ):
        return redirect(url_for("admin.sites"))
    return render_template("admin/sites.html", form=form, summaries=services.site_summaries())


@bp.route("/sites/<int:site_id>", methods=["GET", "POST"])
@admin_required
def edit_site(site_id: int):
    """Rename a site or change its time zone."""
    site = db.get_or_404(Site, site_id)
    form = SiteForm(obj=site)
    if form.validate_on_submit() and attempt(
        lambda: services.update_site(site, form.name.data, form.timezone.data),
        success=lambda _: f"Saved the site {site.name}.",
        form=form,
    ):
        return redirect(url_for("admin.sites"))
    return render_template(
        "admin/site.html", site=site, form=form, people=services.site_people(site)
    )


@bp.route("/sites/<int:site_id>/delete", methods=["POST"])
@admin_required
def delete_site(site_id: int):
    """Delete a site; the people who worked there become remote."""
    site = db.get_or_404(Site, site_id)
    name = site.name
    moved = services.delete_site(site)
    flash(f"Deleted the site {name}; {moved} person(s) there are now remote.", "success")
    return redirect(url_for("admin.sites"))


# --- Outbox ------------------------------------------------------------------------------------


@bp.route("/outbox")
@admin_required
def outbox():
    """Mail the site has sent or kept, newest first."""
    return render_template("admin/outbox.html", page=services.outbox_page(page_arg()))


@bp.route("/outbox/<int:message_id>")
@admin_required
def outbox_message(message_id: int):
    """One outgoing mail with its body."""
    return render_template(
        "admin/outbox_message.html", message=db.get_or_404(OutboxMessage, message_id)
    )
