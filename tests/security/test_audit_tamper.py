"""Tamper evidence of the audit trail against someone with write access to the database but not the audit key
or the anchor file: keyed hashes, signed anchors with the first and last entry, and signed purge cuts.
`audit verify` finds an edit (also with every later hash recomputed), a deleted entry, deleted newest and
deleted oldest entries, and accepts only the cut a retention purge recorded."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text

from tests.conftest import GPSystem, new_request
from triage_service import cli
from triage_service.audit import keys as audit_keys
from triage_service.audit.chain import GENESIS, _canonical, _content, verify
from triage_service.database import session_scope
from triage_service.models import AuditEntry

LONG_AGO = "2005-01-01 00:00:00"


@pytest.fixture
def anchors(tmp_path: Path) -> Path:
    return tmp_path / "anchors.log"


@pytest.fixture
def runner(app: Flask, monkeypatch: pytest.MonkeyPatch, anchors: Path) -> CliRunner:
    settings = dataclasses.replace(app.extensions["triage.settings"], audit_anchor_path=anchors)
    monkeypatch.setitem(app.extensions, "triage.settings", settings)
    monkeypatch.setattr(cli, "_app", lambda: app)
    return CliRunner()


@pytest.fixture
def trail(gp: GPSystem, consult_request: dict) -> str:
    consult_id = str(gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"])
    gp.get(f"/fhir/ServiceRequest/{consult_id}")
    gp.get(f"/fhir/Task?focus={consult_id}")
    return consult_id


def _sql(app: Flask, sql: str, **params: object) -> None:
    with app.extensions["triage.engine"].begin() as conn:
        conn.execute(text(sql), params)


def _verify(runner: CliRunner) -> tuple[int, str]:
    result = runner.invoke(cli.main, ["audit", "verify"])
    return result.exit_code, result.output


def _recompute_without_the_key(app: Flask, unkeyed: bool) -> None:
    """What someone with only database access can do after an edit: recompute every hash with SHA-256 (the
    old, unkeyed form), keeping each entry's key id or claiming every entry is from before keyed hashes."""
    _sql(app, "UPDATE audit_entries SET source_ip = '10.6.6.6' WHERE chain_index = 1")
    if unkeyed:
        _sql(app, "UPDATE audit_entries SET hash_key = NULL")
    with session_scope(app) as session:
        previous = GENESIS
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.chain_index)):
            digest = hashlib.sha256(_canonical(_content(entry, previous))).hexdigest()
            session.execute(text("UPDATE audit_entries SET prev_hash = :p, entry_hash = :h WHERE id = :id"),
                            {"p": previous, "h": digest, "id": entry.id})
            previous = digest


def test_every_entry_is_an_hmac_under_the_audit_key_outside_the_database(app: Flask, trail: str) -> None:
    keys = audit_keys.current()
    settings = app.extensions["triage.settings"]
    assert settings.audit_key_path.exists() and settings.audit_key_path.parent == settings.instance_path
    with session_scope(app) as session:
        for entry in session.scalars(select(AuditEntry)):
            assert entry.hash_key == keys.active
            content = [*_content(entry, entry.prev_hash), entry.on_behalf_of, entry.hash_key]
            assert entry.entry_hash == hmac.new(keys.keys[keys.active], _canonical(content),
                                                hashlib.sha256).hexdigest()
            assert entry.entry_hash != hashlib.sha256(_canonical(_content(entry, entry.prev_hash))).hexdigest()


def test_an_edit_with_every_later_hash_recomputed_is_found_without_any_anchor(app: Flask, runner: CliRunner,
                                                                               trail: str) -> None:
    _recompute_without_the_key(app, unkeyed=False)
    code, output = _verify(runner)

    assert code != 0
    assert "entry 1 " in output and "changed" in output


def test_a_chain_rewritten_in_the_unkeyed_form_is_found_through_the_anchor(app: Flask, runner: CliRunner,
                                                                            trail: str) -> None:
    assert runner.invoke(cli.main, ["audit", "anchor"]).exit_code == 0
    _recompute_without_the_key(app, unkeyed=True)
    code, output = _verify(runner)

    assert code != 0
    assert "unkeyed hash after keyed entries" in output
    assert "no longer matches its anchor" in output


