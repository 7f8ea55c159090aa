"""`flask backup create` / `restore`: a populated site backed up, changed and restored, on
SQLite and PostgreSQL, and every refused restore leaves the database as it was.

Each site here has a scratch database of its own (a file, or a test_backup_* PostgreSQL
database made and dropped by the fixture), never the suite's, so the tests are marked
database_independent and run once, in the SQLite pass, on both engines.
"""

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, delete, make_url, select, text
from sqlalchemy.engine import Engine

from mentor_match import create_app
from mentor_match.backup import postgres, services
from mentor_match.backup.cli import readable_size
from mentor_match.config import TestConfig
from mentor_match.extensions import db
from mentor_match.models import MasteryRecord, Person, Site
from mentor_match.records.services import RecordStatus, verify

from .conftest import POSTGRES_URL, need_service
from .populated import Populated, populate

pytestmark = pytest.mark.database_independent

NEWER_REVISION = "f00dfeed0000"  # a revision no release of this code has


@dataclass(frozen=True)
class ScratchSite:
    app: Flask
    populated: Populated
    suffix: str


def _site_app(url: str) -> Flask:
    class ScratchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    return create_app(ScratchConfig)


def _populated_site(app: Flask, suffix: str) -> ScratchSite:
    with app.app_context():
        upgrade()
        populated = populate()
        db.session.remove()
    return ScratchSite(app, populated, suffix)


@pytest.fixture(scope="module")
def sqlite_site(tmp_path_factory):
    site = _populated_site(
        _site_app(f"sqlite:///{tmp_path_factory.mktemp('site') / 'site.sqlite'}"), ".sqlite"
    )
    yield site
    with site.app.app_context():
        db.engine.dispose()


def _server() -> Engine:
    """An engine on the PostgreSQL server that can make and drop databases."""
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except Exception as failure:  # noqa: BLE001 - any connection failure means "not reachable"
        engine.dispose()
        need_service(f"PostgreSQL at {POSTGRES_URL} is not reachable: {failure}")
    return engine


@pytest.fixture(scope="module")
def postgres_site():
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        need_service("pg_dump and pg_restore are not installed (apt install postgresql-client)")
    server = _server()
    name = f"test_backup_site_{os.getpid()}"
    with server.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = make_url(POSTGRES_URL).set(database=name)
    try:
        site = _populated_site(_site_app(url.render_as_string(hide_password=False)), ".dump")
        yield site
        with site.app.app_context():
            db.engine.dispose()
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def site(request) -> ScratchSite:
    return request.getfixturevalue(f"{request.param}_site")


def _counts() -> dict[str, int]:
    with db.engine.connect() as connection:
        return services.table_rows(connection)


def _head(app: Flask) -> str:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _backup(app: Flask, *args: str):
    """Run `flask backup ...` on the app; this process then holds no connection of its own."""
    db.session.remove()
    return app.test_cli_runner().invoke(args=["backup", *args])


def _where() -> str:
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        return f"the SQLite database {url.database}"
    return f"the PostgreSQL database {url.database} on {url.host}"


def test_a_backup_restores_every_row_and_the_signed_record(site, tmp_path):
    with site.app.app_context():
        before, head = _counts(), _head(site.app)
        path = tmp_path / f"site{site.suffix}"
        created = _backup(site.app, "create", str(path))
        assert created.exit_code == 0, created.output
        assert created.stdout == (
            f"Wrote {path} ({readable_size(path.stat().st_size)}): {len(before)} tables, "
            f"{sum(before.values())} rows, schema revision {head}.\n"
        )
        assert path.stat().st_mode & 0o777 == 0o600  # it holds password digests
        assert list(tmp_path.iterdir()) == [path]  # no partial file left beside it

        db.session.execute(delete(MasteryRecord))
        db.session.execute(delete(Person).where(Person.id.in_(select(Person.id).limit(5))))
        db.session.add(Site(name="Opened after the backup", timezone="UTC"))
        db.session.commit()
        changed = _counts()
        assert changed["mastery_records"] == 0
        assert changed["people"] == before["people"] - 5
        assert changed["sites"] == before["sites"] + 1

        unconfirmed = _backup(site.app, "restore", str(path))
        assert unconfirmed.exit_code == 1
        assert unconfirmed.stderr == (
            f"Error: Restoring {path} replaces everything in {_where()} ({len(changed)} "
            f"tables, {sum(changed.values())} rows now) with the backup's contents (schema "
            f"revision {head}). Stop the web processes and workers first, then run again "
            "with --yes to go ahead.\n"
        )
        assert _counts() == changed

        restored = _backup(site.app, "restore", str(path), "--yes")
        assert restored.exit_code == 0, restored.output
        assert restored.stdout == (
            f"Restored {path}: {len(before)} tables, {sum(before.values())} rows, "
            f"schema revision {head}.\nStart the web processes and workers again.\n"
        )
        assert _counts() == before
        record = db.session.scalars(select(MasteryRecord)).one()
        kept = site.populated
        assert (record.code, record.content_json, record.signature) == (
            kept.record_code,
            kept.record_content,
            kept.record_signature,
        )
        assert verify(record.code).status is RecordStatus.AUTHENTIC
        # The credential issued before the backup still checks out against the restored record.
        assert verify(record.code, kept.credential).status is RecordStatus.AUTHENTIC


