"""Appending many rows (database.append_rows) stores each value as its column type writes it, whether the rows
share a value object or each has its own; and a batch of new ids is as random and well-formed as single ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from triage_service.database import append_rows, session_scope
from triage_service.models.base import UTCDateTime, new_ids

_METADATA = MetaData()
LEDGER = Table("test_append_ledger", _METADATA, Column("id", String(36), primary_key=True),
               Column("position", Integer), Column("written_at", UTCDateTime), Column("seen_at", UTCDateTime))
WRITTEN = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)

@pytest.fixture
def ledger(app: Flask) -> Iterator[Table]:
    engine = app.extensions["triage.engine"]
    _METADATA.create_all(engine)
    try:
        yield LEDGER
    finally:
        _METADATA.drop_all(engine)

def test_rows_sharing_one_time_and_rows_with_their_own_are_stored_as_written(app: Flask, ledger: Table) -> None:

    ids = new_ids(300)
    rows = [{"id": ids[n], "position": n, "written_at": WRITTEN, "seen_at": WRITTEN + timedelta(minutes=n)}
            for n in range(300)]
    with session_scope(app) as session:
        append_rows(session, ledger, rows)
    with session_scope(app) as session:
        stored = session.execute(select(ledger).order_by(ledger.c.position)).all()
    assert [row.id for row in stored] == ids
    assert {row.written_at for row in stored} == {WRITTEN}
    assert [row.seen_at for row in stored] == [WRITTEN + timedelta(minutes=n) for n in range(300)]

def test_a_naive_time_among_the_rows_is_refused_not_stored(app: Flask, ledger: Table) -> None:

    rows = [{"id": i, "position": 0, "written_at": WRITTEN, "seen_at": WRITTEN} for i in new_ids(2)]
    rows[1]["seen_at"] = WRITTEN.replace(tzinfo=None)
    with pytest.raises(Exception, match="naive datetime"), session_scope(app) as session:
        append_rows(session, ledger, rows)
    with session_scope(app) as session:
        assert session.execute(select(ledger)).all() == []

def test_a_batch_of_ids_are_distinct_random_version_4_uuids() -> None:
    ids = new_ids(1000)
    assert len(set(ids)) == 1000
    assert all(uuid.UUID(i).version == 4 and uuid.UUID(i).variant == uuid.RFC_4122 and str(uuid.UUID(i)) == i
               for i in ids)
    assert new_ids(0) == []
