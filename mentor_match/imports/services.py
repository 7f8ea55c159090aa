"""Import people from a CSV file (``imports.export`` writes the same format).

The file is UTF-8 (a byte-order mark is allowed), at most 5 MB and 20,000 rows, and its
first line names these columns, in any order::

    name,email,site,timezone,roles,skills,observation_hours,hosting_hours

- ``name``: required, at most 120 characters.
- ``email``: required; people are matched by email, ignoring case. A known email updates
  that person (only the fields that differ change); a new one creates a person and mails
  them an invitation to set their password.
- ``site``: the name of an existing site (ignoring case); empty means remote. Sites are not
  created by an import: an admin adds them first, and an unknown name is an error.
- ``timezone``: required, an IANA zone such as ``Europe/London``.
- ``roles``: ``master``, ``apprentice`` or ``master;apprentice``. It sets both roles: a
  person listed only as ``master`` stops being an apprentice. Admin rights never change.
- ``skills``: a semicolon list of ``area/skill:stage:role``, e.g.
  ``Negotiation/Anchoring:master:hosts;Coaching/Listening:apprentice:develops``. Area and
  skill are matched by name ignoring case and punctuation, or by key
  (``negotiation/anchoring``); stage is apprentice, journeyman or master; role is
  ``hosts``, ``develops``, ``both`` or ``none``. Listed skills are added or updated; skills a
  person has that the file does not list are kept (remove them on the profile page).
  A stage the import gives or changes is self-declared, and a master waits for
  verification before hosting it, unless the admin ticks "trust these stages" on the
  preview: then it is verified, marked imported (see ``imports.stages``).
- ``observation_hours``, ``hosting_hours``: whole numbers (0-744) for the person's plan for
  NEXT month (observation hours as an apprentice, most hosting hours as a master). A new
  plan gets the usual defaults for everything else. Empty keeps the plan as it is.

Cells starting with ``=``, ``+``, ``-`` or ``@`` are exported with a leading ``'`` so that
spreadsheets do not run them as formulas; the importer removes that quote again.

The invitation link is a password-reset link, so it is valid for PASSWORD_RESET_MAX_AGE
(one hour by default); after that the person asks for a new one on the "Forgot your
password?" page with the same email, as the invitation mail says.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..accounts.services import INVITATION_LINK
from ..extensions import db
from ..links import absolute_url
from ..models import MicroSkill, MonthPlan, Person, PersonSkill, Site, Stage
from ..models.skills import slugify
from ..rounds.notices import notify_many
from ..tracking.hours import record_change
from ..zones import is_valid_timezone
from .stages import ImportOrigin, StageOutlook, place_stage

COLUMNS = (
    "name",
    "email",
    "site",
    "timezone",
    "roles",
    "skills",
    "observation_hours",
    "hosting_hours",
)
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_HOURS = 744  # hours in a 31-day month
FORMULA_STARTS = ("=", "+", "-", "@")
SKILL_ROLES = {
    "none": (False, False),
    "hosts": (True, False),
    "develops": (False, True),
    "both": (True, True),
}
ROLE_SETS = {
    "master": (True, False),
    "apprentice": (False, True),
    "master;apprentice": (True, True),
    "apprentice;master": (True, True),
}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
INVITATION_SUBJECT = "You are invited to Mentor Match"


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message is shown to the admin as it is."""


@dataclass(frozen=True)
class RowProblem:
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


# --- Reading the file ---------------------------------------------------------------------------


def decode_upload(data: bytes) -> str:
    """The text of an uploaded file, or ImportFileError saying why it cannot be read."""
    if len(data) > MAX_BYTES:
        raise ImportFileError("The file is larger than 5 MB. Split it into smaller files.")
    if not data.strip():
        raise ImportFileError("The file is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            'The file is not UTF-8 text. Save it as "CSV UTF-8" and upload it again.'
        ) from None
    if "\x00" in text:
        raise ImportFileError("The file is not a CSV text file.")
    return text


def unescape_cell(value: str) -> str:
    """Undo the export's protection against spreadsheet formulas."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS + ("'",)):
        return value[1:]
    return value


def escape_cell(value: str) -> str:
    """Prefix a cell a spreadsheet would run as a formula (or that looks escaped) with '."""
    if value.startswith(FORMULA_STARTS) or (
        value.startswith("'") and value[1:].startswith(FORMULA_STARTS + ("'",))
    ):
        return "'" + value
    return value