def _unchanged_by(app: Flask, *args: str) -> str:
    """Run `flask backup ...`, which must fail and change nothing; what it said."""
    before = _counts()
    result = _backup(app, *args)
    assert result.exit_code == 1, result.output
    assert _counts() == before
    return result.stderr


def test_a_backup_of_the_other_engine_is_refused(sqlite_site, postgres_site, tmp_path):
    with sqlite_site.app.app_context():
        sqlite_backup = services.create_backup(tmp_path / "site.sqlite").path
    with postgres_site.app.app_context():
        postgres_backup = services.create_backup(tmp_path / "site.dump").path
        said = _unchanged_by(postgres_site.app, "restore", str(sqlite_backup), "--yes")
    assert said == (
        f"Error: {sqlite_backup} is a SQLite backup, but the configured database is PostgreSQL; "
        "restore it into a site that uses SQLite. Nothing was changed.\n"
    )
    with sqlite_site.app.app_context():
        said = _unchanged_by(sqlite_site.app, "restore", str(postgres_backup), "--yes")
    assert said == (
        f"Error: {postgres_backup} is a PostgreSQL backup (pg_dump custom format), but the "
        "configured database is SQLite; restore it into a site that uses PostgreSQL. "
        "Nothing was changed.\n"
    )


def test_a_backup_never_overwrites_a_file(sqlite_site, tmp_path):
    taken = tmp_path / "taken.sqlite"
    taken.write_text("An older backup.")
    busy = tmp_path / "busy.sqlite"
    (tmp_path / "busy.sqlite.partial").write_text("Half a backup.")
    with sqlite_site.app.app_context():
        assert _backup(sqlite_site.app, "create", str(taken)).stderr == (
            f"Error: {taken} already exists; give a new file name so no backup is overwritten.\n"
        )
        assert _backup(sqlite_site.app, "create", str(busy)).stderr == (
            f"Error: {busy}.partial exists: another backup is being written to it, or one "
            "stopped halfway. Give another file name, or delete it once no backup is running.\n"
        )
    assert taken.read_text() == "An older backup."
    assert not busy.exists()


def test_a_file_that_is_no_backup_is_refused(site, tmp_path):
    garbage = tmp_path / "notes.txt"
    garbage.write_text("Not a backup at all.\n")
    with site.app.app_context():
        said = _unchanged_by(site.app, "restore", str(garbage), "--yes")
    assert said == (
        f"Error: {garbage} is not a Mentor Match backup: it is neither a pg_dump custom-format "
        "archive nor a SQLite database. Nothing was changed.\n"
    )


def test_a_truncated_sqlite_backup_is_refused(sqlite_site, tmp_path):
    with sqlite_site.app.app_context():
        whole = services.create_backup(tmp_path / "whole.sqlite").path
        truncated = tmp_path / "truncated.sqlite"
        truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
        said = _unchanged_by(sqlite_site.app, "restore", str(truncated), "--yes")
    assert said == (
        f"Error: {truncated} is a damaged or truncated SQLite database (database disk image is "
        "malformed). Nothing was changed.\n"
    )


