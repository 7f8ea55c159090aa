"""Rules for profiles: what a person says about themself, their micro skills, and finding people."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload

from ..errors import Refusal
from ..extensions import db
from ..models import (
    Area,
    AreaIntent,
    MicroSkill,
    Person,
    PersonArea,
    PersonSkill,
    Site,
    Stage,
    StageSource,
)
from ..organisation.services import only_verified_hosts
from ..stages.hosting import may_host
from ..stages.services import upcoming_hosted_seats
from ..tracking.hours import record_change

PEOPLE_PER_PAGE = 25


# --- Seeing a profile --------------------------------------------------------------------------


@dataclass
class ProfileView:
    """What a profile page shows: the person, their skills grouped by area, and their areas."""

    person: Person
    skills_by_area: list[tuple[Area, list[PersonSkill]]]
    masters_now: list[Area]
    wants_next: list[Area]


def visible_person(viewer: Person, person_id: int) -> Person | None:
    """The person whose profile the viewer may see: anyone active, or anyone at all for admins."""
    # The site comes in the same statement: the profile shows where the person works.
    person = db.session.get(Person, person_id, options=[joinedload(Person.site)])
    if person is None or not (person.active or viewer.is_admin):
        return None
    return person


# Profiles are among the most visited pages, and building these statements with their
# joins and loader options costs more CPU than running them: each is built once, with
# :person_id bound at each call.


@cache
def _held_skills_query() -> Select:
    """:person_id's micro skills with their skill and area loaded, by area and then name."""
    return (
        select(PersonSkill)
        .join(PersonSkill.micro_skill)
        .join(MicroSkill.area)
        .where(PersonSkill.person_id == bindparam("person_id"))
        .order_by(Area.name, MicroSkill.name)
        .options(contains_eager(PersonSkill.micro_skill).contains_eager(MicroSkill.area))
    )


@cache
def _areas_query() -> Select:
    """(intent, area) for each area on :person_id's profile."""
    return (
        select(PersonArea.intent, Area)
        .join(PersonArea.area)
        .where(PersonArea.person_id == bindparam("person_id"))
    )


def held_skills(person: Person) -> list[PersonSkill]:
    """A person's micro skills, ordered by area and then skill name."""
    return list(db.session.scalars(_held_skills_query(), {"person_id": person.id}))


def _group_by_area(held: list[PersonSkill]) -> list[tuple[Area, list[PersonSkill]]]:
    groups: list[tuple[Area, list[PersonSkill]]] = []
    for skill in held:
        if not groups or groups[-1][0] is not skill.micro_skill.area:
            groups.append((skill.micro_skill.area, []))
        groups[-1][1].append(skill)
    return groups


def _areas_by_intent(person: Person) -> dict[AreaIntent, list[Area]]:
    """The person's areas for each intent, by name, in one query."""
    by_intent: dict[AreaIntent, list[Area]] = {intent: [] for intent in AreaIntent}
    for intent, area in db.session.execute(_areas_query(), {"person_id": person.id}):
        by_intent[intent].append(area)
    for areas in by_intent.values():
        areas.sort(key=lambda area: area.name)
    return by_intent


def profile_view(person: Person) -> ProfileView:
    """Everything the profile page shows about a person."""
    areas = _areas_by_intent(person)
    return ProfileView(
        person=person,
        skills_by_area=_group_by_area(held_skills(person)),
        masters_now=areas[AreaIntent.MASTERS_NOW],
        wants_next=areas[AreaIntent.WANTS_NEXT],
    )


# --- Editing one's own profile -----------------------------------------------------------------


def all_areas() -> list[Area]:
    return list(db.session.scalars(select(Area).order_by(Area.name)))


def areas_by_ids(area_ids: list[int]) -> list[Area]:
    if not area_ids:
        return []
    return list(db.session.scalars(select(Area).where(Area.id.in_(area_ids)).order_by(Area.name)))


def area_ids_with_intent(person: Person, intent: AreaIntent) -> list[int]:
    return [link.area_id for link in person.areas if link.intent == intent]


def profile_problems(
    *, is_master: bool, is_apprentice: bool, masters_now_ids: list[int], wants_next_ids: list[int]
) -> dict[str, str]:
    """Why a profile's roles and areas do not fit together, by form field."""
    problems = {}
    if not (is_master or is_apprentice):
        problems["is_apprentice"] = "Choose master, apprentice, or both."
    if set(masters_now_ids) & set(wants_next_ids):
        problems["wants_next"] = (
            "An area cannot be both one you master now and one you want to master next."
        )
    return problems


