"""Export people in the format the import reads (see ``imports.people_file``).

The file carries stages, not where they come from: a file's word about its own
verification is what the import's "trust these stages" box decides, so a source column
could not be read back as it is written. Re-importing an export changes no stage and so
keeps every stage's source.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import MicroSkill, MonthPlan, Person, PersonSkill
from .people_file import COLUMNS, escape_cell, roles_text, skill_text
from .plan import next_month


def export_csv() -> str:
    """Every active master and apprentice, in the import format."""
    month = next_month()
    people = db.session.scalars(
        select(Person)
        .where(Person.active.is_(True), Person.is_master | Person.is_apprentice)
        .options(
            selectinload(Person.site),
            selectinload(Person.manager),
            selectinload(Person.skills)
            .selectinload(PersonSkill.micro_skill)
            .selectinload(MicroSkill.area),
        )
        .order_by(Person.email)
    )
    plans = {
        plan.person_id: plan
        for plan in db.session.scalars(select(MonthPlan).where(MonthPlan.month == month))
    }
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for person in people:
        plan = plans.get(person.id)
        skills = ";".join(
            sorted(
                f"{held.micro_skill.key}:"
                f"{skill_text(held.stage, hosts=held.hosts, develops=held.develops)}"
                for held in person.skills
            )
        )
        writer.writerow(
            [
                escape_cell(value)
                for value in (
                    person.name,
                    person.email,
                    person.site.name if person.site else "",
                    person.timezone,
                    roles_text(is_master=person.is_master, is_apprentice=person.is_apprentice),
                    skills,
                    str(plan.observation_hours) if plan else "",
                    str(plan.max_hosting_hours) if plan else "",
                    person.manager.email if person.manager else "",
                )
            ]
        )
    return out.getvalue()