def test_a_truncated_postgresql_backup_is_rolled_back(postgres_site, tmp_path):
    """The archive's table of contents reads whole; its last table's rows are cut short, so
    pg_restore fails after it has dropped and re-created tables, and its one transaction
    rolls all of it back."""
    with postgres_site.app.app_context():
        whole = services.create_backup(tmp_path / "whole.dump").path
        truncated = tmp_path / "truncated.dump"
        truncated.write_bytes(whole.read_bytes()[:-100])
        said = _unchanged_by(postgres_site.app, "restore", str(truncated), "--yes")
        assert db.session.scalars(select(MasteryRecord.code)).one() == (
            postgres_site.populated.record_code
        )
    assert said.startswith(
        f"Error: pg_restore could not restore {truncated}; the database is as it was: "
        "pg_restore: error:"
    )


def test_a_restore_gives_up_on_tables_another_process_is_using(
    postgres_site, tmp_path, monkeypatch
):
    """A web process left running holds a table; the restore is cancelled, and says by whom,
    instead of waiting unseen for ever while holding up the site."""
    monkeypatch.setattr(postgres, "RESTORE_LOCK_WAIT_SECONDS", 0.5)
    with postgres_site.app.app_context():
        backup = services.create_backup(tmp_path / "site.dump").path
        web = create_engine(db.engine.url, connect_args={"application_name": "mentor-match web"})
        try:
            with web.connect() as web_process, web_process.begin():
                web_process.execute(text("SELECT count(*) FROM people"))  # holds a share lock
                said = _unchanged_by(postgres_site.app, "restore", str(backup), "--yes")
        finally:
            web.dispose()
    assert said.startswith(
        f"Error: pg_restore could not restore {backup}; the database is as it was: it waited "
        "0.5 s for tables in use by mentor-match web"
    )
    assert said.endswith(". Stop the web processes and workers, then run the restore again.\n")


def test_a_restore_that_would_leave_tables_behind_is_refused(postgres_site, tmp_path):
    """A table the backup lacks (one a later release's migration made, after a failed
    upgrade) would survive pg_restore --clean and break the next `flask db upgrade`."""
    with postgres_site.app.app_context():
        backup = services.create_backup(tmp_path / "site.dump").path
        with db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE made_by_a_later_release (id integer)"))
        try:
            said = _unchanged_by(postgres_site.app, "restore", str(backup), "--yes")
            where = _where()
        finally:
            with db.engine.begin() as connection:
                connection.execute(text("DROP TABLE made_by_a_later_release"))
    assert said == (
        f"Error: {where} has tables the backup does not: made_by_a_later_release. A restore "
        "would leave them as they are, and the next `flask db upgrade` would fail on them. "
        "Restore into an empty database instead (dropdb, then createdb), then run this again. "
        "Nothing was changed.\n"
    )


def test_a_backup_from_a_newer_release_is_refused(site, tmp_path):
    with site.app.app_context():
        head = _head(site.app)
        with db.engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :newer"), {"newer": NEWER_REVISION}
            )
        try:
            newer = services.create_backup(tmp_path / f"newer{site.suffix}").path
        finally:
            with db.engine.begin() as connection:
                connection.execute(
                    text("UPDATE alembic_version SET version_num = :head"), {"head": head}
                )
        said = _unchanged_by(site.app, "restore", str(newer), "--yes")
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == head
    assert said == (
        f"Error: {newer} holds a database at schema revision {NEWER_REVISION}, which this "
        "release of Mentor Match does not know: it comes from a newer release. Restore it "
        "with that release or a later one. Nothing was changed.\n"
    )


def test_a_backup_from_an_earlier_release_is_restored_then_upgraded(tmp_path):
    """The upgrade steps: a backup of the previous release's schema goes back in as it was,
    the command says to run `flask db upgrade`, and that brings it to this release."""
    earlier_app = _site_app(f"sqlite:///{tmp_path / 'earlier.sqlite'}")
    with earlier_app.app_context():
        script = ScriptDirectory.from_config(earlier_app.extensions["migrate"].migrate.get_config())
        previous = script.get_revision(script.get_current_head()).down_revision
        upgrade(revision=previous)
        db.session.add(Site(name="Kept across releases", timezone="Europe/Paris"))
        db.session.commit()
        backup = services.create_backup(tmp_path / "earlier-backup.sqlite").path
        db.engine.dispose()
    app = _site_app(f"sqlite:///{tmp_path / 'new.sqlite'}")
    with app.app_context():
        restored = _backup(app, "restore", str(backup), "--yes")
        assert restored.exit_code == 0, restored.output
        assert restored.stdout.endswith(
            f"schema revision {previous}.\nThe backup comes from an earlier release: run "
            "`flask db upgrade` before starting the web processes and workers.\n"
        )
        upgrade()
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == (
                script.get_current_head()
            )
        assert db.session.scalars(select(Site.name)).all() == ["Kept across releases"]
        db.engine.dispose()


