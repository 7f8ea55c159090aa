"""The schema comes only from Alembic: the models and the migrations must agree."""

import os
import shutil

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, event, inspect, make_url, text

from mentor_match import create_app
from mentor_match.calendars import services as calendars
from mentor_match.config import TestConfig
from mentor_match.extensions import db

from .conftest import _commit_without_flushing_to_disk
from .populated import populate


def _diff(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_match_the_migrations(app):
    assert _diff(db.engine) == []


@pytest.mark.database_independent
def test_migrations_upgrade_and_downgrade_on_postgresql(postgres_url, tmp_path):
    """Run every revision up and down on a scratch PostgreSQL schema."""
    scratch = create_engine(postgres_url)
    schema = "migration_check"
    with scratch.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{postgres_url}?options=-csearch_path%3D{schema}"

    class ScratchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    other = create_app(ScratchConfig)
    try:
        with other.app_context():
            upgrade()
            assert _diff(db.engine) == []
            assert "people" in inspect(db.engine).get_table_names()
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()
    finally:
        with scratch.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        scratch.dispose()


@pytest.mark.database_independent
def test_migrations_upgrade_and_downgrade_on_sqlite(tmp_path):
    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'm.sqlite'}"

    other = create_app(FileConfig)
    with other.app_context():
        upgrade()
        assert _diff(db.engine) == []
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


ROUNDS_REVISION = "9081530cb5d8"  # before booking: seats had no times of their own


@pytest.mark.database_independent
def test_upgrading_a_database_with_data_keeps_every_row_on_sqlite(tmp_path):
    """Batch migrations rebuild SQLite tables; rows that refer to them must survive.

    With foreign keys enforced, rebuilding `people` once cascaded into every pairing,
    session, window and plan of a live demo database.
    """

    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'old.sqlite'}"

    other = create_app(FileConfig)
    with other.app_context():
        upgrade(revision=ROUNDS_REVISION)
        with db.engine.begin() as connection:
            run = connection.exec_driver_sql
            run(
                "INSERT INTO people (id, email, name, password_hash, is_admin, is_master,"
                " is_apprentice, active, timezone, bio, session_token, created_at,"
                " password_changed_at) VALUES"
                " (1, 'm@x.org', 'M', 'h', 0, 1, 0, 1, 'UTC', '', 't1', '2026-11-01',"
                " '2026-11-01'),"
                " (2, 'a@x.org', 'A', 'h', 0, 0, 1, 1, 'UTC', '', 't2', '2026-11-01',"
                " '2026-11-01')"
            )
            run(
                "INSERT INTO weekly_windows (person_id, weekday, start_time, end_time, in_person,"
                " virtual) VALUES (1, 1, '09:00:00', '12:00:00', 1, 1)"
            )
            run(
                "INSERT INTO rounds (id, month, status, confirm_by, created_at) VALUES"
                " (1, '2026-12', 'published', '2026-11-28', '2026-11-01')"
            )
            run(
                "INSERT INTO pairings (id, round_id, apprentice_id, master_id, apprentice_response,"
                " master_response, created_at)"
                " VALUES (1, 1, 2, 1, 'pending', 'pending', '2026-11-01')"
            )
            run(
                "INSERT INTO shadowing_sessions (id, master_id, starts_at, ends_at, mode, seats,"
                " round_id, created_at) VALUES"
                " (1, 1, '2026-12-01 09:00:00', '2026-12-01 11:00:00', 'virtual', 2, 1,"
                " '2026-11-01')"
            )
            run(
                "INSERT INTO session_observers (id, session_id, apprentice_id, pairing_id,"
                " created_at) VALUES (1, 1, 2, 1, '2026-11-01')"
            )
        upgrade()
        with db.engine.connect() as connection:
            one = connection.exec_driver_sql
            assert one("SELECT count(*) FROM people").scalar() == 2
            assert one("SELECT count(*) FROM weekly_windows").scalar() == 1
            assert one("SELECT count(*) FROM pairings").scalar() == 1
            assert one("SELECT starts_at, ends_at FROM session_observers").one() == (
                "2026-12-01 09:00:00",
                "2026-12-01 11:00:00",
            )
            digests = one("SELECT calendar_token_digest FROM people").scalars().all()
            assert len(set(digests)) == 2 and all(len(digest) == 64 for digest in digests)
            assert (
                one("SELECT video_room FROM shadowing_sessions")
                .scalar()
                .startswith("mentor-match-")
            )
            assert one("PRAGMA foreign_keys").scalar() == 1  # enforced again after the migration
        db.engine.dispose()


