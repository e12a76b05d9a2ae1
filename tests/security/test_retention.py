"""Retention: a consult untouched for more than 20 years is removed with its patient, photo (file included)
and history; a younger one stays; audit entries older than 5 years go; the purge audits itself and the
audit chain still verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, text

from tests.conftest import START, GPSystem, new_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from triage_service import cli
from triage_service.attachments.documents import blob_store
from triage_service.audit.chain import verify
from triage_service.database import session_scope
from triage_service.errors import ConfigurationError
from triage_service.models import Attachment, AuditEntry, Consult, EncryptedBlob, StoredResource
from triage_service.records.retention import purge
from triage_service.settings import load_settings

LONG_AGO = "2005-01-01 00:00:00"


def _consult_with_photo(gp: GPSystem, consult_request: dict) -> tuple[str, str]:
    binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    document = gp.post("/fhir/DocumentReference", photo_document(binary)).get_json()["id"]
    body = new_request(consult_request)
    body["supportingInfo"] = [{"reference": f"DocumentReference/{document}"}]
    return str(gp.post("/fhir/ServiceRequest", body).get_json()["id"]), binary


def _age(app: Flask, consult_id: str, binary: str) -> None:
    """Make one consult, its resources and photo look as if they were last touched in 2005."""
    with app.extensions["triage.engine"].begin() as conn:
        conn.execute(text("UPDATE consults SET created_at = :t, updated_at = :t WHERE id = :c"),
                     {"t": LONG_AGO, "c": consult_id})
        conn.execute(text("UPDATE consult_tasks SET updated_at = :t WHERE consult_id = :c"),
                     {"t": LONG_AGO, "c": consult_id})
        conn.execute(text("UPDATE stored_resources SET updated_at = :t"), {"t": LONG_AGO})
        conn.execute(text("UPDATE attachments SET created_at = :t WHERE id = :b"), {"t": LONG_AGO, "b": binary})


def test_an_expired_consult_goes_with_its_patient_and_photo_and_a_recent_one_stays(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    old, old_photo = _consult_with_photo(gp, consult_request)
    _age(app, old, old_photo)
    recent, recent_photo = _consult_with_photo(gp, consult_request)
    settings = app.extensions["triage.settings"]
    with session_scope(app) as session:
        blob = session.scalar(select(EncryptedBlob.storage_name).join(
            Attachment, Attachment.blob_id == EncryptedBlob.id).where(Attachment.id == old_photo))
    assert blob is not None
    assert (Path(settings.blob_path) / blob).exists() or any(Path(settings.blob_path).rglob(blob))

    with session_scope(app) as session:
        result = purge(session, settings, blob_store(settings), START)

    assert result.consults == 1 and result.photos == 1
    with session_scope(app) as session:
        assert session.get(Consult, old) is None
        assert session.get(Consult, recent) is not None
        assert session.get(Attachment, old_photo) is None
        assert session.get(Attachment, recent_photo) is not None
        # The recent consult's patient is the same person, so the Patient resource stays in use.
        assert session.scalars(select(StoredResource).where(StoredResource.resource_type == "Patient")).all()
        assert session.scalar(select(AuditEntry).where(AuditEntry.event == "retention.purge")) is not None
    assert not list(Path(settings.blob_path).rglob(blob))


def test_audit_entries_older_than_five_years_go_and_the_chain_still_verifies(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    gp.post("/fhir/ServiceRequest", new_request(consult_request))
    with app.extensions["triage.engine"].begin() as conn:
        # (The aged entries no longer match their hashes; they are about to go, and the rest must verify.)
        conn.execute(text("UPDATE audit_entries SET occurred_at = :t WHERE chain_index <= 2"), {"t": LONG_AGO})
    settings = app.extensions["triage.settings"]
    with session_scope(app) as session:
        result = purge(session, settings, blob_store(settings), START)
        assert result.audit_entries == 2
    with session_scope(app) as session:
        check = verify(session)
        assert check.intact, check.problems


def test_an_abandoned_portal_draft_goes_with_its_photo_after_ninety_days_and_a_recent_one_stays(
        app: Flask) -> None:
    from datetime import timedelta

    from triage_service.consults.drafts import add_file, save_draft
    from triage_service.consults.practice import practice_actor
    from triage_service.models import ConsultDraft, User
    from triage_service.security.web_auth import inbox_user

    settings = app.extensions["triage.settings"]
    with session_scope(app) as session:
        gp = inbox_user(session, str(session.scalar(select(User.id).where(User.username == "huisarts"))))
        assert gp is not None
        old = save_draft(session, gp, None, {"bsn": "999990019", "question": "Vergeten"}, START - timedelta(days=91),
                         None)
        actor = practice_actor(gp, None)
        old_photo = add_file(session, actor, settings, old, jpeg_with_gps(), "image/jpeg", "",
                             START - timedelta(days=91))["attachment_id"]
        recent = save_draft(session, gp, None, {"bsn": "999990019"}, START - timedelta(days=89), None)
        recent_photo = add_file(session, actor, settings, recent, jpeg_with_gps(), "image/jpeg", "",
                                START - timedelta(days=89))["attachment_id"]
        old_id, recent_id = old.id, recent.id
    with app.extensions["triage.engine"].begin() as conn:  # uploaded when the draft was written
        conn.execute(text("UPDATE attachments SET created_at = :t"), {"t": "2026-08-01 00:00:00"})

    with session_scope(app) as session:
        result = purge(session, settings, blob_store(settings), START)

    assert result.drafts == 1 and result.photos == 1
    with session_scope(app) as session:
        assert session.get(ConsultDraft, old_id) is None and session.get(Attachment, old_photo) is None
        assert session.get(ConsultDraft, recent_id) is not None and session.get(Attachment, recent_photo) is not None


def test_the_purge_command_reports_what_it_removed(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_app", lambda: app)
    result = CliRunner().invoke(cli.main, ["purge"])

    assert result.exit_code == 0, result.output
    assert "past their retention period" in result.output


@pytest.mark.parametrize("change", [{"retention_medical_years": 15}, {"retention_audit_years": 2}])
def test_a_retention_shorter_than_the_law_allows_is_refused(tmp_path: Path, change: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match="Retention"):
        load_settings(env="test", instance_path=tmp_path, **change)


def test_a_draft_retention_of_less_than_a_day_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="TRIAGE_RETENTION_DRAFT_DAYS"):
        load_settings(env="test", instance_path=tmp_path, retention_draft_days=0)
