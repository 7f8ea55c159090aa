"""PostgreSQL backups through the client tools: pg_dump's custom format, restored by pg_restore.

The connection's pieces reach the tools in libpq's environment variables (PGHOST, PGPASSWORD,
...), never on their command line, where any user of the machine could read them with `ps`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import make_conninfo
from sqlalchemy import text
from sqlalchemy.engine import URL, Engine

from ..errors import Refusal

# The first bytes of every pg_dump custom-format archive.
ARCHIVE_MAGIC = b"PGDMP"
# Settings a database URL may carry in its query, and the libpq variable that says each.
LIBPQ_VARIABLES = {
    "host": "PGHOST",
    "port": "PGPORT",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "channel_binding": "PGCHANNELBINDING",
    "gssencmode": "PGGSSENCMODE",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "passfile": "PGPASSFILE",
    "service": "PGSERVICE",
}
# A dump of a big database takes a while; a tool silent for this long is stuck.
TOOL_TIMEOUT_SECONDS = 6 * 60 * 60
# How long a restore may wait for a table another connection is using (a web process or worker
# left running) before it is cancelled, rather than waiting unseen for ever while the tables it
# has already locked hold up the site. (Its archive sets lock_timeout to 0 itself.)
RESTORE_LOCK_WAIT_SECONDS = 30.0
# How often the restore is looked at, while it runs, for such a wait.
_WATCH_SECONDS = 0.25
# The restore's statement if it has waited too long for a lock, and who holds the lock.
_LONG_LOCK_WAIT = text(
    """
    SELECT waiting.pid, string_agg(DISTINCT
        coalesce(nullif(holder.application_name, ''), 'a client')
        || coalesce(' at ' || host(holder.client_addr), ''), ', ')
    FROM pg_stat_activity AS waiting
    LEFT JOIN pg_stat_activity AS holder ON holder.pid = ANY(pg_blocking_pids(waiting.pid))
    WHERE waiting.application_name = :application AND waiting.wait_event_type = 'Lock'
      AND waiting.query_start < now() - make_interval(secs => :seconds)
    GROUP BY waiting.pid
    """
)
CLIENT_TOOLS_HINT = "on Debian or Ubuntu: apt install postgresql-client"


@dataclass(frozen=True)
class ToolTarget:
    """Where pg_dump and pg_restore connect: a database name and libpq's environment."""

    database: str
    environment: dict[str, str]


