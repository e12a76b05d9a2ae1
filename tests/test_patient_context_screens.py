"""The patient's context on the screens (issue 23, point 5): the GP's portal section "Medicatie, allergieën en
metingen" with its form errors in Dutch, and the tables the specialist reads on the consult page. Also what an
agreement file may say about it (context_required)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import GPSystem, example
from tests.web.test_inbox import csrf, log_in
from tests.web.test_portal import consult_form, gp_logs_in
from triage_service.agreements.importer import AgreementImportError, parse_agreement_file
from triage_service.database import session_scope
from triage_service.demo import DEMO_USERS
from triage_service.demo.context import ecg_pdf
from triage_service.models import Consult, ConsultContextItem
from triage_service.settings import PROJECT_ROOT

CARDIOLOGIST = next(u for u in DEMO_USERS if u[0] == "cardioloog")
PASTED = "Metoprolol tablet 50 mg      1 x per dag 1 tablet\nAcetylsalicylzuur 80 mg      1 x per dag 1 tablet"


def cardiology_form(form: str = "video-consult", **changes: str) -> dict[str, Any]:
    values = {"ctx_bp_systolic": "165", "ctx_bp_diastolic": "95", "ctx_bp_date": "2026-11-20", **changes}
    return consult_form(ask=f"0320|{form}", icpc="K86", complaint="Hypertensie",
                        question="Bloeddruk blijft hoog ondanks twee middelen; welk middel voegt u toe?", **values)


def send(browser: FlaskClient, form: dict[str, Any], ecg: bytes | None = None) -> Any:
    page = browser.get("/huisarts/nieuw")
    data = {**form, "csrf_token": csrf(page), "action": "send"}
    if ecg is not None:
        data["ecg"] = [(io.BytesIO(ecg), "ecg.pdf", "application/pdf")]
    return browser.post("/huisarts/nieuw", data=data, content_type="multipart/form-data")


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    return app.test_client()


def cardiologist_reads(app: Flask, clock: Any, consult_id: str) -> str:
    specialist = app.test_client()
    log_in(specialist, clock, CARDIOLOGIST[0], secret=CARDIOLOGIST[3])
    page = specialist.get(f"/consults/{consult_id}")
    assert page.status_code == 200
    return str(page.get_data(as_text=True))


def _consults(app: Flask) -> int:
    with session_scope(app) as session:
        return session.scalar(select(func.count()).select_from(Consult)) or 0


def test_a_gp_pastes_the_medication_list_and_the_cardiologist_reads_it_line_by_line(
        app: Flask, browser: FlaskClient, clock: Any) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, cardiology_form(ctx_medication=PASTED, ctx_allergy_1="Penicilline",
                                             ctx_reaction_1="Urticaria", ctx_hba1c="7,1", ctx_hba1c_unit="%",
                                             ctx_hba1c_date="2026-11-02"))
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    consult_id = response.headers["Location"].rsplit("/", 1)[-1]
    own = browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)  # the GP sees what was sent
    assert f'<pre class="medication-list">{PASTED}</pre>' in own and "165/95 mmHg" in own
    page = cardiologist_reads(app, clock, consult_id)
    assert "Medicatie, allergieën en metingen" in page
    assert f'<pre class="medication-list">{PASTED}</pre>' in page.replace("&#39;", "'")
    assert "165/95 mmHg" in page and "7,1 %" in page and "20 nov 2026" in page
    assert "<td>Penicilline</td><td>Urticaria</td>" in page


def test_a_systolic_pressure_of_900_is_a_form_error_in_dutch(app: Flask, browser: FlaskClient, clock: Any) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, cardiology_form(ctx_bp_systolic="900"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="ctx_bp_systolic-error"' in page and "niet plausibel: verwacht 50 tot 300 mmHg" in page
    assert 'aria-invalid="true" aria-describedby="ctx_bp_systolic-error"' in page
    assert _consults(app) == 0


def test_a_measurement_dated_in_the_future_is_a_form_error(app: Flask, browser: FlaskClient, clock: Any) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, cardiology_form(ctx_bp_date="2026-11-30"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="ctx_bp_date-error"' in page and "Deze datum ligt in de toekomst" in page
    assert _consults(app) == 0


def test_a_pressure_that_is_not_a_number_is_a_form_error(app: Flask, browser: FlaskClient, clock: Any) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, cardiology_form(ctx_bp_diastolic="negentig"))
    assert response.status_code == 422
    assert 'id="ctx_bp_diastolic-error"' in response.get_data(as_text=True)


def test_a_reaction_without_its_substance_is_a_form_error(app: Flask, browser: FlaskClient, clock: Any) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, cardiology_form(ctx_reaction_2="Benauwdheid"))
    assert response.status_code == 422
    assert 'id="ctx_allergy_2-error"' in response.get_data(as_text=True)


def test_a_cardiology_e_consult_without_its_context_is_refused_beside_the_fields(
        app: Flask, browser: FlaskClient, clock: Any) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, cardiology_form("e-consult", ctx_bp_systolic="", ctx_bp_diastolic="", ctx_bp_date=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="ctx_bp_systolic-error"' in page and 'id="ctx_ecg-error"' in page
    assert "De samenwerkingsafspraak vraagt bij deze consultvorm om een bloeddruk" in page
    assert "om een ECG als pdf" in page
    assert _consults(app) == 0


def test_an_ecg_added_in_the_portal_meets_the_agreement(app: Flask, browser: FlaskClient, clock: Any,
                                                        gp: GPSystem) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, cardiology_form("e-consult"), ecg=ecg_pdf())
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    consult_id = response.headers["Location"].rsplit("/", 1)[-1]
    request = gp.get(f"/fhir/ServiceRequest/{consult_id}").get_json()
    documents = [gp.get(f"/fhir/{r['reference']}").get_json() for r in request["supportingInfo"]
                 if r["reference"].startswith("DocumentReference/")]
    assert [d["type"]["coding"][0]["code"] for d in documents] == ["11524-6"]
    assert "Er is een ECG meegestuurd" in cardiologist_reads(app, clock, consult_id)


def test_a_photo_is_not_taken_for_an_ecg(app: Flask, browser: FlaskClient, clock: Any) -> None:
    from tests.web.test_portal import sharp_photo

    gp_logs_in(browser, clock)
    page = browser.get("/huisarts/nieuw")
    response = browser.post("/huisarts/nieuw", data={
        **cardiology_form("e-consult"), "csrf_token": csrf(page), "action": "send",
        "ecg": [(io.BytesIO(sharp_photo()), "ecg.jpg", "image/jpeg")]}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert 'id="ctx_ecg-error"' in response.get_data(as_text=True)


def test_the_inbox_shows_a_his_s_context_as_tables(app: Flask, clock: Any, gp: GPSystem) -> None:
    sent = gp.post("/fhir", example("Bundle-example-cardiology-context.json")).get_json()["entry"]
    consult_id = sent[-1]["response"]["location"].split("/")[1]
    page = cardiologist_reads(app, clock, consult_id)
    assert page.count('<table class="context') == 3
    assert "158/94 mmHg" in page and "58 mmol/mol" in page and "52 ml/min/1,73 m²" in page
    assert "Amlodipine tablet 10 mg" in page and "1 x per dag 1 tablet" in page and "sinds 1 sep 2025" in page
    assert "Lisinopril (ACE-remmer)" in page and "Prikkelhoest" in page and "laag" in page
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(ConsultContextItem)) == 6


# -- the agreement file ------------------------------------------------------------------------------------------

def _agreement(tmp_path: Path, block: str) -> Path:
    text = (PROJECT_ROOT / "config" / "agreements" / "cardiologie.yaml").read_text(encoding="utf-8")
    start = text.index("context_required:")
    end = text.index("answer_norms:")
    path = tmp_path / "cardiologie.yaml"
    path.write_text(text[:start] + block + text[end:], encoding="utf-8")
    return path


def test_the_cardiology_agreement_requires_a_blood_pressure_and_an_ecg() -> None:
    data = parse_agreement_file(PROJECT_ROOT / "config" / "agreements" / "cardiologie.yaml")
    assert data["context_required"] == {"e-consult": ["bloeddruk", "ecg"], "video-consult": ["bloeddruk"]}


def test_an_agreement_naming_unknown_context_is_refused_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(AgreementImportError) as refused:
        parse_agreement_file(_agreement(tmp_path, "context_required:\n  e-consult: [bloedsuiker]\n"))
    assert "onbekend gegeven bloedsuiker" in str(refused.value) and "context_required" in str(refused.value)


def test_an_agreement_requiring_context_for_a_form_it_does_not_allow_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AgreementImportError) as refused:
        parse_agreement_file(_agreement(tmp_path, "context_required:\n  ecms: [ecg]\n"))
    assert "de afspraak staat die consultvorm niet toe" in str(refused.value)