def test_an_edited_entry_is_found(app: Flask, runner: CliRunner, trail: str) -> None:
    _sql(app, "UPDATE audit_entries SET patient_ref = NULL WHERE chain_index = 2")
    code, output = _verify(runner)

    assert code != 0
    assert "entry 2 " in output and "changed" in output


def test_a_deleted_entry_is_found(app: Flask, runner: CliRunner, trail: str) -> None:
    _sql(app, "DELETE FROM audit_entries WHERE chain_index = 3")
    code, output = _verify(runner)

    assert code != 0
    assert "entries 3..3 are missing" in output


def test_deleted_newest_entries_are_found_through_the_anchor(app: Flask, runner: CliRunner, trail: str) -> None:
    assert runner.invoke(cli.main, ["audit", "anchor"]).exit_code == 0
    _sql(app, "DELETE FROM audit_entries WHERE chain_index > 2")
    code, output = _verify(runner)

    assert code != 0
    assert "the newest entries were removed" in output


def test_deleted_oldest_entries_are_found_even_without_an_anchor(app: Flask, runner: CliRunner, trail: str) -> None:
    _sql(app, "DELETE FROM audit_entries WHERE chain_index <= 2")
    code, output = _verify(runner)

    assert code != 0
    assert "the oldest entries were removed" in output


def test_deleted_oldest_entries_are_found_after_an_anchor(app: Flask, runner: CliRunner, trail: str) -> None:
    assert runner.invoke(cli.main, ["audit", "anchor"]).exit_code == 0
    _sql(app, "DELETE FROM audit_entries WHERE chain_index = 1")
    code, output = _verify(runner)

    assert code != 0
    assert "the trail starts at entry 2" in output and "oldest entries were removed" in output


def test_the_cut_of_a_retention_purge_is_accepted(app: Flask, runner: CliRunner, anchors: Path, trail: str) -> None:
    assert runner.invoke(cli.main, ["audit", "anchor"]).exit_code == 0
    _sql(app, "UPDATE audit_entries SET occurred_at = :t WHERE chain_index <= 2", t=LONG_AGO)
    assert runner.invoke(cli.main, ["purge"]).exit_code == 0
    code, output = _verify(runner)

    assert code == 0, output
    cuts = [json.loads(line) for line in anchors.read_text().splitlines() if '"cut"' in line]
    assert [c["cut"][0] for c in cuts] == [3]


def test_a_cut_marker_not_signed_with_the_audit_key_is_refused(app: Flask, runner: CliRunner, anchors: Path,
                                                               trail: str) -> None:
    assert runner.invoke(cli.main, ["audit", "anchor"]).exit_code == 0
    with session_scope(app) as session:
        second = session.scalar(select(AuditEntry.prev_hash).where(AuditEntry.chain_index == 3))
    forged = {"kind": "cut", "at": "2026-11-23T09:00:00+00:00", "cut": [3, second], "kid": audit_keys.current().active,
              "mac": "0" * 64}
    with anchors.open("a") as handle:
        handle.write(json.dumps(forged) + "\n")
    _sql(app, "DELETE FROM audit_entries WHERE chain_index <= 2")
    code, output = _verify(runner)

    assert code != 0
    assert "not signed with the audit key" in output
    assert "oldest entries were removed" in output


def test_an_altered_anchor_is_refused(runner: CliRunner, anchors: Path, trail: str) -> None:
    assert runner.invoke(cli.main, ["audit", "anchor"]).exit_code == 0
    line = json.loads(anchors.read_text())
    line["head"][0] += 5
    anchors.write_text(json.dumps(line) + "\n")
    code, output = _verify(runner)

    assert code != 0
    assert "line 1 of the anchor file is not signed with the audit key" in output


