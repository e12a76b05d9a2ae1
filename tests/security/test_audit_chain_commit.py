"""The chain's lock is held only around its own append, at the commit (issue 25): entries are kept with the
transaction and inserted with their places in one INSERT just before COMMIT, after the facts and the notifications
are written. What that must not cost: an entry of a rolled-back savepoint never enters the chain, one of a released
savepoint does, one written by a commit listener is chained all the same, and an entry committed without its place
(as the provisional places of before 2026-12-07 were) is reported."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from tests.conftest import GPSystem, new_request
from triage_service.audit.chain import verify
from triage_service.audit.trail import CLI_ACTOR, record
from triage_service.database import session_scope
from triage_service.models import AuditAction, AuditEntry


def _entry(session: Session, name: str) -> None:
    record(session, CLI_ACTOR, event=name, action=AuditAction.EXECUTE)


def _events(app: Flask) -> list[str]:
    with session_scope(app) as session:
        return list(session.scalars(select(AuditEntry.event).order_by(AuditEntry.chain_index)))


@pytest.fixture
def statements(app: Flask) -> Iterator[list[str]]:
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = app.extensions["triage.engine"]
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_an_intake_chains_its_entries_after_writing_its_facts_and_notifications(
        gp: GPSystem, consult_request: dict, statements: list[str]) -> None:
    assert gp.post("/fhir/ServiceRequest", new_request(consult_request)).status_code == 201

    # The intake's own statements: a token request may come before it.
    start = next(n for n, s in enumerate(statements) if s.startswith("INSERT INTO consults "))

    def first(prefix: str) -> int:
        return next(n for n, s in enumerate(statements) if n > start and s.startswith(prefix))

    chaining = first("SELECT audit_entries.chain_index, audit_entries.entry_hash")
    assert first("INSERT INTO consult_facts") < chaining
    assert first("SELECT subscriptions.") < chaining
    # Under the lock: read the head, insert the entries with their places; nothing else before COMMIT.
    assert [s.split(" ")[0] for s in statements[chaining + 1:]] == ["INSERT"]
    assert statements[chaining + 1].startswith("INSERT INTO audit_entries")
    assert sum(s.startswith("INSERT INTO audit_entries") for s in statements[start:]) == 1


def test_nothing_is_written_to_the_trail_before_the_commit(app: Flask, statements: list[str]) -> None:
    with session_scope(app) as session:
        _entry(session, "test.kept")
        session.flush()
        assert not any(s.startswith("INSERT INTO audit_entries") for s in statements)

    assert _events(app)[-1] == "test.kept"


def test_the_entries_are_chained_in_the_order_they_were_recorded(app: Flask) -> None:
    with session_scope(app) as session:
        for n in range(3):
            _entry(session, f"test.order.{n}")
            session.flush()  # a flush between them writes none of them

    assert _events(app)[-3:] == ["test.order.0", "test.order.1", "test.order.2"]
    with session_scope(app) as session:
        assert verify(session).intact


def test_an_entry_of_a_rolled_back_savepoint_never_enters_the_chain(app: Flask) -> None:
    with session_scope(app) as session:
        _entry(session, "test.before")
        savepoint = session.begin_nested()
        _entry(session, "test.undone")
        session.flush()
        savepoint.rollback()
        _entry(session, "test.after")

    events = _events(app)
    assert "test.undone" not in events
    assert events[-2:] == ["test.before", "test.after"]
    with session_scope(app) as session:
        result = verify(session)
        assert result.intact, result.problems


def test_an_entry_of_a_released_savepoint_is_chained_with_the_rest(app: Flask) -> None:
    with session_scope(app) as session:
        with session.begin_nested():
            _entry(session, "test.inside")
        savepoint = session.begin_nested()
        _entry(session, "test.undone")
        savepoint.rollback()
        _entry(session, "test.outside")

    events = _events(app)
    assert events[-2:] == ["test.inside", "test.outside"]
    assert "test.undone" not in events


def test_an_entry_a_commit_listener_writes_is_chained_when_nothing_else_was_audited(app: Flask) -> None:
    def audit_at_commit(session: Session) -> None:
        if session.info.get("test.audit-at-commit") and not session.info.get("test.audited"):
            session.info["test.audited"] = True
            _entry(session, "test.only-at-commit")

    event.listen(Session, "before_commit", audit_at_commit)  # registered last: after the chain's own listener
    try:
        with session_scope(app) as session:
            session.info["test.audit-at-commit"] = True
    finally:
        event.remove(Session, "before_commit", audit_at_commit)

    assert _events(app)[-1] == "test.only-at-commit"
    with session_scope(app) as session:
        result = verify(session)
        assert result.intact, result.problems


def test_an_entry_a_commit_listener_writes_is_chained_too(app: Flask) -> None:
    def audit_at_commit(session: Session) -> None:
        if not session.info.get("test.audited"):
            session.info["test.audited"] = True
            _entry(session, "test.at-commit")

    event.listen(Session, "before_commit", audit_at_commit)  # registered last: after the chain's own listener
    try:
        with session_scope(app) as session:
            _entry(session, "test.in-work")
    finally:
        event.remove(Session, "before_commit", audit_at_commit)

    assert _events(app)[-2:] == ["test.in-work", "test.at-commit"]
    with session_scope(app) as session:
        result = verify(session)
        assert result.intact, result.problems


def test_an_entry_committed_without_its_place_in_the_chain_is_reported(app: Flask) -> None:
    with session_scope(app) as session:
        _entry(session, "test.real")
    with session_scope(app) as session:
        # What the provisional places of before 2026-12-07 would have left, had one escaped its commit.
        session.execute(text(
            "INSERT INTO audit_entries (occurred_at, event, action, outcome, actor_kind, chain_index, prev_hash, "
            "entry_hash) SELECT occurred_at, 'test.stray', action, outcome, actor_kind, -12345, '', '' "
            "FROM audit_entries WHERE event = 'test.real'"))

    with session_scope(app) as session:
        result = verify(session)
    assert not result.intact
    assert any("never given a place in the chain" in problem for problem in result.problems)