def tool_target(url: URL) -> ToolTarget:
    """The database a SQLAlchemy URL names, as libpq environment variables for the tools."""
    pieces = {
        "PGHOST": url.host,
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    for name, value in url.query.items():
        variable = LIBPQ_VARIABLES.get(name)
        if variable is None or not isinstance(value, str):
            raise Refusal(
                f"The database URL's setting {name!r} cannot be passed to pg_dump and "
                "pg_restore; back up with them by hand, or remove the setting."
            )
        pieces[variable] = value
    if not url.database:
        raise Refusal("The database URL names no database to back up or restore.")
    environment = dict(os.environ)
    environment.update({name: value for name, value in pieces.items() if value})
    return ToolTarget(database=url.database, environment=environment)


def server_major_version(server_version_num: int) -> int:
    """PostgreSQL's major version from `SHOW server_version_num` (150020 is 15)."""
    return server_version_num // 10000


def tool_major_version(version_output: str) -> int | None:
    """The major version in a tool's `--version` output: "pg_dump (PostgreSQL) 15.20" is 15."""
    match = re.search(r"\(PostgreSQL\) (\d+)", version_output)
    return int(match.group(1)) if match else None


def checked_tool(name: str, *, server_major: int) -> str:
    """The path of pg_dump or pg_restore on PATH, refused when missing or older than the server.

    A pg_dump older than the server cannot read its catalogue, and an older pg_restore cannot
    read a newer pg_dump's archive; both fail halfway with less helpful words.
    """
    path = shutil.which(name)
    if path is None:
        raise Refusal(
            f"{name} was not found on PATH. Install the PostgreSQL client tools, version "
            f"{server_major} or newer ({CLIENT_TOOLS_HINT})."
        )
    result = subprocess.run(
        [path, "--version"], capture_output=True, text=True, check=False, timeout=60
    )
    major = tool_major_version(result.stdout)
    if major is None:
        raise Refusal(f"{path} --version did not say its PostgreSQL version: {result.stdout!r}.")
    if major < server_major:
        raise Refusal(
            f"{path} is from PostgreSQL {major}, older than the database server (PostgreSQL "
            f"{server_major}). Install the client tools of PostgreSQL {server_major} or newer "
            "and put them first on PATH."
        )
    return path


def _run(command: list[str], target: ToolTarget, *, failure: str) -> str:
    """Run a client tool; its standard output, or a refusal quoting what it said went wrong."""
    result = subprocess.run(
        command,
        env=target.environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=TOOL_TIMEOUT_SECONDS,
    )
    if result.returncode != 0:
        said = " ".join(result.stderr.split()) or f"exit status {result.returncode}"
        raise Refusal(f"{failure}: {said}")
    return result.stdout


def dump(target: ToolTarget, path: Path, *, snapshot: str, server_major: int) -> None:
    """Write the database, as seen by the exported `snapshot`, to `path` in custom format."""
    tool = checked_tool("pg_dump", server_major=server_major)
    _run(
        [tool, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={path}"],
        target,
        failure="pg_dump could not back up the database",
    )


def archive_tables(target: ToolTarget, path: Path, *, server_major: int) -> set[str]:
    """The names of the tables an archive holds, from its table of contents."""
    tool = checked_tool("pg_restore", server_major=server_major)
    contents = _run(
        [tool, "--list", str(path)],
        target,
        failure=f"{path} cannot be read as a PostgreSQL backup, so nothing was changed",
    )
    # A table's entry reads "215; 1259 17639 TABLE public alembic_version postgres"; its rows'
    # "3611; 0 17639 TABLE DATA public alembic_version postgres".
    entries = (line.split() for line in contents.splitlines() if not line.startswith(";"))
    return {
        entry[5]
        for entry in entries
        if len(entry) > 5 and entry[3] == "TABLE" and entry[4] != "DATA"
    }


def archive_revisions(target: ToolTarget, path: Path, *, server_major: int) -> list[str]:
    """The Alembic revisions an archive's alembic_version table holds, read without restoring.

    Refused when pg_restore cannot read the archive (truncated, damaged) or it has no
    alembic_version table, so it is no Mentor Match database.
    """
    tool = checked_tool("pg_restore", server_major=server_major)
    script = _run(
        [tool, "--data-only", "--table=alembic_version", "--file=-", str(path)],
        target,
        failure=f"{path} cannot be read as a PostgreSQL backup, so nothing was changed",
    )
    lines = iter(script.splitlines())
    for line in lines:
        if line.startswith("COPY ") and "alembic_version" in line:
            revisions = []
            for row in lines:
                if row == "\\.":
                    return revisions
                revisions.append(row.strip())
            break
    raise Refusal(
        f"{path} is a PostgreSQL backup, but not of a Mentor Match database: "
        "it has no alembic_version table."
    )


def restore(target: ToolTarget, path: Path, *, server_major: int, engine: Engine) -> None:
    """Replace the archive's tables in the database in one transaction: all of it, or nothing.

    Watched through `engine` while it runs: a restore that waits longer than
    RESTORE_LOCK_WAIT_SECONDS for a table another connection holds is cancelled, and so
    rolled back, and the refusal names who held it.
    """
    tool = checked_tool("pg_restore", server_major=server_major)
    application = f"mentor-match-restore-{os.getpid()}"
    command = [
        tool,
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--exit-on-error",
        "--no-password",
        # Only the name: the rest of the connection comes from the environment.
        f"--dbname={make_conninfo(dbname=target.database)}",
        str(path),
    ]
    environment = {**target.environment, "PGAPPNAME": application}
    holders = None
    with (
        engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher,
        subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as process,
    ):
        try:
            while True:
                try:
                    _, stderr = process.communicate(timeout=_WATCH_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    if holders is not None:
                        continue
                    stuck = watcher.execute(
                        _LONG_LOCK_WAIT,
                        {"application": application, "seconds": RESTORE_LOCK_WAIT_SECONDS},
                    ).first()
                    if stuck is not None:
                        holders = stuck[1] or "another connection"
                        watcher.execute(text("SELECT pg_cancel_backend(:pid)"), {"pid": stuck[0]})
        except BaseException:
            # Ctrl-C, or the watcher lost its connection: end the restore, which rolls it back.
            process.kill()
            raise
    failure = f"pg_restore could not restore {path}; the database is as it was"
    if holders is not None:
        raise Refusal(
            f"{failure}: it waited {RESTORE_LOCK_WAIT_SECONDS:g} s for tables in use by "
            f"{holders}. Stop the web processes and workers, then run the restore again."
        )
    if process.returncode != 0:
        said = " ".join(stderr.split()) or f"exit status {process.returncode}"
        raise Refusal(f"{failure}: {said}")
