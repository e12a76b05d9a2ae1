"""Agreement texts are Dutch with an optional English translation, and the norm time per consult form
(normtijd) is validated and stored (issue 21)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.conftest import FrozenClock, GPSystem
from tests.test_agreements import DERMATOLOGY, _import, _line_of
from tests.web.test_inbox import VISSER, _submit, log_in
from triage_service.agreements.flag_texts import FlagTexts, texts_for
from triage_service.agreements.importer import import_agreements
from triage_service.agreements.norms import norm_minutes_for
from triage_service.agreements.schema import looks_english
from triage_service.database import session_scope
from triage_service.models import Agreement, Consult, ReferralFlag, User

PERFORMER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
NORMS = "normtijd: {e-consult: 15, intercollegial-consult: 10, ecms: 30}"


def _errors(app: Flask, tmp_path: Path, text: str) -> list[tuple[int, str, str]]:
    return [(e.line, e.field, e.message) for e in _import(app, tmp_path, text).errors]


def test_an_english_flag_reason_is_refused_in_dutch_with_its_line(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("reason: bij verdenking op een huidmaligniteit volgen meestal excisie en controle in "
                               "het ziekenhuis", "reason: a suspected skin malignancy is usually excised")
    [(line, field, message)] = _errors(app, tmp_path, text)
    assert (line, field) == (_line_of(text, "reason: a suspected"), "referral_flags.0.reason")
    assert "moet Nederlands zijn" in message and "reason_en" in message


def test_an_english_profile_name_is_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("name: Huidafwijkingen kinderen (overleg)",
                               "name: Skin problems of children and the elderly")
    [(line, field, message)] = _errors(app, tmp_path, text)
    assert (line, field) == (_line_of(text, "Skin problems"), "profiles.2.name")
    assert "name moet Nederlands zijn" in message


def test_a_translation_equal_to_the_dutch_is_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("name_en: Suspected skin malignancy", "name_en: Verdenking huidmaligniteit")
    [(line, field, message)] = _errors(app, tmp_path, text)
    assert (line, field) == (_line_of(text, "name_en: Verdenking"), "referral_flags.0.name_en")
    assert "name_en is gelijk aan name" in message


def test_an_empty_translation_is_refused(app: Flask, tmp_path: Path) -> None:
    text = DERMATOLOGY.replace("name_en: Suspected skin malignancy", 'name_en: ""')
    [(line, field, message)] = _errors(app, tmp_path, text)
    assert (line, field) == (_line_of(text, 'name_en: ""'), "referral_flags.0.name_en")
    assert "de Engelse vertaling van name" in message


def test_the_dutch_check_refuses_english_sentences_only() -> None:
    assert looks_english("radiating back pain needs a neurological examination in person")
    assert not looks_english("uitstralende rugpijn vraagt om neurologisch onderzoek bij de patiënt zelf")
    assert not looks_english("Hartfalen, hypertensie en ritmestoornissen (ECG meesturen)")
    assert not looks_english("Uitstralende rugpijn")  # no function words: never refused


@pytest.mark.parametrize(("norms", "field", "expected"), [
    ("normtijd: {e-consult: 0}", "normtijd.e-consult.value", "van 1 tot en met 240"),
    ("normtijd: {e-consult: 241}", "normtijd.e-consult.value", "van 1 tot en met 240"),
    ("normtijd: {e-consult: 15.5}", "normtijd.e-consult.value", "hele minuten"),
    ('normtijd: {e-consult: "15"}', "normtijd.e-consult.value", "hele minuten"),
    ("normtijd: {foto-consult: 15}", "normtijd.foto-consult.key", "onbekende consultvorm foto-consult"),
    ("normtijd: {video-consult: 20}", "normtijd.video-consult",
     "de afspraak staat die consultvorm niet toe"),
    ("normtijd: 15", "normtijd", "normtijd geeft per consultvorm de minuten, bijvoorbeeld {e-consult: 15"),
])
def test_a_wrong_norm_time_is_refused_in_dutch_with_its_line(
        app: Flask, tmp_path: Path, norms: str, field: str, expected: str) -> None:
    text = DERMATOLOGY.replace(NORMS, norms)
    assert text != DERMATOLOGY
    [(line, got_field, message)] = _errors(app, tmp_path, text)
    assert (line, got_field) == (_line_of(text, norms), field)
    assert expected in message


def test_the_norm_time_is_stored_and_read_for_a_consult(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    consult_id = _submit(gp, consult_request, performer=PERFORMER)
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        agreement = session.get(Agreement, consult.agreement_id)
        assert agreement is not None and agreement.norm_minutes == {"e-consult": 15, "intercollegial-consult": 10,
                                                                     "ecms": 30}
        assert norm_minutes_for(session, consult) == agreement.norm_minutes[consult.consult_form]
        consult.consult_form = "ecms"
        assert norm_minutes_for(session, consult) == 30
        consult.consult_form = "video-consult"  # a form the agreement gives no norm time
        assert norm_minutes_for(session, consult) is None
        consult.agreement_id = None  # not routed
        assert norm_minutes_for(session, consult) is None
        session.rollback()


def test_an_agreement_without_norm_times_imports(app: Flask, tmp_path: Path) -> None:
    file = tmp_path / "dermatologie.yaml"
    file.write_text(DERMATOLOGY.replace(NORMS + "\n", "").replace("valid_from: 2026-01-01", "valid_from: 2026-02-01"),
                    encoding="utf-8")
    with session_scope(app) as session:
        [agreement] = import_agreements(session, file)
        assert agreement.norm_minutes == {}
        session.rollback()


def _flag(app: Flask, consult_id: str) -> FlagTexts:
    with session_scope(app) as session:
        flag = session.scalar(select(ReferralFlag).where(ReferralFlag.consult_id == consult_id))
        assert flag is not None
        return texts_for(session, flag)


def test_a_flag_finds_its_english_through_the_consults_agreement(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    texts = _flag(app, _submit(gp, consult_request, performer=PERFORMER))  # S82: a red flag
    assert texts.name_in("nl") == texts.name_in("de") == "Veranderende gepigmenteerde laesie"
    assert texts.name_in("en") == "Changing pigmented lesion"
    assert texts.reason_in("nl").startswith("een veranderende gepigmenteerde laesie vraagt om dermatoscopie")
    assert texts.reason_in("en").startswith("a changing pigmented lesion needs dermatoscopy")
    assert texts.localized("reason").texts["en"] == texts.reason_en


def test_a_flag_without_translation_or_agreement_keeps_its_dutch(app: Flask) -> None:
    untranslated = FlagTexts("Uitstralende rugpijn", "neurologisch onderzoek nodig")
    assert untranslated.reason_in("en") == "neurologisch onderzoek nodig"
    assert untranslated.localized("name").texts == {"nl": "Uitstralende rugpijn", "en": "Uitstralende rugpijn"}
    orphan = ReferralFlag(consult_id="no-such-consult", kind="red-flag", rule="Oud", reason="old reason")
    with session_scope(app) as session:
        assert texts_for(session, orphan) == FlagTexts("Oud", "old reason")
    assert texts_for(None, orphan) == FlagTexts("Oud", "old reason")


def _english(app: Flask, username: str) -> None:
    with session_scope(app) as session:
        session.execute(update(User).where(User.username == username).values(language="en"))


def test_the_inbox_shows_the_flag_in_the_users_language(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = _submit(gp, consult_request, performer=PERFORMER)
    dutch: FlaskClient = app.test_client()
    log_in(dutch, clock)
    page = dutch.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert ("Waarschijnlijke verwijzing (Veranderende gepigmenteerde laesie): een veranderende gepigmenteerde "
            "laesie vraagt om dermatoscopie") in page
    _english(app, VISSER[0])
    clock.advance(seconds=60)  # a fresh TOTP code
    english: FlaskClient = app.test_client()
    log_in(english, clock)
    page = english.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert "Likely referral (Changing pigmented lesion): a changing pigmented lesion needs dermatoscopy" in page
    assert "dermatoscopie" not in page


