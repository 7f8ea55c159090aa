"""Backing up the configured database to one file, and restoring a site from such a file.

PostgreSQL goes through pg_dump's custom format and pg_restore (`backup.postgres`); SQLite
through its online backup API (`backup.sqlite`). Either way a backup can be taken while the
site runs, and a restore replaces the database's contents all at once or not at all.

Before a restore changes anything, the file is checked: the kind of database it holds
matches the configured one, the file reads whole, and its schema revision is one this
release's migrations know (a backup from a newer release is refused; an older one is
restored and then wants `flask db upgrade`).
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from ..errors import Refusal
from ..extensions import db
from ..models import utcnow
from . import postgres, sqlite

VERSION_TABLE = "alembic_version"


class DatabaseKind(enum.StrEnum):
    POSTGRESQL = "postgresql"
    SQLITE = "sqlite"

    @property
    def suffix(self) -> str:
        return ".dump" if self is DatabaseKind.POSTGRESQL else ".sqlite"

    @property
    def backup_name(self) -> str:
        if self is DatabaseKind.POSTGRESQL:
            return "a PostgreSQL backup (pg_dump custom format)"
        return "a SQLite backup"

    @property
    def database_name(self) -> str:
        return "PostgreSQL" if self is DatabaseKind.POSTGRESQL else "SQLite"


@dataclass(frozen=True)
class BackupSummary:
    """What `create_backup` wrote; tables and rows leave out Alembic's own table."""

    path: Path
    size: int  # bytes
    tables: int
    rows: int
    revision: str


@dataclass(frozen=True)
class RestoreSummary:
    """What the database holds after `restore_backup`, and whether it wants `flask db upgrade`."""

    path: Path
    tables: int
    rows: int
    revision: str
    needs_upgrade: bool


def database_kind() -> DatabaseKind:
    """The kind of the configured database; refused for one backups do not cover."""
    backend = db.engine.url.get_backend_name()
    try:
        return DatabaseKind(backend)
    except ValueError:
        raise Refusal(
            f"Backups cover PostgreSQL and SQLite; the configured database is {backend}."
        ) from None


def file_kind(path: Path) -> DatabaseKind | None:
    """Which kind of backup a file is, by its first bytes; None for anything else."""
    with path.open("rb") as file:
        start = file.read(len(sqlite.FILE_MAGIC))
    if start.startswith(postgres.ARCHIVE_MAGIC):
        return DatabaseKind.POSTGRESQL
    if start == sqlite.FILE_MAGIC:
        return DatabaseKind.SQLITE
    return None


def table_rows(connection: Connection) -> dict[str, int]:
    """How many rows each of the database's tables holds, Alembic's own left out."""
    quote = connection.dialect.identifier_preparer.quote
    return {
        name: connection.exec_driver_sql(f"SELECT count(*) FROM {quote(name)}").scalar_one()
        for name in sorted(inspect(connection).get_table_names())
        if name != VERSION_TABLE
    }


def _current_revisions(connection: Connection) -> list[str]:
    if VERSION_TABLE not in inspect(connection).get_table_names():
        return []
    return list(connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars())


def _server_major(connection: Connection) -> int:
    number = connection.exec_driver_sql("SHOW server_version_num").scalar_one()
    return postgres.server_major_version(int(number))


# Creating ------------------------------------------------------------------------------------


def default_backup_path(kind: DatabaseKind, folder: Path | None = None) -> Path:
    """instance/backups/mentor-match-<UTC time><suffix>, or that name in `folder`."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    folder = folder or Path(current_app.instance_path) / "backups"
    return folder / f"mentor-match-{stamp}{kind.suffix}"


def _destination(path: Path | None, kind: DatabaseKind) -> Path:
    if path is None or path.is_dir():
        path = default_backup_path(kind, path)
    if path.exists():
        raise Refusal(f"{path} already exists; give a new file name so no backup is overwritten.")
    if not path.parent.is_dir():
        if path.parent.exists():
            raise Refusal(f"{path.parent} is not a folder.")
        # A backup holds password digests and personal details: only its owner may read it.
        path.parent.mkdir(parents=True, mode=0o700)
    return path


def create_backup(path: Path | None = None) -> BackupSummary:
    """Back up the configured database to `path` (a file, a folder, or None for the default).

    The backup is written beside its final name and renamed into place once complete, so a
    file under the final name is always a whole backup; it is readable by its owner alone.
    """
    kind = database_kind()
    path = _destination(path, kind)
    partial = path.with_name(path.name + ".partial")
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise Refusal(
            f"{partial} exists: another backup is being written to it, or one stopped halfway. "
            "Give another file name, or delete it once no backup is running."
        ) from None
    try:
        if kind is DatabaseKind.POSTGRESQL:
            rows, revisions = _dump_postgresql(partial)
        else:
            with db.engine.connect() as connection:
                sqlite.copy_out(connection.connection.driver_connection, partial)
            rows, revisions = sqlite.table_rows(partial), sqlite.file_revisions(partial)
        rows.pop(VERSION_TABLE, None)
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupSummary(
        path=path,
        size=path.stat().st_size,
        tables=len(rows),
        rows=sum(rows.values()),
        revision=", ".join(revisions) or "none",
    )


def _dump_postgresql(partial: Path) -> tuple[dict[str, int], list[str]]:
    """pg_dump into `partial`; the row counts are read in the very snapshot pg_dump copies."""
    target = postgres.tool_target(db.engine.url)
    with db.engine.connect() as connection:
        connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
            snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
            rows, revisions = table_rows(connection), _current_revisions(connection)
            # pg_dump works in the exported snapshot only while this transaction stays open.
            postgres.dump(
                target, partial, snapshot=snapshot, server_major=_server_major(connection)
            )
    return rows, revisions


# Restoring -----------------------------------------------------------------------------------


def _where(kind: DatabaseKind) -> str:
    url = db.engine.url
    if kind is DatabaseKind.SQLITE:
        return f"the SQLite database {url.database}"
    return f"the PostgreSQL database {url.database} on {url.host or 'the local socket'}"


def _known_revisions() -> tuple[set[str], set[str]]:
    """Every revision this release's migrations know, and their heads."""
    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    return {revision.revision for revision in script.walk_revisions()}, set(script.get_heads())