def update_profile(
    person: Person,
    *,
    name: str,
    bio: str,
    site: Site | None,
    timezone_name: str,
    is_master: bool,
    is_apprentice: bool,
    masters_now: list[Area],
    wants_next: list[Area],
) -> list[str]:
    """Save a person's own profile and commit; returns notes on flags that no longer apply.

    Hosting needs the master role and developing the apprentice role, so dropping a role
    clears the matching flags rather than leaving skills no one can act on.
    """
    problems = profile_problems(
        is_master=is_master,
        is_apprentice=is_apprentice,
        masters_now_ids=[area.id for area in masters_now],
        wants_next_ids=[area.id for area in wants_next],
    )
    if problems:
        raise Refusal(problems=problems)
    notes = []
    if not is_master:
        hosted = [skill for skill in person.skills if skill.hosts]
        for skill in hosted:
            skill.hosts = False
        if hosted:
            notes.append(
                f"As you are no longer a master, you no longer host {len(hosted)} skill(s)."
            )
    if not is_apprentice:
        developed = [skill for skill in person.skills if skill.develops]
        for skill in developed:
            skill.develops = False
        if developed:
            notes.append(
                "As you are no longer an apprentice, "
                f"you no longer develop {len(developed)} skill(s)."
            )
    person.name = name.strip()
    person.bio = bio.strip()
    person.site = site
    person.timezone = timezone_name
    person.is_master = is_master
    person.is_apprentice = is_apprentice
    wanted = {(area.id, AreaIntent.MASTERS_NOW) for area in masters_now} | {
        (area.id, AreaIntent.WANTS_NEXT) for area in wants_next
    }
    kept = [link for link in person.areas if (link.area_id, link.intent) in wanted]
    present = {(link.area_id, link.intent) for link in kept}
    person.areas = kept + [
        PersonArea(area_id=area_id, intent=intent) for area_id, intent in sorted(wanted - present)
    ]
    db.session.commit()
    return notes


# --- Micro skills on a profile -----------------------------------------------------------------


def micro_skills_by_area() -> list[MicroSkill]:
    """Every micro skill in the taxonomy, ordered by area and then name."""
    return list(
        db.session.scalars(
            select(MicroSkill)
            .join(MicroSkill.area)
            .order_by(Area.name, MicroSkill.name)
            .options(contains_eager(MicroSkill.area))
        )
    )


def flag_problems(person: Person, stage: Stage, *, hosts: bool, develops: bool) -> dict[str, str]:
    """Why these hosting and developing flags cannot go with this stage and person, by field."""
    problems = {}
    if hosts:
        if not person.is_master:
            problems["hosts"] = (
                "Only masters can be observed. "
                "Tick \u201cI am a master\u201d on your profile first."
            )
        elif stage == Stage.APPRENTICE:
            problems["hosts"] = (
                "You can be observed only in a skill where you are a journeyman or a master."
            )
    if develops:
        if not person.is_apprentice:
            problems["develops"] = (
                "Only apprentices develop skills by observing. "
                "Tick \u201cI am an apprentice\u201d on your profile first."
            )
        elif stage == Stage.MASTER:
            problems["develops"] = (
                "You have mastered this skill already; choose a lower stage to develop it."
            )
    return problems


def held_skill(person: Person, micro_skill_id: int) -> PersonSkill | None:
    return db.session.get(PersonSkill, (person.id, micro_skill_id))