def _fake_tool(folder: Path, name: str, script: str) -> Path:
    folder.mkdir(exist_ok=True)
    tool = folder / name
    tool.write_text(f"#!/bin/sh\n{script}\n")
    tool.chmod(0o755)
    return tool


def _server_major() -> int:
    with db.engine.connect() as connection:
        number = connection.exec_driver_sql("SHOW server_version_num").scalar_one()
    return postgres.server_major_version(int(number))


def test_pg_dump_missing_or_older_than_the_server_is_refused(postgres_site, tmp_path, monkeypatch):
    backups = tmp_path / "backups"
    backups.mkdir()
    with postgres_site.app.app_context():
        major = _server_major()
        monkeypatch.setenv("PATH", str(tmp_path / "empty"))
        said = _unchanged_by(postgres_site.app, "create", str(backups))
        assert said == (
            f"Error: pg_dump was not found on PATH. Install the PostgreSQL client tools, "
            f"version {major} or newer (on Debian or Ubuntu: apt install postgresql-client).\n"
        )
        old = _fake_tool(tmp_path / "old", "pg_dump", 'echo "pg_dump (PostgreSQL) 9.6.24"')
        monkeypatch.setenv("PATH", str(old.parent))
        said = _unchanged_by(postgres_site.app, "create", str(backups))
        assert said == (
            f"Error: {old} is from PostgreSQL 9, older than the database server (PostgreSQL "
            f"{major}). Install the client tools of PostgreSQL {major} or newer and put them "
            "first on PATH.\n"
        )
    assert list(backups.iterdir()) == []  # nothing half-written is left behind


def test_pg_dump_gets_the_password_from_its_environment_not_its_command_line(
    postgres_site, tmp_path, monkeypatch
):
    """Any user of the machine can read a process' arguments (`ps`); only the tool's own
    environment carries the connection."""
    real = shutil.which("pg_dump")
    seen = tmp_path / "seen"
    wrapper = _fake_tool(
        tmp_path / "bin",
        "pg_dump",
        f'printf "%s\\n" "$@" >> {seen}/argv\n'
        f'printf "%s\\n" "$PGUSER" "$PGPASSWORD" "$PGHOST" "$PGDATABASE" > {seen}/environment\n'
        f'exec {real} "$@"',
    )
    seen.mkdir()
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    with postgres_site.app.app_context():
        url = db.engine.url.set(password="kept-off-the-command-line")
    app = _site_app(url.render_as_string(hide_password=False))
    with app.app_context():
        created = _backup(app, "create", str(tmp_path / "site.dump"))
        assert created.exit_code == 0, created.output
        db.engine.dispose()
    arguments = (seen / "argv").read_text()
    assert "kept-off-the-command-line" not in arguments
    assert url.host not in arguments and url.database not in arguments
    assert (seen / "environment").read_text().splitlines() == [
        url.username,
        "kept-off-the-command-line",
        url.host,
        url.database,
    ]


def test_query_settings_of_the_url_reach_the_tools_as_libpq_variables():
    target = postgres.tool_target(
        make_url("postgresql+psycopg://mentor:s3cret@db.example.org:5433/mentor?sslmode=require")
    )
    assert target.database == "mentor"
    assert {
        name: target.environment[name]
        for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE")
    } == {
        "PGHOST": "db.example.org",
        "PGPORT": "5433",
        "PGUSER": "mentor",
        "PGPASSWORD": "s3cret",
        "PGDATABASE": "mentor",
        "PGSSLMODE": "require",
    }
    with pytest.raises(services.Refusal) as refused:
        postgres.tool_target(make_url("postgresql+psycopg://u@h/d?prepare_threshold=5"))
    assert str(refused.value) == (
        "The database URL's setting 'prepare_threshold' cannot be passed to pg_dump and "
        "pg_restore; back up with them by hand, or remove the setting."
    )
