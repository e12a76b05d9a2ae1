"""Migrations are code: one head, and upgrading produces exactly the models' schema."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import Connection, Engine, create_engine, inspect

from triage_service.migrate import alembic_config, downgrade_database, upgrade_database
from triage_service.models import Base

#: Indexes over expressions (a DESC column) that alembic cannot compare by reflection on SQLite: it reports
#: them as removed and added again. Their presence is checked by name instead.
EXPRESSION_INDEXES = {"ix_consult_tasks_open_queue"}


def _differences(connection: Connection) -> list[Any]:
    def compared(obj: Any, name: str | None, kind: str, reflected: bool, compare_to: Any) -> bool:
        return not (kind == "index" and name in EXPRESSION_INDEXES)

    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_object": compared})
    indexes = {i["name"] for table in ("consult_tasks",) for i in inspect(connection).get_indexes(table)}
    missing = [("missing expression index", name) for name in sorted(EXPRESSION_INDEXES - indexes)]
    return [*compare_metadata(context, Base.metadata), *missing]


def test_there_is_exactly_one_migration_head(app: Flask) -> None:
    script = ScriptDirectory.from_config(alembic_config(app.extensions["triage.engine"]))
    assert len(script.get_heads()) == 1


def test_the_migrated_schema_equals_the_models(app: Flask) -> None:
    engine: Engine = app.extensions["triage.engine"]
    with engine.connect() as connection:
        assert _differences(connection) == []


def test_migrations_downgrade_and_upgrade_cleanly(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/roundtrip.sqlite3")
    upgrade_database(engine)
    downgrade_database(engine, "base")
    upgrade_database(engine)
    with engine.connect() as connection:
        assert _differences(connection) == []


def test_the_referral_flag_migration_keeps_existing_consults_and_backfills_their_icpc(tmp_path: object) -> None:
    from sqlalchemy import text

    engine = create_engine(f"sqlite:///{tmp_path}/existing.sqlite3")
    upgrade_database(engine, "0003")
    now = "2026-11-20 09:00:00"
    with engine.begin() as conn:  # plain SQLite connection: foreign keys are not enforced here
        conn.execute(text(
            "INSERT INTO consults (id, organisation_id, client_pk, status, category, consult_form, specialism, "
            "priority, authored_at, icpc_codes, patient_birth_date, patient_gender, insurer_uzovi, requester_agb, "
            "photo_count, version_id, resource, created_at, updated_at) VALUES ('c1', 'o1', 'k1', 'active', "
            "'meekijkconsult', 'e-consult', '0310', 'routine', :now, '[\"S82\", \"S74\"]', '1968-04-12', 'female', "
            "'3311', '01012345', 0, 1, '{}', :now, :now)"), {"now": now})
    upgrade_database(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT primary_icpc FROM consults WHERE id = 'c1'")).scalar_one() == "S82"
        assert _differences(conn) == []


def test_the_urgent_task_migration_marks_the_tasks_of_existing_urgent_consults(tmp_path: object) -> None:
    from sqlalchemy import text

    engine = create_engine(f"sqlite:///{tmp_path}/existing.sqlite3")
    upgrade_database(engine, "0019")
    now = "2026-11-20 09:00:00"
    with engine.begin() as conn:
        for cid, priority in (("c1", "routine"), ("c2", "asap")):
            conn.execute(text(
                "INSERT INTO consults (id, organisation_id, client_pk, status, category, consult_form, specialism, "
                "priority, authored_at, icpc_codes, primary_icpc, patient_birth_date, patient_gender, insurer_uzovi, "
                "requester_agb, photo_count, version_id, resource, created_at, updated_at) VALUES (:id, 'o1', 'k1', "
                "'active', 'meekijkconsult', 'e-consult', '0310', :priority, :now, '[\"S82\"]', 'S82', '1968-04-12', "
                "'female', '3311', '01012345', 0, 1, '{}', :now, :now)"), {"id": cid, "priority": priority, "now": now})
            conn.execute(text(
                "INSERT INTO consult_tasks (id, consult_id, organisation_id, status, business_status, owner_kind, "
                "owner_agb, likely_referral, version_id, created_at, updated_at) VALUES (:tid, :id, 'o1', 'ACCEPTED', "
                "'assigned', 'practitioner', '03034567', 0, 1, :now, :now)"),
                {"tid": f"t-{cid}", "id": cid, "now": now})
    upgrade_database(engine)
    with engine.connect() as conn:
        urgent = {row[0]: bool(row[1]) for row in conn.execute(text("SELECT consult_id, urgent FROM consult_tasks"))}
    assert urgent == {"c1": False, "c2": True}
