"""Rules for running the site: people and their access, skill taxonomy, sites, and the outbox."""

from __future__ import annotations

from dataclasses import dataclass

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import delete, func, or_, select, union, update
from sqlalchemy.exc import IntegrityError

from ..allowances.requests import hand_over_requests
from ..errors import Refusal
from ..extensions import db
from ..models import Area, MicroSkill, OutboxMessage, Person, PersonArea, PersonSkill, Site, slugify

PEOPLE_PER_PAGE = 25
MESSAGES_PER_PAGE = 25


def _name_refusal(message: str) -> Refusal:
    """A refusal of the name given for an area, micro skill or site: the form's "name" field."""
    return Refusal(problems={"name": message})


def _commit(name_clash: str) -> None:
    """Commit, or roll back and refuse the name when the unique constraint says no.

    The checks before each commit catch the usual cases; this catches the same name
    given at the same moment in two browser tabs.
    """
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise _name_refusal(name_clash) from None


# --- Dashboard ---------------------------------------------------------------------------------


@dataclass
class SiteTotals:
    """The counts the admin dashboard shows."""

    active_people: int
    inactive_people: int
    masters: int
    apprentices: int
    admins: int
    areas: int
    micro_skills: int
    sites: int
    outbox_messages: int


def _count(*conditions, model=Person) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0


def site_totals() -> SiteTotals:
    """How many people, skills, sites and mails the site has."""
    active = Person.active.is_(True)
    return SiteTotals(
        active_people=_count(active),
        inactive_people=_count(Person.active.is_(False)),
        masters=_count(active, Person.is_master.is_(True)),
        apprentices=_count(active, Person.is_apprentice.is_(True)),
        admins=_count(active, Person.is_admin.is_(True)),
        areas=_count(model=Area),
        micro_skills=_count(model=MicroSkill),
        sites=_count(model=Site),
        outbox_messages=_count(model=OutboxMessage),
    )


# --- People ------------------------------------------------------------------------------------


def find_people(text: str, page: int) -> Pagination:
    """Everyone whose name or email contains the text (everyone if it is empty), by name."""
    people = select(Person).order_by(Person.name, Person.id)
    text = text.strip().lower()
    if text:
        # Escape LIKE wildcards so a search for "50%" means exactly that.
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        people = people.where(
            or_(
                func.lower(Person.name).like(pattern, escape="\\"),
                func.lower(Person.email).like(pattern, escape="\\"),
            )
        )
    return db.paginate(people, page=page, per_page=PEOPLE_PER_PAGE, error_out=False)


def _refuse_if_last_admin(person: Person) -> None:
    """Refuse to take away the access of the only active admin left."""
    # Lock the active admins' rows (on PostgreSQL) so that two admins demoting or
    # deactivating each other at the same moment cannot leave the site with none.
    admin_ids = db.session.scalars(
        select(Person.id)
        .where(Person.is_admin.is_(True), Person.active.is_(True))
        .with_for_update()
    ).all()
    if not set(admin_ids) - {person.id}:
        name = person.name
        db.session.rollback()  # release the locks at once
        raise Refusal(f"{name} is the last admin. Make someone else an admin first.")


def deactivate_person(admin: Person, person: Person) -> None:
    """Stop a person signing in and end every session they have; commits."""
    if person.id == admin.id:
        raise Refusal("You cannot deactivate yourself. Ask another admin to do it.")
    if not person.active:
        raise Refusal(f"{person.name} is already deactivated.")
    if person.is_admin:
        _refuse_if_last_admin(person)
    person.active = False
    person.end_sessions()
    # A manager who leaves hands the requests they had still to decide to the admins.
    hand_over_requests(person, why=f"{person.name} was deactivated")
    db.session.commit()


def reactivate_person(person: Person) -> None:
    """Let a deactivated person sign in again; commits."""
    if person.active:
        raise Refusal(f"{person.name} is already active.")
    person.active = True
    db.session.commit()


def grant_admin(person: Person) -> None:
    """Make a person an admin; commits."""
    if person.is_admin:
        raise Refusal(f"{person.name} is already an admin.")
    if not person.active:
        raise Refusal(f"{person.name} is deactivated. Reactivate them first.")
    person.is_admin = True
    db.session.commit()


def revoke_admin(person: Person) -> None:
    """Take admin rights from a person, never from the last active admin; commits."""
    if not person.is_admin:
        raise Refusal(f"{person.name} is not an admin.")
    _refuse_if_last_admin(person)
    person.is_admin = False
    db.session.commit()


# --- Taxonomy: areas of mastery and their micro skills -----------------------------------------


@dataclass
class AreaSummary:
    """An area with how many micro skills it has and how many people hold it."""

    area: Area
    micro_skills: int
    holders: int


def _clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not slugify(name):
        raise _name_refusal("Use at least one letter or digit in the name.")
    return name


def _same_name(existing: list, name: str, keep_id: int | None):
    """The item among existing whose name makes the same key as name, other than keep_id."""
    key = slugify(name)
    return next(
        (item for item in existing if slugify(item.name) == key and item.id != keep_id), None
    )


def _check_area_name(name: str, keep_id: int | None = None) -> str:
    name = _clean_name(name)
    # Names are compared by their key (negotiation/...), as round files use it to name skills.
    clash = _same_name(list(db.session.scalars(select(Area))), name, keep_id)
    if clash is not None:
        raise _name_refusal(
            f"An area named \u201c{clash.name}\u201d already exists. Choose another name."
        )
    return name


