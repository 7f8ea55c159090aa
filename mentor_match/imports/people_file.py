"""The people file: its columns and cells, read into records here and written by ``export``.

People are imported from a CSV file (``imports.export`` writes the same format).

The file is UTF-8 (a byte-order mark is allowed), at most 5 MB and 20,000 rows, and its
first line names these columns, in any order::

    name,email,site,timezone,roles,skills,observation_hours,hosting_hours,manager_email

``manager_email`` may be left out (older files): then no one's manager changes.

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
- ``manager_email``: the email of the person's manager, someone already on the site or
  another row of the file; empty means no manager (the admins decide their requests). An
  unknown address, the person's own, or a manager the file or the site has managed by the
  person (a cycle) is an error on that row.

Cells starting with ``=``, ``+``, ``-`` or ``@`` are exported with a leading ``'`` so that
spreadsheets do not run them as formulas; the importer removes that quote again.

The invitation link is made as its mail is sent and works for INVITATION_MAX_AGE (7 days by
default) from then; after that the person asks for a new one on the "Forgot your
password?" page with the same email, as the invitation mail says.
"""

from __future__ import annotations

import csv
import io

from ..errors import Refusal
from ..models import Stage

COLUMNS = (
    "name",
    "email",
    "site",
    "timezone",
    "roles",
    "skills",
    "observation_hours",
    "hosting_hours",
    "manager_email",
)
# Columns a file may leave out: older files, written before people had managers.
OPTIONAL_COLUMNS = ("manager_email",)
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
# The upload form's field: a refusal of the file as a whole is shown under it.
FILE_FIELD = "people"


def refuse_file(message: str) -> Refusal:
    """A refusal of the file as a whole, shown under the upload's field (or flashed)."""
    return Refusal(problems={FILE_FIELD: message})


def decode_upload(data: bytes) -> str:
    """The text of an uploaded file, or a refusal saying why it cannot be read."""
    if len(data) > MAX_BYTES:
        raise refuse_file("The file is larger than 5 MB. Split it into smaller files.")
    if not data.strip():
        raise refuse_file("The file is empty.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise refuse_file(
            'The file is not UTF-8 text. Save it as "CSV UTF-8" and upload it again.'
        ) from None
    if "\x00" in text:
        raise refuse_file("The file is not a CSV text file.")
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


def read_records(text: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, cells by column) for each non-blank row; a refusal of the file."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None:
            raise refuse_file("The file is empty.")
        names = [unescape_cell(name).strip().lower() for name in header]
        required = [column for column in COLUMNS if column not in OPTIONAL_COLUMNS]
        if sorted(names) not in (sorted(COLUMNS), sorted(required)):
            raise refuse_file(
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
                raise refuse_file(f"The file has more than {MAX_ROWS:,} rows. Split it.")
            if len(cells) != len(names):
                records.append((start, {"": f"expected {len(names)} cells, found {len(cells)}"}))
                continue
            records.append(
                (
                    start,
                    {
                        name: unescape_cell(cell.strip()).strip()
                        for name, cell in zip(names, cells, strict=True)
                    },
                )
            )
    except csv.Error as error:
        raise refuse_file(f"The file is not valid CSV (line {reader.line_num}): {error}.") from None
    return records


def skill_text(stage: Stage, *, hosts: bool, develops: bool) -> str:
    """A skill's stage and role as the file writes them, e.g. ``master:hosts``."""
    role = next(name for name, flags in SKILL_ROLES.items() if flags == (hosts, develops))
    return f"{stage.value}:{role}"


def roles_text(*, is_master: bool, is_apprentice: bool) -> str:
    """The roles cell, e.g. ``master;apprentice``."""
    return (
        ";".join(r for r, held in (("master", is_master), ("apprentice", is_apprentice)) if held)
        or "none"
    )