def _needs_upgrade(path: Path, revisions: list[str]) -> bool:
    """Whether a backup's schema is older than this release's; refused when it is unknown."""
    known, heads = _known_revisions()
    if not revisions:
        raise Refusal(
            f"{path} records no schema revision (its alembic_version table is empty), so it "
            "cannot be told which release it belongs to. Nothing was changed."
        )
    unknown = [revision for revision in revisions if revision not in known]
    if unknown:
        raise Refusal(
            f"{path} holds a database at schema revision {', '.join(unknown)}, which this "
            "release of Mentor Match does not know: it comes from a newer release. Restore it "
            "with that release or a later one. Nothing was changed."
        )
    return set(revisions) != heads


def _backup_revisions(path: Path, kind: DatabaseKind) -> list[str]:
    found = file_kind(path)
    if found is None:
        raise Refusal(
            f"{path} is not a Mentor Match backup: it is neither a pg_dump custom-format "
            "archive nor a SQLite database. Nothing was changed."
        )
    if found is not kind:
        raise Refusal(
            f"{path} is {found.backup_name}, but the configured database is "
            f"{kind.database_name}; restore it into a site that uses {found.database_name}. "
            "Nothing was changed."
        )
    if kind is DatabaseKind.SQLITE:
        return sqlite.file_revisions(path)
    target = postgres.tool_target(db.engine.url)
    with db.engine.connect() as connection:
        server_major = _server_major(connection)
        tables = set(inspect(connection).get_table_names())
    revisions = postgres.archive_revisions(target, path, server_major=server_major)
    # pg_restore --clean replaces the archive's tables and leaves any other, such as those a
    # later release's migrations made; the next `flask db upgrade` would then fail on them.
    left_behind = tables - postgres.archive_tables(target, path, server_major=server_major)
    if left_behind:
        raise Refusal(
            f"{_where(kind)} has tables the backup does not: {', '.join(sorted(left_behind))}. "
            "A restore would leave them as they are, and the next `flask db upgrade` would fail "
            "on them. Restore into an empty database instead (dropdb, then createdb), then run "
            "this again. Nothing was changed."
        )
    return revisions


def restore_backup(path: Path, *, confirmed: bool) -> RestoreSummary:
    """Replace the configured database's contents with the backup at `path`.

    Without `confirmed`, only checks the file and refuses, saying what would be replaced.
    The web processes and workers should be stopped first: on PostgreSQL a restore that
    waits too long for tables they use is cancelled, and their pooled connections would
    otherwise see the swap midway.
    """
    kind = database_kind()
    revisions = _backup_revisions(path, kind)
    needs_upgrade = _needs_upgrade(path, revisions)
    if not confirmed:
        with db.engine.connect() as connection:
            rows = table_rows(connection)
        raise Refusal(
            f"Restoring {path} replaces everything in {_where(kind)} ({len(rows)} tables, "
            f"{sum(rows.values())} rows now) with the backup's contents (schema revision "
            f"{', '.join(revisions)}). Stop the web processes and workers first, then run "
            "again with --yes to go ahead."
        )
    # This process must hold no connection, and with it no lock, while the tables are swapped.
    db.session.remove()
    db.engine.dispose()
    if kind is DatabaseKind.POSTGRESQL:
        target = postgres.tool_target(db.engine.url)
        with db.engine.connect() as connection:
            server_major = _server_major(connection)
        db.engine.dispose()
        postgres.restore(target, path, server_major=server_major, engine=db.engine)
    else:
        with db.engine.connect() as connection:
            sqlite.copy_in(path, connection.connection.driver_connection)
        db.engine.dispose()
    with db.engine.connect() as connection:
        rows, restored = table_rows(connection), _current_revisions(connection)
    if sorted(restored) != sorted(revisions):
        raise Refusal(
            f"{path} was restored, but the database now records schema revision "
            f"{', '.join(restored) or 'none'} instead of the backup's {', '.join(revisions)}."
        )
    return RestoreSummary(
        path=path,
        tables=len(rows),
        rows=sum(rows.values()),
        revision=", ".join(restored),
        needs_upgrade=needs_upgrade,
    )
