"""Agreement files are validated completely before import; errors name file, line and reason,
and a failed import leaves the previous agreement intact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from triage_service.agreements.importer import AgreementImportError, import_agreements
from triage_service.database import session_scope
from triage_service.models import Agreement

AGREEMENTS = Path(__file__).resolve().parent.parent / "config" / "agreements"
DERMATOLOGY = (AGREEMENTS / "dermatologie.yaml").read_text(encoding="utf-8")


def _import(app: Flask, tmp_path: Path, text: str) -> AgreementImportError:
    file = tmp_path / "dermatologie.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(AgreementImportError) as caught, session_scope(app) as session:
        import_agreements(session, file)
    return caught.value


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_the_demo_agreements_import_with_their_profiles(app: Flask) -> None:
    with session_scope(app) as session:
        codes = {a.code: len(a.profiles) for a in session.scalars(select(Agreement))}
    assert codes == {"MKC-DERM": 4, "MKC-CARD": 1, "MKC-ORTH": 4, "MKC-OPTO": 1, "TRIAGE-DERM": 1, "MKC-HAP-CARD": 1,
                     "MKC-HAP-DERM": 1, "MKC-KADER-DERM": 2, "MKC-ESP": 1, "MKC-WOND": 2}


def test_a_typo_in_a_key_is_refused_with_its_line(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("min_photos: 2", "min_fotos: 2")
    error = _import(app, tmp_path, text)
    assert [(e.line, e.field) for e in error.errors] == [(_line_of(text, "min_fotos"), "profiles.0.min_fotos")]
    assert "dermatologie.yaml" in str(error.errors[0])


def test_a_tariff_given_as_a_float_is_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("s3_tariff_cents: 7500", "s3_tariff_cents: 75.00")
    error = _import(app, tmp_path, text)
    assert error.errors[0].field == "tariffs.s3_tariff_cents"
    assert error.errors[0].line == _line_of(text, "s3_tariff_cents")


def test_an_unknown_specialism_code_is_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace('specialism: "0310"\n    icpc: [S]\n    age: {min: 18',
                               'specialism: "9999"\n    icpc: [S]\n    age: {min: 18')
    error = _import(app, tmp_path, text)
    assert any(e.field == "profiles.0.specialism" and "unknown specialism" in e.message for e in error.errors)


def test_an_answer_norm_of_zero_is_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("routine: {working_days: 2}", "routine: {working_days: 0}")
    error = _import(app, tmp_path, text)
    assert error.errors[0].field == "answer_norms.routine.value.working_days"
    assert error.errors[0].line == _line_of(text, "routine:")


def test_a_profile_form_outside_the_agreement_is_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("consult_forms: [intercollegial-consult]", "consult_forms: [video-consult]")
    error = _import(app, tmp_path, text)
    assert any("video-consult" in e.message for e in error.errors)


def test_yaml_that_does_not_parse_is_refused_with_its_line(app: Flask, tmp_path: Path) -> None:
    error = _import(app, tmp_path, "code: X\nname: [unclosed\n")
    assert error.errors[0].line >= 2 and "YAML" in error.errors[0].message


def test_a_failed_import_keeps_the_previous_agreement(app: Flask, tmp_path: Path) -> None:
    _import(app, tmp_path, DERMATOLOGY.replace("s3_tariff_cents: 7500", "s3_tariff_cents: 1.5"))
    with session_scope(app) as session:
        agreement = session.scalar(select(Agreement).where(Agreement.code == "MKC-DERM"))
        assert agreement is not None and agreement.s3_tariff_cents == 7500


def test_profiles_that_contradict_each_other_are_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace('''    consult_forms: [ecms]
''', '''    consult_forms: [ecms]
    physical_contact_required: true
''')
    error = _import(app, tmp_path, text)
    assert error.errors[0].field == "profiles.3.physical_contact_required"
    assert "contradicts profile 0" in error.errors[0].message
    assert error.errors[0].line == _line_of(text, "physical_contact_required: true")


def test_a_physical_contact_profile_for_other_complaints_is_no_contradiction(app: Flask, tmp_path: Path) -> None:
    orthopaedics = (AGREEMENTS / "orthopedie.yaml").read_text(encoding="utf-8")
    file = tmp_path / "orthopedie.yaml"
    file.write_text(orthopaedics, encoding="utf-8")
    with session_scope(app) as session:
        assert [a.code for a in import_agreements(session, file)] == ["MKC-ORTH"]


def test_reimporting_an_unchanged_agreement_changes_nothing(app: Flask) -> None:
    with session_scope(app) as session:
        before = session.scalar(select(Agreement.id).where(Agreement.code == "MKC-DERM"))
        import_agreements(session, AGREEMENTS / "dermatologie.yaml")
        assert session.scalar(select(Agreement.id).where(Agreement.code == "MKC-DERM")) == before


def test_an_agreement_in_use_cannot_change_without_a_new_version(
        app: Flask, tmp_path: Path, gp: Any, consult_request: dict) -> None:
    assert gp.post("/fhir/ServiceRequest", consult_request).status_code == 201  # routed under MKC-DERM
    error = _import(app, tmp_path, DERMATOLOGY.replace("s3_tariff_cents: 7500", "s3_tariff_cents: 7600"))
    assert "already used by consults" in error.errors[0].message and "valid_from" in error.errors[0].message
    with session_scope(app) as session:
        agreement = session.scalar(select(Agreement).where(Agreement.code == "MKC-DERM"))
        assert agreement is not None and agreement.s3_tariff_cents == 7500
