"""The audit trail is a hash chain: `triage-service audit verify` finds an edited, a deleted and a truncated
entry, and `audit patient` answers who saw a patient's consult, when, from where and for whom."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text

from tests.conftest import GPSystem, new_request
from triage_service import cli
from triage_service.audit.chain import GENESIS, verify
from triage_service.database import session_scope
from triage_service.fhir.parsing import parse_resource
from triage_service.models import AuditEntry

BSN = "999990019"  # the example patient


@pytest.fixture
def runner(app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    import dataclasses

    settings = dataclasses.replace(app.extensions["triage.settings"], audit_anchor_path=tmp_path / "anchors.log")
    monkeypatch.setitem(app.extensions, "triage.settings", settings)
    monkeypatch.setattr(cli, "_app", lambda: app)
    return CliRunner()


@pytest.fixture
def trail(gp: GPSystem, consult_request: dict) -> str:
    """A consult submitted, read and searched: a few audit entries with the patient."""
    consult_id = str(gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"])
    gp.get(f"/fhir/ServiceRequest/{consult_id}")
    gp.get(f"/fhir/Task?focus={consult_id}")
    return consult_id


def _tamper(app: Flask, sql: str) -> None:
    with session_scope(app) as session:
        session.execute(text(sql))


def test_every_entry_is_chained_to_the_one_before(app: Flask, trail: str) -> None:
    with session_scope(app) as session:
        entries = session.scalars(select(AuditEntry).order_by(AuditEntry.chain_index)).all()
        assert [e.chain_index for e in entries] == list(range(1, len(entries) + 1))
        assert entries[0].prev_hash == GENESIS
        assert all(later.prev_hash == earlier.entry_hash for earlier, later in itertools.pairwise(entries))
        assert verify(session).intact


def test_verify_reports_an_intact_trail(runner: CliRunner, trail: str) -> None:
    result = runner.invoke(cli.main, ["audit", "verify"])

    assert result.exit_code == 0, result.output
    assert "intact" in result.output


def test_verify_detects_an_edited_entry(app: Flask, runner: CliRunner, trail: str) -> None:
    _tamper(app, "UPDATE audit_entries SET actor_id = 'someone-else' WHERE chain_index = 2")
    result = runner.invoke(cli.main, ["audit", "verify"])

    assert result.exit_code != 0
    assert "entry 2" in result.output and "changed" in result.output


def test_verify_detects_a_deleted_entry(app: Flask, runner: CliRunner, trail: str) -> None:
    _tamper(app, "DELETE FROM audit_entries WHERE chain_index = 2")
    result = runner.invoke(cli.main, ["audit", "verify"])

    assert result.exit_code != 0
    assert "missing" in result.output


def test_verify_detects_removed_newest_entries_through_the_anchor(app: Flask, runner: CliRunner,
                                                                  trail: str) -> None:
    assert runner.invoke(cli.main, ["audit", "anchor"]).exit_code == 0
    _tamper(app, "DELETE FROM audit_entries WHERE chain_index = (SELECT MAX(chain_index) FROM audit_entries)")
    result = runner.invoke(cli.main, ["audit", "verify"])

    assert result.exit_code != 0
    assert "newest entries were removed" in result.output


def test_a_rewritten_chain_does_not_match_its_anchor(app: Flask, runner: CliRunner, trail: str) -> None:
    runner.invoke(cli.main, ["audit", "anchor"])
    with session_scope(app) as session:  # an attacker who recomputes every hash after an edit
        from triage_service.audit.chain import entry_digest

        previous = GENESIS
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.chain_index)):
            if entry.chain_index == 1:
                session.execute(text("UPDATE audit_entries SET source_ip = '10.6.6.6' WHERE chain_index = 1"))
                session.refresh(entry)
            digest = entry_digest(entry, previous)
            session.execute(text("UPDATE audit_entries SET prev_hash = :p, entry_hash = :h WHERE id = :id"),
                            {"p": previous, "h": digest, "id": entry.id})
            previous = digest
    result = runner.invoke(cli.main, ["audit", "verify"])

    assert result.exit_code != 0
    assert "no longer matches its anchor" in result.output


def test_the_patients_access_history_names_who_when_from_where(runner: CliRunner, trail: str) -> None:
    result = runner.invoke(cli.main, ["audit", "patient", "--bsn", BSN])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any("fhir.create" in line and "client:demo-his-03012345" in line for line in lines)
    assert any("fhir.read" in line for line in lines)
    assert all("from=" in line and "org=" in line for line in lines)
    assert BSN not in result.output


def test_the_history_exports_as_fhir_audit_events(runner: CliRunner, trail: str) -> None:
    result = runner.invoke(cli.main, ["audit", "patient", "--bsn", BSN, "--fhir"])
    bundle: dict[str, Any] = json.loads(result.output)

    assert bundle["entry"]
    assert {e["resource"]["resourceType"] for e in bundle["entry"]} == {"AuditEvent"}
    assert not [i for i in parse_resource(bundle, "Bundle").issues if i.is_error]


def test_looking_up_a_patient_is_itself_audited(app: Flask, runner: CliRunner, trail: str) -> None:
    runner.invoke(cli.main, ["audit", "patient", "--bsn", BSN])
    with session_scope(app) as session:
        assert session.scalar(select(AuditEntry).where(AuditEntry.event == "audit.patient")) is not None


@pytest.mark.parametrize("bsn", ["123", "999990018", "abcdefghi"])
def test_an_invalid_bsn_is_refused(runner: CliRunner, bsn: str) -> None:
    result = runner.invoke(cli.main, ["audit", "patient", "--bsn", bsn])

    assert result.exit_code != 0
    assert "not a valid BSN" in result.output


def test_writers_at_the_same_moment_make_one_chain_without_forks(app: Flask) -> None:
    import threading

    from triage_service.audit.trail import CLI_ACTOR, record
    from triage_service.models import AuditAction

    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(5):
                with session_scope(app) as session:
                    record(session, CLI_ACTOR, event="test.concurrent", action=AuditAction.EXECUTE,
                           detail=f"writer {n} entry {i}")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    with session_scope(app) as session:
        result = verify(session)
        assert result.intact, result.problems
        assert result.checked == 30


def test_administrative_commands_are_audited_with_the_operating_system_account(app: Flask, runner: CliRunner,
                                                                                tmp_path: Path) -> None:
    from triage_service.audit.trail import CLI_ACTOR
    from triage_service.encryption.envelope import generate_client_keypair

    _, jwks = generate_client_keypair("k9")
    (tmp_path / "jwks.json").write_text(json.dumps(jwks))
    result = runner.invoke(cli.main, ["register-client", "--name", "HIS Y", "--organization-agb", "03067890",
                                      "--jwks", str(tmp_path / "jwks.json"), "--scope", "system/Task.read"])
    assert result.exit_code == 0, result.output
    with session_scope(app) as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.event == "cli.register-client"))
        assert entry is not None
        assert (entry.actor_kind, entry.actor_id) == ("cli", CLI_ACTOR.id)
