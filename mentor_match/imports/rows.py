"""Checking the file's rows: each row's cells read and resolved against sites and micro skills.

A row that cannot be read becomes one or more `RowProblem`s naming its line and column; a good
one becomes a `Row`, ready to compare with the person it names (``imports.plan``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import MicroSkill, Site, Stage
from ..models.skills import slugify
from ..zones import canonical_zone, is_valid_timezone
from .people_file import MAX_HOURS, ROLE_SETS, SKILL_ROLES

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one cell (or the whole row) of the file."""

    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.field}: {self.message}"


@dataclass
class Row:
    """One good row of the file, resolved against the database."""

    line: int
    name: str
    email: str
    site: Site | None
    timezone: str
    is_master: bool
    is_apprentice: bool
    skills: dict[int, tuple[Stage, bool, bool]]  # micro skill id -> (stage, hosts, develops)
    observation_hours: int | None
    hosting_hours: int | None
    # The manager's email, lower case; "" for none; None when the file has no such column.
    manager_email: str | None = None


class Lookups:
    """Sites and micro skills, loaded once per import."""

    def __init__(self) -> None:
        self.sites = {site.name.strip().lower(): site for site in db.session.scalars(select(Site))}
        self.skills: dict[str, list[MicroSkill]] = {}
        for skill in db.session.scalars(select(MicroSkill).options(selectinload(MicroSkill.area))):
            self.skills.setdefault(skill.key, []).append(skill)


def _hours(value: str, column: str, line: int, problems: list[RowProblem]) -> int | None:
    if value == "":
        return None
    if not value.isdigit() or int(value) > MAX_HOURS:
        problems.append(
            RowProblem(line, column, f"not a whole number of hours from 0 to {MAX_HOURS}")
        )
        return None
    return int(value)


def _skills(value: str, line: int, lookups: Lookups, problems: list[RowProblem]):
    chosen: dict[int, tuple[Stage, bool, bool]] = {}
    for item in filter(None, (part.strip() for part in value.split(";"))):
        parts = [part.strip() for part in item.split(":")]
        if len(parts) != 3 or "/" not in parts[0]:
            problems.append(RowProblem(line, "skills", f'"{item}" is not area/skill:stage:role'))
            continue
        area_name, _, skill_name = parts[0].partition("/")
        matches = lookups.skills.get(f"{slugify(area_name)}/{slugify(skill_name)}", [])
        stage = parts[1].lower()
        role = parts[2].lower()
        if len(matches) != 1:
            problems.append(
                RowProblem(
                    line,
                    "skills",
                    (
                        f'no micro skill "{parts[0]}"'
                        if not matches
                        else f'"{parts[0]}" matches more than one micro skill; use its exact name'
                    ),
                )
            )
        elif stage not in {s.value for s in Stage}:
            problems.append(
                RowProblem(
                    line,
                    "skills",
                    f'"{parts[1]}" is not a stage (apprentice, journeyman or master)',
                )
            )
        elif role not in SKILL_ROLES:
            problems.append(
                RowProblem(
                    line,
                    "skills",
                    f'"{parts[2]}" is not a skill role (hosts, develops, both or none)',
                )
            )
        elif matches[0].id in chosen:
            problems.append(RowProblem(line, "skills", f'"{parts[0]}" is listed twice'))
        else:
            chosen[matches[0].id] = (Stage(stage), *SKILL_ROLES[role])
    return chosen


def check_row(
    line: int, cells: dict[str, str], lookups: Lookups, problems: list[RowProblem]
) -> Row | None:
    if "" in cells:
        problems.append(RowProblem(line, "row", cells[""]))
        return None
    found: list[RowProblem] = []
    name, email = cells["name"], cells["email"].lower()
    if not name:
        found.append(RowProblem(line, "name", "required"))
    elif len(name) > 120:
        found.append(RowProblem(line, "name", "longer than 120 characters"))
    if not _EMAIL.match(email) or len(email) > 254:
        found.append(RowProblem(line, "email", "not an email address"))
    site = None
    if cells["site"]:
        site = lookups.sites.get(cells["site"].lower())
        if site is None:
            found.append(
                RowProblem(
                    line, "site", f'no site named "{cells["site"]}" (an admin adds sites first)'
                )
            )
    if not is_valid_timezone(cells["timezone"]):
        found.append(
            RowProblem(
                line, "timezone", f'"{cells["timezone"]}" is not a time zone such as Europe/London'
            )
        )
    roles = ROLE_SETS.get(cells["roles"].lower().replace(" ", ""))
    if roles is None:
        found.append(
            RowProblem(
                line, "roles", f'"{cells["roles"]}" is not master, apprentice or master;apprentice'
            )
        )
    skills = _skills(cells["skills"], line, lookups, found)
    observation = _hours(cells["observation_hours"], "observation_hours", line, found)
    hosting = _hours(cells["hosting_hours"], "hosting_hours", line, found)
    manager_email = cells.get("manager_email")
    if manager_email is not None:
        manager_email = manager_email.lower()
        if manager_email and (not _EMAIL.match(manager_email) or len(manager_email) > 254):
            found.append(RowProblem(line, "manager_email", "not an email address"))
        elif manager_email == email:
            found.append(RowProblem(line, "manager_email", "a person cannot be their own manager"))
    if found:
        problems.extend(found)
        return None
    return Row(
        line,
        name,
        email,
        site,
        canonical_zone(cells["timezone"]),
        roles[0],
        roles[1],
        skills,
        observation,
        hosting,
        manager_email,
    )
