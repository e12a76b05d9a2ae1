"""Nothing readable at rest: after consults with photos and a thread, no table, database file or blob
holds the patient's BSN, name or the clinical question in plaintext."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from tests.conftest import GPSystem, new_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from triage_service.database import session_scope
from triage_service.encryption.fields import PREFIX, blind_index, key_id_of
from triage_service.models import Base, StoredResource

BSN, NAME, QUESTION = "999990019", "Fictief", "linker onderrug"


def _world(gp: GPSystem, consult_request: dict) -> str:
    binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    document = gp.post("/fhir/DocumentReference", photo_document(binary)).get_json()["id"]
    body = new_request(consult_request)
    body["supportingInfo"] = [{"reference": f"DocumentReference/{document}"}]
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 201
    return str(response.get_json()["id"])


def test_no_table_holds_a_bsn_name_or_question_in_plaintext(app: Flask, gp: GPSystem,
                                                            consult_request: dict) -> None:
    _world(gp, consult_request)
    engine = app.extensions["triage.engine"]
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            # Raw SQL: through the models the encrypted columns would be decrypted for us.
            for row in conn.exec_driver_sql(f"SELECT * FROM {table.name}"):
                flat = " ".join(str(v) for v in row)
                for secret in (BSN, NAME, QUESTION):
                    assert secret not in flat, f"{secret!r} in plaintext in {table.name}"


def _read_from_another_process(path: Path) -> bytes:
    """The file's bytes, read by a child process. Opening and closing a database file (or its -wal or -shm)
    in this process would release every POSIX lock the suite's open SQLite connections hold on it, and a
    server process exiting later would then take the write-ahead log from under them (disk I/O errors)."""
    reader = "import sys; sys.stdout.buffer.write(open(sys.argv[1], 'rb').read())"
    return subprocess.run([sys.executable, "-c", reader, str(path)], check=True, capture_output=True).stdout


def test_the_database_file_and_blob_folder_hold_no_patient_data(app: Flask, gp: GPSystem,
                                                                 consult_request: dict) -> None:
    _world(gp, consult_request)
    engine = app.extensions["triage.engine"]
    settings = app.extensions["triage.settings"]
    files = list(Path(settings.blob_path).rglob("*"))
    if engine.dialect.name == "sqlite":
        database = Path(settings.instance_path) / "triage.sqlite3"
        with sqlite3.connect(database) as direct:  # fold the write-ahead log into the file, then read both
            direct.execute("PRAGMA wal_checkpoint(FULL)")
        files += list(Path(settings.instance_path).glob("triage.sqlite3*"))
    assert files
    for path in files:
        if path.is_file():
            content = _read_from_another_process(path)
            for secret in (BSN, NAME, QUESTION):
                assert secret.encode() not in content, f"{secret!r} readable in {path.name}"


def test_a_patient_is_found_by_bsn_through_the_blind_index_only(app: Flask, gp: GPSystem,
                                                                consult_request: dict) -> None:
    _world(gp, consult_request)
    with session_scope(app) as session:
        stored = session.scalars(select(StoredResource).where(StoredResource.resource_type == "Patient")).all()
        assert [p.identifier_token for p in stored] == [blind_index("http://fhir.nl/fhir/NamingSystem/bsn", BSN)]
        raw = session.execute(text("SELECT resource FROM stored_resources WHERE resource_type = 'Patient'")).scalar()
        assert PREFIX in str(raw)
        assert stored[0].resource["identifier"][0]["value"] == BSN  # and the service reads it back


def test_data_stored_before_encryption_is_encrypted_by_the_command(app: Flask, gp: GPSystem, consult_request: dict,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from triage_service import cli

    _world(gp, consult_request)
    engine = app.extensions["triage.engine"]
    with engine.begin() as conn:  # as an older release stored it: plain JSON and a readable identifier
        patient = conn.exec_driver_sql("SELECT id FROM stored_resources WHERE resource_type = 'Patient'").scalar()
        plain = {"resourceType": "Patient", "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn",
                                                           "value": BSN}], "name": [{"family": NAME}]}
        conn.execute(text("UPDATE stored_resources SET resource = :r, identifier_token = :t WHERE id = :id"),
                     {"r": json.dumps(plain), "t": f"http://fhir.nl/fhir/NamingSystem/bsn|{BSN}", "id": patient})
    monkeypatch.setattr(cli, "_app", lambda: app)
    result = CliRunner().invoke(cli.main, ["encrypt-existing"])
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        raw, token = conn.exec_driver_sql(
            f"SELECT resource, identifier_token FROM stored_resources WHERE id = '{patient}'").one()
    assert BSN not in str(raw) and BSN not in token
    assert token == blind_index("http://fhir.nl/fhir/NamingSystem/bsn", BSN)


def test_a_new_field_key_reseals_every_field_and_the_old_data_still_reads(
        app: Flask, gp: GPSystem, consult_request: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import dataclasses
    import shutil

    from click.testing import CliRunner

    from triage_service import cli
    from triage_service.encryption import fields as field_crypto

    consult_id = _world(gp, consult_request)
    settings = app.extensions["triage.settings"]
    keys_copy = tmp_path / "field-keys.json"
    shutil.copy(settings.field_keys_path, keys_copy)  # the session's own key file stays as it is
    original = field_crypto._Keys.current
    monkeypatch.setitem(app.extensions, "triage.settings", dataclasses.replace(settings, field_keys_path=keys_copy))
    monkeypatch.setattr(cli, "_app", lambda: app)
    try:
        result = CliRunner().invoke(cli.main, ["rotate-keys", "--field-key"])
        assert result.exit_code == 0, result.output
        new_key = field_crypto.FieldKeys.from_json(keys_copy.read_text()).active
        assert original is not None and new_key != original.active
        with app.extensions["triage.engine"].connect() as conn:
            raw = conn.execute(text("SELECT resource FROM consults WHERE id = :c"), {"c": consult_id}).scalar()
        token = re.search(r"enc:v\d:[^:\"]+:", str(raw))
        assert token is not None and key_id_of(token.group(0)) == new_key
        assert gp.get(f"/fhir/ServiceRequest/{consult_id}").get_json()["subject"]  # and it still reads
    finally:
        if original is not None:
            _back_to_the_session_keys(app, original, keys_copy)


def test_a_new_blind_index_key_rehashes_every_bsn_and_lookup_by_bsn_still_works(
        app: Flask, gp: GPSystem, consult_request: dict, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import dataclasses
    import shutil

    from click.testing import CliRunner

    from triage_service import cli
    from triage_service.audit.queries import patient_refs
    from triage_service.database import session_scope
    from triage_service.encryption import fields as field_crypto

    _world(gp, consult_request)
    settings = app.extensions["triage.settings"]
    keys_copy = tmp_path / "field-keys.json"
    shutil.copy(settings.field_keys_path, keys_copy)
    original = field_crypto._Keys.current
    assert original is not None
    old_token = blind_index("http://fhir.nl/fhir/NamingSystem/bsn", BSN)
    monkeypatch.setitem(app.extensions, "triage.settings", dataclasses.replace(settings, field_keys_path=keys_copy))
    monkeypatch.setattr(cli, "_app", lambda: app)
    try:
        result = CliRunner().invoke(cli.main, ["rotate-keys", "--index-key"])
        assert result.exit_code == 0, result.output
        rotated = field_crypto.FieldKeys.from_json(keys_copy.read_text())
        assert rotated.index_key != original.index_key
        with app.extensions["triage.engine"].connect() as conn:
            tokens = set(conn.execute(text("SELECT identifier_token FROM stored_resources "
                                           "WHERE resource_type = 'Patient'")).scalars())
        assert old_token not in tokens
        with session_scope(app) as session:
            assert patient_refs(session, BSN)  # the officer's look-up by BSN finds the patient again
    finally:
        _back_to_the_session_keys(app, original, keys_copy)


def _back_to_the_session_keys(app: Flask, original: Any, keys_copy: Path) -> None:
    """The session's keys again, able to open what the rotation sealed; then every field sealed again under
    the session's own key. The users (with their sealed TOTP secrets) outlive the test, and a later test
    that reads the key file from disk must be able to open them."""
    import dataclasses

    from triage_service.database import session_scope
    from triage_service.encryption import fields as field_crypto
    from triage_service.records import sealing

    field_crypto.configure(dataclasses.replace(original, data_keys={
        **original.data_keys, **field_crypto.FieldKeys.from_json(keys_copy.read_text()).data_keys}))
    with session_scope(app) as session:
        sealing.encrypt_existing(session)