BEFORE_FEED_DIGESTS = "486a946e476a"  # people kept their calendar feed token in clear


def _feed_tokens_survive_their_digest_migration(other) -> None:
    with other.app_context():
        upgrade(revision=BEFORE_FEED_DIGESTS)
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO people (id, email, name, password_hash, is_admin, is_master,"
                    " is_apprentice, active, timezone, bio, session_token, calendar_token,"
                    " open_to_bookings, created_at, password_changed_at) VALUES"
                    " (1, 'm@x.org', 'M', 'h', false, true, false, true, 'UTC', '', 't1',"
                    " 'subscribed-feed-token', false, '2026-11-01', '2026-11-01')"
                )
            )
        upgrade()
        columns = {column["name"] for column in inspect(db.engine).get_columns("people")}
        assert "calendar_token" not in columns
        # The address calendars subscribed to before the migration still gives the feed.
        assert calendars.person_for_token("subscribed-feed-token").email == "m@x.org"
        assert calendars.person_for_token("another-token") is None
        db.session.remove()
        downgrade(revision=BEFORE_FEED_DIGESTS)
        with db.engine.connect() as connection:
            token = connection.execute(text("SELECT calendar_token FROM people")).scalar()
        assert len(token) >= 32  # a new one: a digest cannot give the old token back
        db.engine.dispose()


@pytest.mark.database_independent
def test_feed_tokens_become_digests_and_old_feed_urls_keep_working_on_sqlite(tmp_path):
    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'feeds.sqlite'}"

    _feed_tokens_survive_their_digest_migration(create_app(FileConfig))


@pytest.mark.database_independent
def test_feed_tokens_become_digests_and_old_feed_urls_keep_working_on_postgresql(postgres_url):
    _in_scratch_schema(
        postgres_url, "feed_digest_check", _feed_tokens_survive_their_digest_migration
    )


def _in_scratch_schema(postgres_url: str, schema: str, check) -> None:
    """Run check(app) on an app whose PostgreSQL schema is made for it and dropped after."""
    scratch = create_engine(postgres_url)
    with scratch.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")

    class ScratchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"{postgres_url}?options=-csearch_path%3D{schema}"

    try:
        check(create_app(ScratchConfig))
    finally:
        with scratch.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        scratch.dispose()


BEFORE_STAGE_SOURCES = "0a2820ae88ac"  # stages had no source; no organisation settings