def _check_micro_skill_name(area: Area, name: str, keep_id: int | None = None) -> str:
    name = _clean_name(name)
    clash = _same_name(area.micro_skills, name, keep_id)
    if clash is not None:
        raise _name_refusal(
            f"{area.name} already has a micro skill named \u201c{clash.name}\u201d. "
            "Choose another name."
        )
    return name


def area_holders(area: Area) -> int:
    """How many people hold a micro skill in the area or list the area on their profile."""
    people = union(
        select(PersonSkill.person_id)
        .join(MicroSkill, MicroSkill.id == PersonSkill.micro_skill_id)
        .where(MicroSkill.area_id == area.id),
        select(PersonArea.person_id).where(PersonArea.area_id == area.id),
    ).subquery()
    return db.session.scalar(select(func.count()).select_from(people)) or 0


def micro_skill_holders(micro_skills: list[MicroSkill]) -> dict[int, int]:
    """How many people hold each micro skill, by micro skill id."""
    ids = [skill.id for skill in micro_skills]
    counts = dict.fromkeys(ids, 0)
    if ids:
        rows = db.session.execute(
            select(PersonSkill.micro_skill_id, func.count())
            .where(PersonSkill.micro_skill_id.in_(ids))
            .group_by(PersonSkill.micro_skill_id)
        )
        counts.update(dict(rows.all()))
    return counts


def area_summaries() -> list[AreaSummary]:
    """Every area, by name, with its counts."""
    areas = db.session.scalars(select(Area).order_by(Area.name))
    return [AreaSummary(area, len(area.micro_skills), area_holders(area)) for area in areas]


def create_area(name: str, description: str) -> Area:
    """Add an area of mastery; commits."""
    area = Area(name=_check_area_name(name), description=description.strip())
    db.session.add(area)
    _commit(f"An area named \u201c{area.name}\u201d already exists. Choose another name.")
    return area


def update_area(area: Area, name: str, description: str) -> None:
    """Rename or redescribe an area; commits."""
    area.name = _check_area_name(name, keep_id=area.id)
    area.description = description.strip()
    _commit(f"An area named \u201c{area.name}\u201d already exists. Choose another name.")


def delete_area(area: Area) -> None:
    """Delete an area, its micro skills, and every profile's mention of them; commits."""
    # Done here rather than left to ON DELETE CASCADE, which SQLite skips unless told.
    db.session.execute(delete(PersonArea).where(PersonArea.area_id == area.id))
    db.session.delete(area)  # its micro skills and their holders go by the ORM cascade
    db.session.commit()


def create_micro_skill(area: Area, name: str, description: str) -> MicroSkill:
    """Add a micro skill to an area; commits."""
    skill = MicroSkill(name=_check_micro_skill_name(area, name), description=description.strip())
    area.micro_skills.append(skill)
    _commit(f"{area.name} already has a micro skill named \u201c{skill.name}\u201d.")
    return skill


def update_micro_skill(skill: MicroSkill, name: str, description: str) -> None:
    """Rename or redescribe a micro skill; commits."""
    skill.name = _check_micro_skill_name(skill.area, name, keep_id=skill.id)
    skill.description = description.strip()
    _commit(f"{skill.area.name} already has a micro skill named \u201c{skill.name}\u201d.")


def delete_micro_skill(skill: MicroSkill) -> None:
    """Delete a micro skill and take it off every profile; commits."""
    db.session.delete(skill)  # holders go by the ORM cascade
    db.session.commit()


# --- Sites -------------------------------------------------------------------------------------


def site_summaries() -> list[tuple[Site, int]]:
    """Every site, by name, with how many people work there."""
    counts = select(func.count()).where(Person.site_id == Site.id).scalar_subquery()
    return [
        (site, count)
        for site, count in db.session.execute(select(Site, counts).order_by(Site.name))
    ]


def site_people(site: Site) -> int:
    return _count(Person.site_id == site.id)


def _check_site_name(name: str, keep_id: int | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise _name_refusal("Enter a name.")
    clash = db.session.scalar(
        select(Site).where(func.lower(Site.name) == name.lower(), Site.id != (keep_id or 0))
    )
    if clash is not None:
        raise _name_refusal(
            f"A site named \u201c{clash.name}\u201d already exists. Choose another name."
        )
    return name


def create_site(name: str, timezone_name: str) -> Site:
    """Add a site; commits."""
    site = Site(name=_check_site_name(name), timezone=timezone_name)
    db.session.add(site)
    _commit(f"A site named \u201c{site.name}\u201d already exists. Choose another name.")
    return site


def update_site(site: Site, name: str, timezone_name: str) -> None:
    """Rename a site or change its time zone (people keep their own); commits."""
    site.name = _check_site_name(name, keep_id=site.id)
    site.timezone = timezone_name
    _commit(f"A site named \u201c{site.name}\u201d already exists. Choose another name.")


def delete_site(site: Site) -> int:
    """Delete a site, making its people remote; commits and says how many people moved."""
    # Done here rather than left to ON DELETE SET NULL, which SQLite skips unless told.
    moved = db.session.execute(
        update(Person).where(Person.site_id == site.id).values(site_id=None)
    ).rowcount
    db.session.delete(site)
    db.session.commit()
    return moved


# --- Outbox ------------------------------------------------------------------------------------


def outbox_page(page: int) -> Pagination:
    """Outgoing mail, newest first."""
    messages = select(OutboxMessage).order_by(
        OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
    )
    return db.paginate(messages, page=page, per_page=MESSAGES_PER_PAGE, error_out=False)