def _records(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, cells by column) for each non-blank row; ImportFileError for the file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError("The file is empty.")
        names = [unescape_cell(name).strip().lower() for name in header]
        if sorted(names) != sorted(COLUMNS):
            raise ImportFileError(
                "The first line must name the columns "
                + ",".join(COLUMNS)
                + f"; it has {','.join(names)[:200]}."
            )
        records = []
        previous_end = reader.line_num
        for cells in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            if len(records) >= MAX_ROWS:
                raise ImportFileError(f"The file has more than {MAX_ROWS:,} rows. Split it.")
            if len(cells) != len(names):
                records.append((start, {"": f"expected {len(names)} cells, found {len(cells)}"}))
                continue
            records.append(
                (
                    start,
                    {name: unescape_cell(cell.strip()).strip() for name, cell in zip(names, cells)},
                )
            )
    except csv.Error as error:
        raise ImportFileError(
            f"The file is not valid CSV (line {reader.line_num}): {error}."
        ) from None
    return records


# --- Checking rows ------------------------------------------------------------------------------


def next_month(today=None) -> str:
    today = today or datetime.now(UTC).date()
    return f"{today.year + 1}-01" if today.month == 12 else f"{today.year}-{today.month + 1:02d}"


class _Lookups:
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


def _skills(value: str, line: int, lookups: _Lookups, problems: list[RowProblem]):
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


