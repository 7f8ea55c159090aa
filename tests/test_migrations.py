"""The schema comes only from Alembic: the models and the migrations must agree."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from mentor_match import create_app
from mentor_match.config import TestConfig
from mentor_match.extensions import db


def _diff(engine):
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def test_models_match_the_migrations(app):
    assert _diff(db.engine) == []


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
