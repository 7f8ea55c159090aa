"""What an import would do: each good row compared with the person it names, nothing written.

The plan is what the preview shows and what ``imports.services.apply_import`` then applies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import MonthPlan, Person
from .people_file import read_records, roles_text, skill_text
from .rows import Lookups, Row, RowProblem, check_row
from .stages import StageOutlook

NO_MANAGER = "(none)"


@dataclass
class Entry:
    """What one row does: create a person, or change some fields of an existing one."""

    row: Row
    person: Person | None
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (field, old, new)
    month_plan: MonthPlan | None = None  # the person's plan for next month, if any


@dataclass
class ImportPlan:
    """Everything an import would do, computed without writing anything."""

    month: str
    creations: list[Entry] = field(default_factory=list)
    changes: list[Entry] = field(default_factory=list)
    repeated: list[Entry] = field(default_factory=list)  # rows that change nothing on the person
    problems: list[RowProblem] = field(default_factory=list)
    stages: StageOutlook = field(default_factory=StageOutlook)
    skill_keys: dict[int, str] = field(default_factory=dict)  # micro skill id -> key

    @property
    def unchanged(self) -> int:
        return len(self.repeated)


def next_month(today: date | None = None) -> str:
    """The month after today's (UTC), as YYYY-MM: the month whose plans an import sets."""
    today = today or datetime.now(UTC).date()
    return f"{today.year + 1}-01" if today.month == 12 else f"{today.year}-{today.month + 1:02d}"


def _diff(
    person: Person,
    row: Row,
    plan: MonthPlan | None,
    skill_keys: dict[int, str],
    manager_email: str,
):
    changes = []

    def compare(label: str, old, new) -> None:
        if old != new:
            changes.append((label, old, new))

    compare("name", person.name, row.name)
    compare(
        "site",
        person.site.name if person.site else "(remote)",
        row.site.name if row.site else "(remote)",
    )
    compare("timezone", person.timezone, row.timezone)
    compare(
        "roles",
        roles_text(is_master=person.is_master, is_apprentice=person.is_apprentice),
        roles_text(is_master=row.is_master, is_apprentice=row.is_apprentice),
    )
    held = {skill.micro_skill_id: skill for skill in person.skills}
    for skill_id, (stage, hosts, develops) in row.skills.items():
        old = held.get(skill_id)
        compare(
            f"skill {skill_keys[skill_id]}",
            skill_text(old.stage, hosts=old.hosts, develops=old.develops) if old else "(none)",
            skill_text(stage, hosts=hosts, develops=develops),
        )
    if row.observation_hours is not None:
        compare(
            "observation_hours",
            str(plan.observation_hours) if plan else "(no plan)",
            str(row.observation_hours),
        )
    if row.hosting_hours is not None:
        compare(
            "hosting_hours",
            str(plan.max_hosting_hours) if plan else "(no plan)",
            str(row.hosting_hours),
        )
    if row.manager_email is not None:
        compare("manager", manager_email or NO_MANAGER, row.manager_email or NO_MANAGER)
    return changes


def _new_person_fields(row: Row, skill_keys: dict[int, str]) -> list[tuple[str, str, str]]:
    fields = [
        ("name", "", row.name),
        ("site", "", row.site.name if row.site else "(remote)"),
        ("timezone", "", row.timezone),
        ("roles", "", roles_text(is_master=row.is_master, is_apprentice=row.is_apprentice)),
    ]
    fields += [
        (f"skill {skill_keys[sid]}", "", skill_text(stage, hosts=hosts, develops=develops))
        for sid, (stage, hosts, develops) in row.skills.items()
    ]
    if row.observation_hours is not None:
        fields.append(("observation_hours", "", str(row.observation_hours)))
    if row.hosting_hours is not None:
        fields.append(("hosting_hours", "", str(row.hosting_hours)))
    if row.manager_email:
        fields.append(("manager", "", row.manager_email))
    return fields


def manager_problems(
    rows: list[Row], managers: dict[str, str], known: set[str]
) -> list[RowProblem]:
    """Rows whose manager is unknown, or would close a cycle once the whole file applies.

    `managers` maps each person's email to their manager's ("" for none) as the site has
    them; `known` holds every email on the site or in the file.
    """
    after = dict(managers)
    for row in rows:
        if row.manager_email is not None:
            after[row.email] = row.manager_email
    problems = []
    for row in rows:
        if not row.manager_email:
            continue
        if row.manager_email not in known:
            problems.append(
                RowProblem(
                    row.line,
                    "manager_email",
                    f'no one with the address "{row.manager_email}" on the site or in the file',
                )
            )
            continue
        seen, current = set(), row.manager_email
        while current and current not in seen:
            if current == row.email:
                problems.append(
                    RowProblem(
                        row.line,
                        "manager_email",
                        f"{row.manager_email} would be managed by this person, directly or "
                        "through others: a cycle",
                    )
                )
                break
            seen.add(current)
            current = after.get(current, "")
    return problems


def build_plan(text: str) -> ImportPlan:
    """Check every row and compare it with the database; writes nothing."""
    records = read_records(text)
    lookups = Lookups()
    skill_keys = {skill.id: key for key, skills in lookups.skills.items() for skill in skills}
    result = ImportPlan(month=next_month(), skill_keys=skill_keys)
    rows: list[Row] = []
    first_line: dict[str, int] = {}
    for line, cells in records:
        email = cells.get("email", "").lower()
        if email and email in first_line:
            result.problems.append(RowProblem(line, "email", f"also on line {first_line[email]}"))
            continue
        if email:
            first_line[email] = line
        row = check_row(line, cells, lookups, result.problems)
        if row is not None:
            rows.append(row)
    people = {
        person.email.lower(): person
        for person in db.session.scalars(
            select(Person).options(selectinload(Person.skills), selectinload(Person.site))
        )
    }
    email_of = {person.id: email for email, person in people.items()}
    managers = {
        email: email_of.get(person.manager_id, "") if person.manager_id else ""
        for email, person in people.items()
    }
    refused = manager_problems(rows, managers, set(people) | set(first_line))
    if refused:
        result.problems.extend(refused)
        result.problems.sort(key=lambda problem: problem.line)
        bad_lines = {problem.line for problem in refused}
        rows = [row for row in rows if row.line not in bad_lines]
    plans = {
        plan.person_id: plan
        for plan in db.session.scalars(select(MonthPlan).where(MonthPlan.month == result.month))
    }
    for row in rows:
        person = people.get(row.email)
        held = {skill.micro_skill_id: skill for skill in person.skills} if person else {}
        for skill_id, (stage, hosts, _) in row.skills.items():
            result.stages.count(
                held.get(skill_id),
                stage,
                hosts=hosts,
                hosting_master=row.is_master and (person is None or person.active),
            )
        if person is None:
            result.creations.append(Entry(row, None, _new_person_fields(row, skill_keys)))
            continue
        month_plan = plans.get(person.id)
        changes = _diff(person, row, month_plan, skill_keys, managers[row.email])
        (result.changes if changes else result.repeated).append(
            Entry(row, person, changes, month_plan)
        )
    return result