def test_entries_from_before_keyed_hashes_still_verify_and_are_covered_by_the_keyed_ones(
        app: Flask, runner: CliRunner, gp: GPSystem, consult_request: dict, trail: str) -> None:
    # The entries so far become what an installation upgraded from unkeyed hashes holds.
    _sql(app, "UPDATE audit_entries SET hash_key = NULL")
    with session_scope(app) as session:
        previous = GENESIS
        for entry in session.scalars(select(AuditEntry).order_by(AuditEntry.chain_index)):
            digest = hashlib.sha256(_canonical(_content(entry, previous))).hexdigest()
            session.execute(text("UPDATE audit_entries SET prev_hash = :p, entry_hash = :h WHERE id = :id"),
                            {"p": previous, "h": digest, "id": entry.id})
            previous = digest
    gp.get(f"/fhir/ServiceRequest/{trail}")  # a keyed entry after them
    assert _verify(runner)[0] == 0

    # Editing an old entry and recomputing the old ones still breaks the link into the first keyed entry.
    _recompute_old_only = "UPDATE audit_entries SET source_ip = '10.6.6.6' WHERE chain_index = 1"
    _sql(app, _recompute_old_only)
    with session_scope(app) as session:
        previous = GENESIS
        for entry in session.scalars(select(AuditEntry).where(AuditEntry.hash_key.is_(None))
                                     .order_by(AuditEntry.chain_index)):
            digest = hashlib.sha256(_canonical(_content(entry, previous))).hexdigest()
            session.execute(text("UPDATE audit_entries SET prev_hash = :p, entry_hash = :h WHERE id = :id"),
                            {"p": previous, "h": digest, "id": entry.id})
            previous = digest
    code, output = _verify(runner)
    assert code != 0
    assert "does not follow" in output


def test_an_unknown_audit_key_is_reported(app: Flask, runner: CliRunner, trail: str) -> None:
    _sql(app, "UPDATE audit_entries SET hash_key = 'ak-forged' WHERE chain_index = 2")
    code, output = _verify(runner)

    assert code != 0
    assert "names audit key 'ak-forged'" in output


def test_verify_passes_an_untouched_trail_and_says_when_there_is_no_anchor_yet(app: Flask, runner: CliRunner,
                                                                                trail: str) -> None:
    code, output = _verify(runner)

    assert code == 0, output
    assert "intact" in output and "no anchors" in output
    with session_scope(app) as session:
        assert verify(session).intact


def _production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    from tests.test_settings import GOOD_KEY, PUSH_KEYS

    environment = {"TRIAGE_ENV": "production", "TRIAGE_SECRET_KEY": GOOD_KEY, **PUSH_KEYS,
                   "TRIAGE_INSTANCE_PATH": str(tmp_path / "server"),
                   "TRIAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'server.sqlite3'}",
                   # production refuses rate limits counted per worker; loading settings does not connect
                   "TRIAGE_RATE_LIMIT_STORAGE": "redis://127.0.0.1:6379/0"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return environment


def test_production_creates_its_audit_key_with_the_key_ring_and_refuses_one_made_for_development(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from triage_service.errors import ConfigurationError
    from triage_service.settings import load_settings

    environment = _production(tmp_path, monkeypatch)
    assert CliRunner().invoke(cli.main, ["rotate-keys", "--new-keyring"]).exit_code == 0
    settings = load_settings(environment)
    assert json.loads(settings.audit_key_path.read_text())["made_for"] == "production"

    settings.audit_key_path.write_text(audit_keys.AuditKeys.generate("development").to_json())
    with pytest.raises(ConfigurationError, match="TRIAGE_AUDIT_KEY_PATH names keys generated for 'development'"):
        load_settings(environment)


def test_an_installation_from_before_keyed_hashes_gets_its_audit_key_from_rotate_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from triage_service.errors import ConfigurationError
    from triage_service.settings import load_settings

    environment = _production(tmp_path, monkeypatch)
    assert CliRunner().invoke(cli.main, ["rotate-keys", "--new-keyring"]).exit_code == 0
    load_settings(environment).audit_key_path.unlink()
    with pytest.raises(ConfigurationError, match="TRIAGE_AUDIT_KEY_PATH must name an existing key file"):
        load_settings(environment)

    result = CliRunner().invoke(cli.main, ["rotate-keys", "--new-keyring"])
    assert result.exit_code == 0, result.output
    assert "Created the audit key" in result.output
    assert load_settings(environment).audit_key_path.exists()
