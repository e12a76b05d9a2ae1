"""The patient's context with the consult (issue 23, point 5): a GP system sends the current medication,
allergies and recent measurements as ServiceRequest.supportingInfo; each is checked, kept encrypted, readable
again over FHIR, and required where the agreement says so."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome
from flask import Flask
from sqlalchemy import func, select, text

from tests.conftest import GPSystem, example, new_request
from triage_service.consults.context_form import allergy, blood_pressure, lab_result, medication_list
from triage_service.database import session_scope
from triage_service.encryption.fields import PREFIX
from triage_service.models import AuditEntry, Consult, ConsultContextItem
from triage_service.settings import PROJECT_ROOT

CARDIOLOGY_BUNDLE = "Bundle-example-cardiology-context.json"
MEASURED = "2026-11-20T08:30:00+01:00"


def with_context(request: dict[str, Any], *resources: dict[str, Any]) -> dict[str, Any]:
    """The request with these resources contained and named in supportingInfo."""
    body = new_request(request)
    for resource in resources:
        body["contained"].append(copy.deepcopy(resource))
        body.setdefault("supportingInfo", []).append({"reference": f"#{resource['id']}"})
    return body


def pressure(systolic: float = 150, diastolic: float = 90, when: str = MEASURED) -> dict[str, Any]:
    bp = blood_pressure("bp", systolic, diastolic, date(2026, 11, 20))
    bp["effectiveDateTime"] = when
    return bp


def refused(response: Any) -> list[tuple[str, str]]:
    """The (expression, diagnostics) pairs of a 422."""
    assert response.status_code == 422, response.get_json()
    return [(i.get("expression", [""])[0], i["diagnostics"]) for i in response.get_json()["issue"]]


def cardiology_bundle() -> dict[str, Any]:
    return example(CARDIOLOGY_BUNDLE)


def entry_of(bundle: dict[str, Any], resource_type: str, index: int = 0) -> dict[str, Any]:
    return [e for e in bundle["entry"] if e["resource"]["resourceType"] == resource_type][index]


# -- sending context ---------------------------------------------------------------------------------------------

def test_a_his_sends_a_cardiology_e_consult_with_its_context_in_one_transaction(app: Flask, gp: GPSystem) -> None:
    response = gp.post("/fhir", cardiology_bundle())
    assert response.status_code == 200, response.get_json()
    locations = [e["response"]["location"].split("/_history")[0] for e in response.get_json()["entry"]]
    consult_id = locations[-1].split("/")[1]
    request = gp.get(f"/fhir/ServiceRequest/{consult_id}").get_json()
    pointed = [ref["reference"] for ref in request["supportingInfo"]]
    for kind in ("Observation", "MedicationStatement", "AllergyIntolerance"):
        for location in (loc for loc in locations if loc.startswith(f"{kind}/")):
            assert location in pointed  # supportingInfo points where the resource is read
            read = gp.get(f"/fhir/{location}")
            assert read.status_code == 200 and read.get_json()["id"] == location.split("/")[1]
    with session_scope(app) as session:
        kinds = sorted(session.scalars(select(ConsultContextItem.kind)
                                       .where(ConsultContextItem.consult_id == consult_id)))
        assert kinds == ["allergies", "blood-pressure", "egfr", "hba1c", "medication", "medication"]
        consult = session.get(Consult, consult_id)
        assert consult is not None
        audited = session.scalars(select(AuditEntry).where(AuditEntry.event.in_(("fhir.create", "fhir.read")),
                                                           AuditEntry.resource_type == "Observation")).all()
        # Each entry's creation and each read, under the consult's patient (NEN 7513).
        assert len(audited) == 6 and {a.patient_ref for a in audited} == {consult.patient_resource_id}


def test_a_retried_transaction_answers_with_the_context_kept_the_first_time(app: Flask, gp: GPSystem) -> None:
    first = gp.post("/fhir", cardiology_bundle()).get_json()["entry"]
    again = gp.post("/fhir", cardiology_bundle())  # the ServiceRequest's ifNoneExist matches the first
    assert again.status_code == 200, again.get_json()
    for before, after in zip(first, again.get_json()["entry"], strict=True):
        if before["response"]["location"].startswith(("Observation/", "MedicationStatement/", "AllergyIntolerance/")):
            assert after["response"]["location"] == before["response"]["location"]
            assert after["response"]["status"] == "200 OK"
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(ConsultContextItem)) == 6
        assert session.scalar(select(func.count()).select_from(Consult)) == 1


def test_a_gp_system_reads_a_context_resource_with_a_fhir_client_library(live_server: str, gp: GPSystem) -> None:
    response = gp.post("/fhir", cardiology_bundle())
    observation = next(e["response"]["location"].split("/")[1] for e in response.get_json()["entry"]
                       if e["response"]["location"].startswith("Observation/"))
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}",
                          extra_headers={"Content-Type": "application/fhir+json"})
    read = fhir.reference("Observation", observation).to_resource()
    assert read["code"]["coding"][0]["code"] == "85354-9"
    assert [c["valueQuantity"]["value"] for c in read["component"]] == [158, 94]


def test_a_fhir_client_library_sees_the_implausible_pressure_as_an_operation_outcome(
        live_server: str, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    body = with_context(consult_request, pressure(systolic=900))
    body.pop("id")
    fhir = SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}",
                          extra_headers={"Content-Type": "application/fhir+json", "Accept-Language": "en"})
    with pytest.raises(OperationOutcome) as caught:
        fhir.resource("ServiceRequest", **body).save()
    assert "not plausible" in str(caught.value) and "component[0].valueQuantity.value" in str(caught.value)


def test_contained_context_is_kept_and_read_with_its_service_request(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    listed = medication_list("meds", "Metoprolol 50 mg 1dd1\nAcetylsalicylzuur 80 mg 1dd1", _day())
    body = with_context(consult_request, pressure(), listed, allergy("allergy", "Penicilline", "Urticaria"))
    response = gp.post("/fhir/ServiceRequest", body)
    assert response.status_code == 201, response.get_json()
    read = gp.get(f"/fhir/ServiceRequest/{response.get_json()['id']}").get_json()
    assert {c["id"] for c in read["contained"]} >= {"bp", "meds", "allergy"}
    with session_scope(app) as session:
        items = session.scalars(select(ConsultContextItem).order_by(ConsultContextItem.position)).all()
        assert [(i.kind, i.contained_id) for i in items] == [
            ("blood-pressure", "bp"), ("medication", "meds"), ("allergies", "allergy")]


def test_a_contained_context_resource_is_not_readable_on_its_own(gp: GPSystem, consult_request: dict) -> None:
    gp.post("/fhir/ServiceRequest", with_context(consult_request, pressure()))
    assert gp.get("/fhir/Observation/bp").status_code == 404


def test_the_context_is_stored_encrypted(app: Flask, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    listed = medication_list("meds", "Metoprolol 50 mg 1dd1", _day())
    gp.post("/fhir/ServiceRequest", with_context(consult_request, pressure(), listed,
                                                 allergy("allergy", "Penicilline", None)))
    with session_scope(app) as session:
        raw = session.execute(text("SELECT resource FROM consult_context_items")).scalars().all()
    assert len(raw) == 3
    for value in raw:
        stored = value if isinstance(value, str) else str(value)
        assert PREFIX in stored
        for plain in ("85354-9", "Penicilline", "Metoprolol", "#patient", "mm[Hg]"):
            assert plain not in stored


def test_a_medication_list_sent_as_a_transaction_entry_is_read_as_a_document_reference(gp: GPSystem) -> None:
    bundle = cardiology_bundle()
    listed = medication_list("x", "Amlodipine 10 mg 1dd1", _day(), subject=bundle["entry"][0]["fullUrl"])
    listed.pop("id")
    url = "urn:uuid:5c0f0a52-7d1e-4b8e-9d7a-000000000098"
    bundle["entry"].insert(-1, {"fullUrl": url, "resource": listed,
                                "request": {"method": "POST", "url": "DocumentReference"}})
    entry_of(bundle, "ServiceRequest")["resource"]["supportingInfo"].append({"reference": url})
    response = gp.post("/fhir", bundle)
    assert response.status_code == 200, response.get_json()
    location = response.get_json()["entry"][-2]["response"]["location"].split("/_history")[0]
    read = gp.get(f"/fhir/{location}").get_json()
    assert location.startswith("DocumentReference/") and read["type"]["coding"][0]["code"] == "10160-0"


def test_a_measurement_may_name_the_patient_by_bsn(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    bp = pressure()
    bp["subject"] = {"type": "Patient", "identifier": {"system": "http://fhir.nl/fhir/NamingSystem/bsn",
                                                       "value": "999990019"}}
    assert gp.post("/fhir/ServiceRequest", with_context(consult_request, bp)).status_code == 201


def test_another_practice_cannot_read_a_practice_s_context(gp: GPSystem, other_gp: GPSystem) -> None:
    response = gp.post("/fhir", cardiology_bundle())
    location = next(e["response"]["location"].split("/_history")[0] for e in response.get_json()["entry"]
                    if e["response"]["location"].startswith("AllergyIntolerance/"))
    assert gp.get(f"/fhir/{location}").status_code == 200
    assert other_gp.get(f"/fhir/{location}").status_code == 404


# -- bad context: each refused with the element's path, nothing stored ---------------------------------------------

def _count(app: Flask) -> tuple[int, int]:
    with session_scope(app) as session:
        return (session.scalar(select(func.count()).select_from(Consult)) or 0,
                session.scalar(select(func.count()).select_from(ConsultContextItem)) or 0)


def test_a_systolic_pressure_of_900_is_refused_at_its_value(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, pressure(systolic=900))))
    assert ("ServiceRequest.contained[4].component[0].valueQuantity.value",
            "The value is not plausible in mm[Hg] (expected 50 to 300): check the value and the unit") in issues
    assert _count(app) == (0, 0)  # nothing half-stored


def test_the_refusal_is_dutch_by_default(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    gp.language = None
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, pressure(systolic=900))))
    assert any("niet plausibel" in diagnostics for _, diagnostics in issues), issues


def test_a_systolic_pressure_below_the_diastolic_is_refused(gp: GPSystem, consult_request: dict) -> None:
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, pressure(80, 120))))
    assert issues == [("ServiceRequest.contained[4].component",
                       "The systolic pressure must be higher than the diastolic pressure")]


def test_a_pressure_in_another_unit_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    bp = pressure()
    bp["component"][1]["valueQuantity"].update(unit="kPa", code="kPa")
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, bp)))
    assert issues[0][0] == "ServiceRequest.contained[4].component[1].valueQuantity.code"
    assert "mm[Hg]" in issues[0][1]


def test_a_measurement_dated_in_the_future_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request,
                                                                    pressure(when="2026-11-24T08:00:00+01:00"))))
    assert issues == [("ServiceRequest.contained[4].effectiveDateTime",
                       "This date lies in the future; send when it was measured or recorded")]


def test_a_measurement_without_a_date_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    bp = pressure()
    bp.pop("effectiveDateTime")
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, bp)))
    assert issues[0][0] == "ServiceRequest.contained[4].effective"


def test_a_measurement_the_service_does_not_know_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    cholesterol = lab_result("ldl", "13457-7", "LDL cholesterol", 3.1, "mmol/L", date(2026, 11, 2))
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, cholesterol)))
    assert issues[0][0] == "ServiceRequest.contained[4].code" and "85354-9" in issues[0][1]


def test_an_hba1c_in_mmol_per_mol_sent_as_percent_is_refused(gp: GPSystem, consult_request: dict) -> None:
    hba1c = lab_result("hba1c", "4548-4", "Hemoglobin A1c", 53, "%", date(2026, 11, 2))
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, hba1c)))
    assert issues == [("ServiceRequest.contained[4].valueQuantity.value",
                       "The value is not plausible in % (expected 3 to 20): check the value and the unit")]


def test_a_preliminary_result_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    bp = pressure()
    bp["status"] = "preliminary"
    assert refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, bp)))[0][0] == \
        "ServiceRequest.contained[4].status"


def test_a_measurement_of_another_patient_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    bp = pressure()
    bp["subject"] = {"reference": "Patient/someone-else"}
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, bp)))
    assert issues[0][0] == "ServiceRequest.contained[4].subject"


def test_a_medicine_nobody_can_read_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    medicine = {"resourceType": "MedicationStatement", "id": "med", "status": "active",
                "subject": {"reference": "#patient"},
                "medicationCodeableConcept": {"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.4.1",
                                                          "code": "22993"}]}}
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, medicine)))
    assert issues[0][0] == "ServiceRequest.contained[4].medicationCodeableConcept"


def test_a_medicine_sent_as_a_medication_reference_is_refused(gp: GPSystem, consult_request: dict) -> None:
    medicine = {"resourceType": "MedicationStatement", "id": "med", "status": "active",
                "subject": {"reference": "#patient"}, "medicationReference": {"display": "Metoprolol"}}
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, medicine)))
    assert issues[0][0] == "ServiceRequest.contained[4].medicationReference"


def test_an_allergy_without_its_substance_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    without = allergy("allergy", "x", None)
    without.pop("code")
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request, without)))
    assert issues[0][0] == "ServiceRequest.contained[4].code"


def test_an_empty_medication_list_is_refused(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    issues = refused(gp.post("/fhir/ServiceRequest", with_context(consult_request,
                                                                    medication_list("meds", "  \n ", _day()))))
    assert issues[0][0] == "ServiceRequest.contained[4].content[0].attachment.data"


def test_a_bad_entry_in_a_transaction_is_named_by_its_own_entry(app: Flask, gp: GPSystem) -> None:
    bundle = cardiology_bundle()
    entry_of(bundle, "Observation")["resource"]["component"][0]["valueQuantity"]["value"] = 900
    index = bundle["entry"].index(entry_of(bundle, "Observation"))
    issues = refused(gp.post("/fhir", bundle))
    assert issues[0][0] == f"Bundle.entry[{index}].resource.component[0].valueQuantity.value"
    assert _count(app) == (0, 0)


def test_a_context_entry_the_service_request_does_not_name_is_refused(app: Flask, gp: GPSystem) -> None:
    bundle = cardiology_bundle()
    service_request = entry_of(bundle, "ServiceRequest")["resource"]
    dropped = service_request["supportingInfo"].pop(5)  # the allergy
    index = next(i for i, e in enumerate(bundle["entry"]) if e["fullUrl"] == dropped["reference"])
    issues = refused(gp.post("/fhir", bundle))
    assert issues[0][0] == f"Bundle.entry[{index}].fullUrl" and "supportingInfo" in issues[0][1]
    assert _count(app) == (0, 0)


# -- required by the agreement -----------------------------------------------------------------------------------

def test_a_cardiology_e_consult_without_its_ecg_is_refused_naming_what_is_missing(app: Flask, gp: GPSystem) -> None:
    bundle = cardiology_bundle()
    service_request = entry_of(bundle, "ServiceRequest")["resource"]
    ecg = entry_of(bundle, "DocumentReference")["fullUrl"]
    service_request["supportingInfo"] = [r for r in service_request["supportingInfo"] if r["reference"] != ecg]
    issues = refused(gp.post("/fhir", bundle))
    index = bundle["entry"].index(entry_of(bundle, "ServiceRequest"))
    assert issues == [(f"Bundle.entry[{index}].resource.supportingInfo",
                       "Agreement MKC-CARD requires an ECG (DocumentReference of type LOINC 11524-6 with a PDF) with "
                       "a consult of this form (e-consult): send it as ServiceRequest.supportingInfo")]
    assert _count(app) == (0, 0)


def test_a_cardiology_video_consult_without_a_blood_pressure_is_refused_in_dutch(
        gp: GPSystem, consult_request: dict[str, Any]) -> None:
    from tests.test_appointments import video_request

    body = video_request(consult_request)
    body["contained"] = [c for c in body["contained"] if c["id"] != "bp"]
    body.pop("supportingInfo")
    gp.language = None
    issues = refused(gp.post("/fhir/ServiceRequest", body))
    assert [expression for expression, _ in issues] == ["ServiceRequest.supportingInfo"]
    assert "bloeddruk" in issues[0][1] and "MKC-CARD" in issues[0][1]


def test_the_requirement_holds_in_validate_too(gp: GPSystem, consult_request: dict[str, Any]) -> None:
    from tests.test_appointments import video_request

    body = video_request(consult_request)
    assert gp.post("/fhir/ServiceRequest/$validate", body).get_json()["issue"][0]["severity"] == "information"
    body["contained"] = [c for c in body["contained"] if c["id"] != "bp"]
    body.pop("supportingInfo")
    outcome = gp.post("/fhir/ServiceRequest/$validate", body).get_json()
    assert [i["expression"] for i in outcome["issue"]] == [["ServiceRequest.supportingInfo"]]


def test_the_example_bundle_is_published_beside_the_profiles() -> None:
    assert (PROFILE_EXAMPLES / CARDIOLOGY_BUNDLE).exists()


PROFILE_EXAMPLES = PROJECT_ROOT / "fhir_profiles" / "examples"


def _day() -> datetime:
    return datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_an_expired_consult_goes_with_its_context(app: Flask, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    from tests.conftest import START
    from triage_service.attachments.documents import blob_store
    from triage_service.records.retention import purge

    old = gp.post("/fhir/ServiceRequest", with_context(consult_request, pressure())).get_json()["id"]
    recent = gp.post("/fhir/ServiceRequest", with_context(consult_request, pressure())).get_json()["id"]
    with app.extensions["triage.engine"].begin() as conn:  # untouched since 2005: past the 20 years
        conn.execute(text("UPDATE consults SET created_at = :t, updated_at = :t WHERE id = :c"),
                     {"t": "2005-01-01 00:00:00", "c": old})
        conn.execute(text("UPDATE consult_tasks SET updated_at = :t WHERE consult_id = :c"),
                     {"t": "2005-01-01 00:00:00", "c": old})
    settings = app.extensions["triage.settings"]
    with session_scope(app) as session:
        assert purge(session, settings, blob_store(settings), START).consults == 1
    with session_scope(app) as session:
        assert session.scalars(select(ConsultContextItem.consult_id)).all() == [recent]