def _check(
    line: int, cells: dict[str, str], lookups: _Lookups, problems: list[RowProblem]
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
    if found:
        problems.extend(found)
        return None
    return Row(
        line, name, email, site, cells["timezone"], roles[0], roles[1], skills, observation, hosting
    )


# --- Comparing with the database ----------------------------------------------------------------


def skill_text(stage: Stage, hosts: bool, develops: bool) -> str:
    """A skill's stage and role as the file writes them, e.g. ``master:hosts``."""
    role = next(name for name, flags in SKILL_ROLES.items() if flags == (hosts, develops))
    return f"{stage.value}:{role}"


def roles_text(is_master: bool, is_apprentice: bool) -> str:
    """The roles cell, e.g. ``master;apprentice``."""
    return (
        ";".join(r for r, held in (("master", is_master), ("apprentice", is_apprentice)) if held)
        or "none"
    )


def _diff(person: Person, row: Row, plan: MonthPlan | None, skill_keys: dict[int, str]):
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
        roles_text(person.is_master, person.is_apprentice),
        roles_text(row.is_master, row.is_apprentice),
    )
    held = {skill.micro_skill_id: skill for skill in person.skills}
    for skill_id, wanted in row.skills.items():
        old = held.get(skill_id)
        compare(
            f"skill {skill_keys[skill_id]}",
            skill_text(old.stage, old.hosts, old.develops) if old else "(none)",
            skill_text(*wanted),
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
    return changes


def _new_person_fields(row: Row, skill_keys: dict[int, str]) -> list[tuple[str, str, str]]:
    fields = [
        ("name", "", row.name),
        ("site", "", row.site.name if row.site else "(remote)"),
        ("timezone", "", row.timezone),
        ("roles", "", roles_text(row.is_master, row.is_apprentice)),
    ]
    fields += [
        (f"skill {skill_keys[sid]}", "", skill_text(*wanted)) for sid, wanted in row.skills.items()
    ]
    if row.observation_hours is not None:
        fields.append(("observation_hours", "", str(row.observation_hours)))
    if row.hosting_hours is not None:
        fields.append(("hosting_hours", "", str(row.hosting_hours)))
    return fields


def build_plan(text: str) -> ImportPlan:
    """Check every row and compare it with the database; writes nothing."""
    records = _records(text)
    lookups = _Lookups()
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
        row = _check(line, cells, lookups, result.problems)
        if row is not None:
            rows.append(row)
    people = {
        person.email.lower(): person
        for person in db.session.scalars(
            select(Person).options(selectinload(Person.skills), selectinload(Person.site))
        )
    }
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
        changes = _diff(person, row, month_plan, skill_keys)
        (result.changes if changes else result.repeated).append(
            Entry(row, person, changes, month_plan)
        )
    return result


# --- Applying -----------------------------------------------------------------------------------


def _apply_skills(
    person: Person, row: Row, origin: ImportOrigin, skill_keys: dict[int, str]
) -> list[tuple[str, str]]:
    """Give the row's skills; (before, after) of each stage that changed, for the change log."""
    held = {skill.micro_skill_id: skill for skill in person.skills}
    moved = []
    for skill_id, (stage, hosts, develops) in row.skills.items():
        skill = held.get(skill_id)
        if skill is None:
            skill = PersonSkill(micro_skill_id=skill_id)
            person.skills.append(skill)
        if (skill.hosts, skill.develops) != (hosts, develops):
            skill.hosts, skill.develops = hosts, develops
        change = place_stage(
            skill, stage, origin, key=skill_keys[skill_id], new=skill_id not in held
        )
        if change is not None:
            moved.append(change)
    return moved


def _apply_row(person: Person, row: Row, month: str, plan: MonthPlan | None) -> None:
    person.name, person.site, person.timezone = row.name, row.site, row.timezone
    person.is_master, person.is_apprentice = row.is_master, row.is_apprentice
    if row.observation_hours is None and row.hosting_hours is None:
        return
    if plan is None:
        plan = MonthPlan(month=month)
        person.month_plans.append(plan)
    if row.observation_hours is not None:
        plan.observation_hours = row.observation_hours
    if row.hosting_hours is not None:
        plan.max_hosting_hours = row.hosting_hours


def _changes_text(changes: list[tuple[str, str, str]], side: int) -> str:
    """The old (side 1) or new (side 2) values of the changed fields, for the change log."""
    return "; ".join(f"{change[0]}: {change[side]}" for change in changes)


def _invitations(people: list[Person]) -> list[dict]:
    """The invitation notices (for notify_many): a welcome, and a mail with a set-password link."""
    days = current_app.config["INVITATION_MAX_AGE"].days
    profile = absolute_url("profiles.edit")
    forgot = absolute_url("accounts.forgot_password")
    return [
        {
            "person_id": person.id,
            "text": "Welcome to Mentor Match. Check your profile, skills and availability.",
            "link": profile,
            "mail_subject": INVITATION_SUBJECT,
            "mail_body": (
                f"Hello {person.name},\n\nAn admin has added you to Mentor Match, where people learn "
                "a craft by watching a master do it.\n\n"
                f"Choose your password within {days} days with this link:\n\n"
                f"{INVITATION_LINK}\n\n"
                f"If the link has expired, ask for a new one at {forgot} with this address "
                f"({person.email}).\n"
            ),
        }
        for person in people
    ]


def apply_import(
    text: str, actor: Person, *, trust_stages: bool = False, filename: str = ""
) -> ImportPlan:
    """Apply the whole file in one transaction, or nothing if any row is bad.

    With `trust_stages` (an admin's choice on the preview) the file's stages are verified,
    marked imported by `actor`; without it they arrive self-declared. `filename` names the
    import in each stage's note. Returns the plan that was applied. New people get an
    invitation notification whose mail the caller sends (jobs.dispatch_mail) once this
    has committed.
    """
    if trust_stages and not actor.is_admin:
        raise ImportFileError("Only an admin can mark imported stages as verified.")
    plan = build_plan(text)
    if plan.problems:
        raise ImportFileError(
            f"The file has {len(plan.problems)} bad row(s); fix them and upload it again."
        )
    origin = ImportOrigin(filename, datetime.now(UTC).date(), actor if trust_stages else None)
    try:
        created, moved = [], []
        for entry in plan.creations:
            # Not a usable hash (check_password_hash refuses it), random so reset tokens differ.
            person = Person(
                email=entry.row.email, password_hash=f"!invited:{secrets.token_hex(16)}"
            )
            _apply_row(person, entry.row, plan.month, None)
            db.session.add(person)
            created.append((person, entry))
        for entry in plan.changes:
            _apply_row(entry.person, entry.row, plan.month, entry.month_plan)
        for person, entry in [*created, *((e.person, e) for e in plan.changes + plan.repeated)]:
            moved += [
                (person, change)
                for change in _apply_skills(person, entry.row, origin, plan.skill_keys)
            ]
        db.session.flush()
        # A person's stage has no id of its own: the subject is the person, the skill in the text.
        for person, (before, after) in moved:
            record_change(actor, "person_skill", person.id, "stage_changed", before, after)
        for person, entry in created:
            record_change(
                actor, "person", person.id, "imported", "", _changes_text(entry.changes, 2)
            )
        notify_many(_invitations([person for person, _ in created]))
        for entry in plan.changes:
            record_change(
                actor,
                "person",
                entry.person.id,
                "changed by import",
                _changes_text(entry.changes, 1),
                _changes_text(entry.changes, 2),
            )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return plan
