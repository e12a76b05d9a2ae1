"""Migrations are code: one head, and upgrading produces exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Engine, create_engine

from triage_service.migrate import alembic_config, downgrade_database, upgrade_database
from triage_service.models import Base


def test_there_is_exactly_one_migration_head(app: Flask) -> None:
    script = ScriptDirectory.from_config(alembic_config(app.extensions["triage.engine"]))
    assert len(script.get_heads()) == 1


def test_the_migrated_schema_equals_the_models(app: Flask) -> None:
    engine: Engine = app.extensions["triage.engine"]
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_migrations_downgrade_and_upgrade_cleanly(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/roundtrip.sqlite3")
    upgrade_database(engine)
    downgrade_database(engine, "base")
    upgrade_database(engine)
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
