"""`flask backup ...`: back the database up to a file, and restore it from one.

flask backup create [PATH]          write a backup (default: instance/backups/mentor-match-<time>)
flask backup restore PATH --yes     replace the database's contents with a backup
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..errors import Refusal

backup_cli = AppGroup("backup", help="Back up the database to a file, and restore it from one.")


def readable_size(size: int) -> str:
    """A file size as people read it: 812 bytes, 4.2 kB, 31.0 MB."""
    if size < 1000:
        return f"{size} bytes"
    for unit in ("kB", "MB", "GB"):
        size /= 1000
        if size < 1000 or unit == "GB":
            break
    return f"{size:.1f} {unit}"


@backup_cli.command("create")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def create_command(path: Path | None) -> None:
    """Write a backup of the configured database to PATH (a new file, or a folder for it)."""
    from .services import create_backup

    try:
        summary = create_backup(path)
    except Refusal as refusal:
        raise click.ClickException(str(refusal)) from None
    click.echo(
        f"Wrote {summary.path} ({readable_size(summary.size)}): {summary.tables} tables, "
        f"{summary.rows} rows, schema revision {summary.revision}."
    )


@backup_cli.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--yes",
    is_flag=True,
    help="Replace everything in the configured database; without it nothing changes.",
)
def restore_command(path: Path, *, yes: bool) -> None:
    """Replace the configured database's contents with the backup at PATH."""
    from .services import restore_backup

    try:
        summary = restore_backup(path, confirmed=yes)
    except Refusal as refusal:
        raise click.ClickException(str(refusal)) from None
    click.echo(
        f"Restored {summary.path}: {summary.tables} tables, {summary.rows} rows, "
        f"schema revision {summary.revision}."
    )
    if summary.needs_upgrade:
        click.echo(
            "The backup comes from an earlier release: run `flask db upgrade` before "
            "starting the web processes and workers."
        )
    else:
        click.echo("Start the web processes and workers again.")