def add_skill(
    person: Person, micro_skill: MicroSkill, stage: Stage, *, hosts: bool, develops: bool
) -> PersonSkill:
    """Put a micro skill on a person's profile at a stage, with its flags, and commit."""
    duplicate = f"{micro_skill.full_name} is already on your profile; change it in the list below."
    if held_skill(person, micro_skill.id) is not None:
        raise Refusal(problems={"micro_skill": duplicate})
    problems = flag_problems(person, stage, hosts=hosts, develops=develops)
    if problems:
        raise Refusal(problems=problems)
    held = PersonSkill(
        person_id=person.id,
        micro_skill=micro_skill,
        stage=stage,
        hosts=hosts,
        develops=develops,
        stage_source=StageSource.SELF_DECLARED,
    )
    db.session.add(held)
    record_change(
        person,
        "person_skill",
        person.id,
        "declared",
        "",
        f"{micro_skill.key}: {stage.value} (self-declared)",
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The same skill added from two tabs at once: the primary key refuses the second.
        db.session.rollback()
        raise Refusal(problems={"micro_skill": duplicate}) from None
    return held


def change_skill(
    person: Person, held: PersonSkill, stage: Stage, *, hosts: bool, develops: bool
) -> None:
    """Change the stage and flags of a micro skill on a person's profile, and commit."""
    problems = flag_problems(person, stage, hosts=hosts, develops=develops)
    if problems:
        raise Refusal(problems=problems)
    if stage is not held.stage:
        _refuse_losing_hosted_seats(person, held, stage, hosts=hosts)
        before = f"{held.micro_skill.key}: {held.stage.value} ({held.stage_source.label})"
        # A stage the person changes is their own word again, whoever verified the old one.
        held.set_stage(stage, StageSource.SELF_DECLARED)
        record_change(
            person,
            "person_skill",
            person.id,
            "declared",
            before,
            f"{held.micro_skill.key}: {stage.value} (self-declared)",
        )
    held.hosts = hosts
    held.develops = develops
    db.session.commit()


def _refuse_losing_hosted_seats(
    person: Person, held: PersonSkill, stage: Stage, *, hosts: bool
) -> None:
    """Refuse a change of stage that would leave the person's upcoming sessions unhosted."""
    verified_only = only_verified_hosts()
    if not may_host(held, verified_only=verified_only):
        return
    after = PersonSkill(stage=stage, hosts=hosts, stage_source=StageSource.SELF_DECLARED)
    if may_host(after, verified_only=verified_only):
        return
    seats = upcoming_hosted_seats(person, held.micro_skill_id)
    if seats:
        why = (
            "is verified; a stage you change is self-declared until it is verified again"
            if stage is not Stage.APPRENTICE
            else "lets you host"
        )
        plural = "s" if seats != 1 else ""
        raise Refusal(
            problems={
                "stage": (
                    f"Your stage in {held.micro_skill.full_name} {why}, and you host "
                    f"{seats} upcoming seat{plural} in it. Cancel those sessions "
                    "first, or ask an admin to set your stage."
                )
            }
        )


def remove_skill(person: Person, held: PersonSkill) -> None:
    """Take a micro skill off a person's profile, and commit."""
    record_change(
        person,
        "person_skill",
        person.id,
        "removed",
        f"{held.micro_skill.key}: {held.stage.value} ({held.stage_source.label})",
        "",
    )
    person.skills.remove(held)
    db.session.commit()


# --- Finding people ----------------------------------------------------------------------------


class Mode(StrEnum):
    """How an observation would happen, which decides whether a site matters."""

    ANY = "any"
    IN_PERSON = "in_person"  # only people at a site
    VIDEO = "video"  # anyone, remote or not

    @property
    def label(self) -> str:
        return {
            Mode.ANY: "In person or video",
            Mode.IN_PERSON: "In person (people at a site)",
            Mode.VIDEO: "Video (anyone)",
        }[self]


@dataclass
class SearchCriteria:
    """What to look for; every part is optional and they all must hold together."""

    micro_skill: MicroSkill | None = None
    area: Area | None = None
    min_stage: Stage | None = None
    site: Site | None = None
    mode: Mode = Mode.ANY
    hosts_only: bool = False

    @property
    def concerns_skills(self) -> bool:
        return bool(self.micro_skill or self.area or self.min_stage or self.hosts_only)


@dataclass
class SearchResults:
    """One page of matching people, and for each the micro skills that made them match."""

    criteria: SearchCriteria
    page: Pagination
    matches: dict[int, list[PersonSkill]] = field(default_factory=dict)


def _skill_conditions(criteria: SearchCriteria) -> list:
    conditions = []
    if criteria.micro_skill is not None:
        conditions.append(PersonSkill.micro_skill_id == criteria.micro_skill.id)
    if criteria.area is not None:
        conditions.append(
            PersonSkill.micro_skill_id.in_(
                select(MicroSkill.id).where(MicroSkill.area_id == criteria.area.id)
            )
        )
    if criteria.min_stage is not None:
        conditions.append(
            PersonSkill.stage.in_([s for s in Stage if s.rank >= criteria.min_stage.rank])
        )
    if criteria.hosts_only:
        conditions.append(PersonSkill.hosts.is_(True))
    return conditions


def search_people(criteria: SearchCriteria, page: int = 1) -> SearchResults:
    """Active people who match the criteria, a page at a time, ordered by name."""
    people = select(Person).where(Person.active.is_(True))
    if criteria.site is not None:
        people = people.where(Person.site_id == criteria.site.id)
    if criteria.mode == Mode.IN_PERSON:
        people = people.where(Person.site_id.is_not(None))
    skill_conditions = _skill_conditions(criteria)
    if criteria.concerns_skills:
        people = people.where(exists().where(PersonSkill.person_id == Person.id, *skill_conditions))
    people = people.order_by(Person.name, Person.id)
    found = db.paginate(people, page=page, per_page=PEOPLE_PER_PAGE, error_out=False)
    results = SearchResults(criteria=criteria, page=found)
    ids = [person.id for person in found.items]
    if ids:
        held = db.session.scalars(
            select(PersonSkill)
            .join(PersonSkill.micro_skill)
            .join(MicroSkill.area)
            .where(PersonSkill.person_id.in_(ids), *skill_conditions)
            .order_by(Area.name, MicroSkill.name)
            .options(contains_eager(PersonSkill.micro_skill).contains_eager(MicroSkill.area))
        )
        for skill in held:
            results.matches.setdefault(skill.person_id, []).append(skill)
    return results