def _stage_sources_after_upgrade(other) -> None:
    """An endorsed stage keeps its endorsement as its source, the rest are self-declared, and
    a site with self-declared hosts keeps them hosting (the rule is left off) until an admin
    turns it on; downgrading drops the columns and the table."""
    with other.app_context():
        upgrade(revision=BEFORE_STAGE_SOURCES)
        with db.engine.begin() as connection:
            for person_id, email in ((1, "m@x.org"), (2, "e@x.org"), (3, "a@x.org")):
                connection.execute(
                    text(
                        "INSERT INTO people (id, email, name, password_hash, is_admin, is_master,"
                        " is_apprentice, active, timezone, bio, session_token, open_to_bookings,"
                        " created_at, password_changed_at) VALUES"
                        f" ({person_id}, '{email}', 'P{person_id}', 'h', false, true, true, true,"
                        " 'UTC', '', 't', false, '2026-11-01', '2026-11-01')"
                    )
                )
            connection.execute(
                text("INSERT INTO areas (id, name, description) VALUES (1, 'N', '')")
            )
            connection.execute(
                text(
                    "INSERT INTO micro_skills (id, area_id, name, description)"
                    " VALUES (1, 1, 'A', '')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO person_skills (person_id, micro_skill_id, stage, hosts, develops)"
                    " VALUES (1, 1, 'master', true, false), (2, 1, 'journeyman', true, false),"
                    " (3, 1, 'apprentice', false, true)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO endorsements (id, person_id, micro_skill_id, from_stage, to_stage,"
                    " endorsed_by_id, verified_hours, average_rating, note, created_at) VALUES"
                    " (1, 2, 1, 'apprentice', 'journeyman', 1, 40, 4.0, 'Well done', '2026-11-02')"
                )
            )
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT person_id, stage_source, stage_set_by_id, stage_note FROM person_skills"
                    " ORDER BY person_id"
                )
            ).all()
            setting = connection.execute(
                text("SELECT only_verified_hosts, sign_up_policy FROM organisation_settings")
            ).one()
        assert [tuple(row) for row in rows] == [
            (1, "self_declared", None, ""),
            (2, "endorsed", 1, "Well done"),
            (3, "self_declared", None, ""),
        ]
        assert (bool(setting[0]), setting[1]) == (False, "open")  # person 1 hosts, self-declared
        db.session.remove()
        downgrade(revision=BEFORE_STAGE_SOURCES)
        assert "organisation_settings" not in inspect(db.engine).get_table_names()
        assert "stage_source" not in {
            c["name"] for c in inspect(db.engine).get_columns("person_skills")
        }
        db.engine.dispose()


@pytest.mark.database_independent
def test_stages_get_their_source_on_upgrade_on_sqlite(tmp_path):
    class FileConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = f"sqlite:///{tmp_path / 'stages.sqlite'}"

    _stage_sources_after_upgrade(create_app(FileConfig))


@pytest.mark.database_independent
def test_stages_get_their_source_on_upgrade_on_postgresql(postgres_url):
    _in_scratch_schema(postgres_url, "stage_source_check", _stage_sources_after_upgrade)


# Every migration upgrades a populated database -------------------------------------------------
#
# For each revision R (read from migrations/versions, so a new one joins by itself), a database
# at R's parent, holding rows, is upgraded to head, and nothing may be lost: every table keeps
# its rows, and every column that keeps its name keeps its values, row for row.
#
# The rows come from one populated database at head (the demo organisation and a row in each
# table the demo leaves empty, tests/populated.py), taken down one revision at a time: each
# downgrade keeps the rows its schema can hold, so at every revision the database holds rows
# valid at that schema, written by the code of the day, with no hand-written INSERT per
# revision to keep up. The first revision's parent is an empty database: the upgrade and
# downgrade tests above cover it.


def _revisions_with_a_parent(app) -> list:
    """Every revision but the first, newest first."""
    script = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config())
    return [revision for revision in script.walk_revisions() if revision.down_revision]


def _contents(engine) -> dict[str, tuple[list[str], list[tuple]]]:
    """Each table's column names and rows, in primary-key order (all columns without one)."""
    contents = {}
    with engine.connect() as connection:
        inspector = inspect(connection)
        quote = connection.dialect.identifier_preparer.quote
        # One catalogue query for all tables, not one per table (PostgreSQL's are slow).
        keys = inspector.get_multi_pk_constraint()
        for (schema, table), columns in inspector.get_multi_columns().items():
            if table == "alembic_version":
                continue
            names = [column["name"] for column in columns]
            order = keys[(schema, table)]["constrained_columns"] or names
            rows = connection.exec_driver_sql(
                f"SELECT {', '.join(map(quote, names))} FROM {quote(table)}"
                f" ORDER BY {', '.join(map(quote, order))}"
            )
            contents[table] = (names, [tuple(row) for row in rows])
    return contents


