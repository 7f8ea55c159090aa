"""The demo's people and their skills: accounts from the roster, stages drawn in the areas
they master and want, and the most-wanted skills kept scarce but hosted."""

import random
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

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
    slugify,
)
from .roster import AREAS, MOST_WANTED, ROSTER, DemoPersonSpec, demo_email


@dataclass(frozen=True)
class ScarceSkill:
    """A most-wanted micro skill: how many apprentices want it and how many masters host it."""

    full_name: str
    wanted_by: int
    hosted_by: int


def demo_areas() -> dict[str, Area]:
    """The areas the roster uses, by the roster's spelling (stored names share its key)."""
    # Reload even areas still in the session, so skills come in name order whether or not
    # the taxonomy was just created: the same seed must always draw the same skills.
    query = (
        select(Area)
        .options(selectinload(Area.micro_skills))
        .execution_options(populate_existing=True)
    )
    by_key = {slugify(area.name): area for area in db.session.scalars(query)}
    return {name: by_key[slugify(name)] for name in AREAS}


def build_person(
    spec: DemoPersonSpec, sites: dict[str, Site], areas: dict[str, Area], password_hash: str
) -> Person:
    """The person's account, site or zone, and the areas they master and want."""
    site = sites.get(spec.place)
    person = Person(
        name=spec.name,
        email=demo_email(spec.name),
        password_hash=password_hash,
        is_admin=spec.is_admin,
        is_master=spec.masters is not None,
        is_apprentice=spec.wants is not None,
        site=site,
        timezone=site.timezone if site else spec.place,
        bio=f"{spec.title}. {spec.bio}",
    )
    if spec.masters:
        person.areas.append(PersonArea(area=areas[spec.masters], intent=AreaIntent.MASTERS_NOW))
    if spec.wants:
        person.areas.append(PersonArea(area=areas[spec.wants], intent=AreaIntent.WANTS_NEXT))
    return person


def mastered_stage(roll: float, *, scarce: bool, scarce_master_share: float = 0.2) -> Stage | None:
    """A master's stage in a skill of the area they master, from a roll in [0, 1): a master
    (55%), a journeyman (35%) or none; in a scarce skill a master only as often as
    `scarce_master_share`, else an apprentice."""
    if scarce:
        # Few masters can show the skills everyone wants; most are still learning them.
        return Stage.MASTER if roll < scarce_master_share else Stage.APPRENTICE
    if roll < 0.55:
        return Stage.MASTER
    if roll < 0.9:
        return Stage.JOURNEYMAN
    return None


def give_skills(
    person: Person,
    spec: DemoPersonSpec,
    areas: dict[str, Area],
    most_wanted: tuple[MicroSkill, ...],
    rng: random.Random,
) -> None:
    """Stages in the mastered area (hosted where journeyman or master) and the wanted area."""
    if spec.masters:
        hosted = 0
        for skill in areas[spec.masters].micro_skills:
            stage = mastered_stage(rng.random(), scarce=skill in most_wanted)
            if stage is None:
                continue
            hosts = stage != Stage.APPRENTICE
            hosted += hosts
            person.skills.append(
                PersonSkill(micro_skill=skill, stage=stage, hosts=hosts, develops=False)
            )
        if hosted < 2:
            for held in person.skills:
                if not held.hosts and held.micro_skill not in most_wanted:
                    held.stage, held.hosts = Stage.MASTER, True
                    hosted += 1
                    if hosted == 2:
                        break
    if spec.wants:
        # Most apprentices of an area ask for its most-wanted skill, plus two or three others.
        candidates = areas[spec.wants].micro_skills
        wanted = [skill for skill in candidates if skill in most_wanted and rng.random() < 0.85]
        others = [skill for skill in candidates if skill not in most_wanted]
        wanted += rng.sample(others, rng.randint(2, 3))
        for skill in sorted(wanted, key=lambda s: s.name):
            stage = Stage.JOURNEYMAN if rng.random() < 0.25 else Stage.APPRENTICE
            person.skills.append(
                PersonSkill(micro_skill=skill, stage=stage, hosts=False, develops=True)
            )


def ensure_most_wanted_are_hosted(
    people: dict[str, Person], most_wanted: tuple[MicroSkill, ...]
) -> None:
    """Scarce, not impossible: an area's first master hosts its most-wanted skill if nobody
    does."""
    for (area, _), skill in zip(MOST_WANTED, most_wanted, strict=True):
        if scarcity(skill, people.values()).hosted_by:
            continue
        master = next(people[spec.name] for spec in ROSTER if spec.masters == area)
        held = next((h for h in master.skills if h.micro_skill is skill), None)
        if held is None:
            held = PersonSkill(micro_skill=skill, develops=False)
            master.skills.append(held)
        held.stage, held.hosts = Stage.MASTER, True


def scarcity(skill: MicroSkill, people: Iterable[Person]) -> ScarceSkill:
    """How many of these people want the skill and how many host it."""
    wanted = hosted = 0
    for person in people:
        for held in person.skills:
            if held.micro_skill is skill:
                wanted += held.develops
                hosted += held.hosts
    return ScarceSkill(skill.full_name, wanted, hosted)
