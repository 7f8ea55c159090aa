"""SQLite backups through SQLite's online backup API, which copies a database page by page
while the site keeps using it, and restores the same way in the other direction."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from ..errors import Refusal

# The first 16 bytes of every SQLite 3 database file.
FILE_MAGIC = b"SQLite format 3\x00"


def _read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def copy_out(live: sqlite3.Connection, path: Path) -> None:
    """Copy the live database into the (new, empty) file at `path`, as one consistent snapshot."""
    with closing(sqlite3.connect(path)) as copy:
        live.backup(copy)


def copy_in(path: Path, live: sqlite3.Connection) -> None:
    """Replace the live database with the backup at `path`; SQLite commits it all or nothing."""
    with closing(_read_only(path)) as backup:
        backup.backup(live)


def file_revisions(path: Path) -> list[str]:
    """The Alembic revisions a backup file holds, once SQLite finds the file whole.

    Refused when the file is damaged or truncated, or has no alembic_version table, so it is
    no Mentor Match database.
    """
    try:
        with closing(_read_only(path)) as backup:
            check = backup.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                said = check[0] if check else "no answer to its check"
                raise Refusal(f"{path} is a damaged SQLite database ({said}). Nothing was changed.")
            tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master")}
            if "alembic_version" not in tables:
                raise Refusal(
                    f"{path} is a SQLite database, but not a Mentor Match one: "
                    "it has no alembic_version table."
                )
            return [row[0] for row in backup.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.DatabaseError as error:
        raise Refusal(
            f"{path} is a damaged or truncated SQLite database ({error}). Nothing was changed."
        ) from None


def table_rows(path: Path) -> dict[str, int]:
    """How many rows each table of a SQLite file holds, SQLite's own tables left out."""
    with closing(_read_only(path)) as database:
        names = [
            row[0]
            for row in database.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
            )
        ]
        return {
            name: database.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names
        }