# Columns a migration fills in on purpose where they were empty, never overwriting a value.
FILLED_BY_A_MIGRATION = {
    # c4e8a1d07b52: a notification without mail counts as mailed when it was made, so the
    # mail pass reads only notifications with mail still to queue.
    "notifications.mailed_at",
}


def _lost(before: dict, after: dict) -> list[str]:
    """What an upgrade lost: a table, rows of one, or values of a column it kept by name."""
    lost = []
    for table, (columns, rows) in before.items():
        if table not in after:
            lost.append(f"{table}: dropped")
            continue
        after_columns, after_rows = after[table]
        if len(after_rows) != len(rows):
            lost.append(f"{table}: {len(rows)} rows became {len(after_rows)}")
            continue
        for column in set(columns) & set(after_columns):
            old, new = columns.index(column), after_columns.index(column)
            changed = [(a[old], b[new]) for a, b in zip(rows, after_rows, strict=True)]
            changed = [pair for pair in changed if pair[0] != pair[1]]
            if f"{table}.{column}" in FILLED_BY_A_MIGRATION:
                changed = [pair for pair in changed if pair[0] is not None]
            if changed:
                lost.append(f"{table}.{column}: {len(changed)} values changed, e.g. {changed[0]}")
    return lost


def _app_on(url: str):
    """An app on a scratch database whose commits skip the flush to disk, as the suite's do."""

    class ScratchConfig(TestConfig):
        SQLALCHEMY_DATABASE_URI = url

    app = create_app(ScratchConfig)
    with app.app_context():
        event.listen(db.engine, "connect", _commit_without_flushing_to_disk)
    return app


def _every_revision_upgrades_a_populated_database(url: str, *, copy_url: str | None) -> None:
    """With `copy_url` (SQLite), the file at each revision's parent is copied there and the copy
    upgraded. Without it (PostgreSQL, where dropping a copied database forces a checkpoint, at
    seconds apiece on a busy machine), the database itself goes up to head and back down."""
    walk = _app_on(url)
    copy = _app_on(copy_url) if copy_url else None
    with walk.app_context():
        try:
            upgrade()
            populate()
            db.session.remove()
            at_head = _contents(db.engine)
            revisions = _revisions_with_a_parent(walk)
            for revision in revisions:
                downgrade(revision=revision.down_revision)
                before = _contents(db.engine)
                # Every table the parent's schema has holds rows, if it held any at head.
                assert [t for t, (_, rows) in before.items() if not rows and at_head[t][1]] == []
                if copy is None:
                    upgrade()
                    lost = _lost(before, _contents(db.engine))
                    downgrade(revision=revision.down_revision)
                else:
                    db.engine.dispose()
                    shutil.copyfile(
                        url.removeprefix("sqlite:///"), copy_url.removeprefix("sqlite:///")
                    )
                    with copy.app_context():
                        upgrade()
                        lost = _lost(before, _contents(db.engine))
                        db.engine.dispose()
                assert lost == [], (
                    f"upgrading a populated database from {revision.down_revision} "
                    f"(before {revision.revision}) to head lost: {lost}"
                )
        finally:
            # Also when an assertion fails: a pooled connection left to the garbage collector
            # warns in whichever later test it is collected.
            db.engine.dispose()
    assert len(revisions) >= 9  # the test saw the migrations it was written with


@pytest.mark.database_independent
def test_every_migration_upgrades_a_populated_database_on_sqlite(tmp_path):
    _every_revision_upgrades_a_populated_database(
        f"sqlite:///{tmp_path / 'walk.sqlite'}", copy_url=f"sqlite:///{tmp_path / 'copy.sqlite'}"
    )


@pytest.mark.database_independent
def test_every_migration_upgrades_a_populated_database_on_postgresql(postgres_url):
    server = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    name = f"test_backup_migrations_{os.getpid()}"
    with server.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        url = make_url(postgres_url).set(database=name)
        _every_revision_upgrades_a_populated_database(
            url.render_as_string(hide_password=False), copy_url=None
        )
    finally:
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()
