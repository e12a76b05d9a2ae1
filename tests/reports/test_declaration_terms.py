"""Declarations configurable per contract (issue 22, point 6), checked against figures worked out by hand.

The world is De Linde (AGB 03012345) asking dr. Visser under MKC-DERM (zorggroep 07300001, specialists'
organisation 06010001, insurer 3311, prestatie 13042 at 75,00); a test changes the agreement's terms in the
database for its own duration (``contract``). The patient of the example request has BSN 999990019, birth
date 12-04-1968 and insurance number (Coverage.subscriberId) 170012345.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.reports.conftest import ReportClient, World, ams
from tests.test_referral_triage import referral_request
from triage_service.agreements.importer import AgreementImportError, parse_agreement_file
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.errors import FormErrors
from triage_service.models import Agreement, AuditEntry, Consult, DeclarationLine, User
from triage_service.reports.declaration_terms import tariff_warnings
from triage_service.security.web_auth import inbox_user

AGREEMENTS = Path(__file__).resolve().parent.parent.parent / "config" / "agreements"
DERMATOLOGY = (AGREEMENTS / "dermatologie.yaml").read_text(encoding="utf-8")
TARIFFS_END = "  average_referral_cost_cents: 18500  # second-line cost of a referral (business case); illustrative\n"
DE_LINDE, ZORGGROEP, HOSPITAL = "03012345", "07300001", "06010001"
NO_OPEN_DBC = "no-open-dbc"


# -- the agreement file ---------------------------------------------------------------------------------------


def _parse(tmp_path: Path, block: str) -> dict[str, Any]:
    file = tmp_path / "dermatologie.yaml"
    file.write_text(DERMATOLOGY.replace(TARIFFS_END, TARIFFS_END + block), encoding="utf-8")
    return parse_agreement_file(file)


def _refused(tmp_path: Path, block: str) -> list[tuple[int, str, str]]:
    with pytest.raises(AgreementImportError) as caught:
        _parse(tmp_path, block)
    return [(e.line, e.field, e.message) for e in caught.value.errors]


def test_a_file_without_a_declaration_block_is_declared_s3_by_the_zorggroep(tmp_path: Path) -> None:
    from triage_service.agreements.declaration_terms import stored

    data = _parse(tmp_path, "")
    assert "declaratie" not in data  # absent, so the content hash of an agreement in use stays the same
    assert stored(data.get("declaratie")) == {}


def test_a_declaration_block_is_stored_with_english_codes_and_the_payee_defaults_to_the_declarant(
        tmp_path: Path) -> None:
    from triage_service.agreements.declaration_terms import stored

    data = _parse(tmp_path, "declaratie:\n  declarant: praktijk\n  soort: M&I\n  verklaringen: [geen-open-dbc]\n")
    assert stored(data["declaratie"]) == {"declarant": "practice", "payee": "practice", "kind": "M&I",
                                          "attestations": [NO_OPEN_DBC]}
    budget = _parse(tmp_path, "declaratie: {betaald_aan: onderaannemer, soort: eerstelijnsbudget}\n")
    assert stored(budget["declaratie"]) == {"declarant": "zorggroep", "payee": "subcontractor",
                                            "kind": "first-line-budget", "attestations": []}


def test_the_demo_contracts_declare_differently(app: Flask) -> None:
    with session_scope(app) as session:
        terms = {code: terms for code, terms in session.execute(select(Agreement.code, Agreement.declaration))}
    assert terms["MKC-CARD"] == {"declarant": "zorggroep", "payee": "zorggroep", "kind": "S3",
                                 "attestations": [NO_OPEN_DBC]}
    assert terms["MKC-OPTO"] == {"declarant": "practice", "payee": "practice", "kind": "M&I", "attestations": []}
    assert terms["MKC-DERM"] == {}


@pytest.mark.parametrize(("block", "field", "words"), [
    ("declaratie:\n  soort: DBC\n", "declaratie.soort", "onbekende waarde voor soort: DBC"),
    ("declaratie:\n  verklaringen: [geen-dbc]\n", "declaratie.verklaringen.0",
     "onbekende waarde voor verklaringen: geen-dbc; kies uit geen-open-dbc"),
    ("declaratie:\n  declarant: ziekenhuis\n", "declaratie.declarant", "kies uit zorggroep, praktijk"),
    ("declaratie:\n  betaald_aan: verzekeraar\n", "declaratie.betaald_aan",
     "kies uit zorggroep, praktijk, onderaannemer"),
    ("declaratie:\n  verklaringen: [geen-open-dbc, geen-open-dbc]\n", "declaratie.verklaringen",
     "noem elke verklaring een keer"),
    ("declaratie:\n  betaald_door: praktijk\n", "declaratie.betaald_door", "Unknown field."),
    ("declaratie: S3\n", "declaratie", "declaratie geeft declarant, betaald_aan, soort en verklaringen"),
])
def test_a_bad_declaration_block_is_refused_in_dutch_with_its_line(tmp_path: Path, block: str, field: str,
                                                                   words: str) -> None:
    errors = _refused(tmp_path, block)
    text = DERMATOLOGY.replace(TARIFFS_END, TARIFFS_END + block)
    last_line = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("declaratie"))
    last_line += block.count("\n") - 1

    assert len(errors) == 1
    line, found_field, message = errors[0]
    assert found_field == field
    assert words in message
    assert line == last_line  # the line of the offending key (the block's only key, or the block itself)


# -- the contract's terms in the database, for one test ---------------------------------------------------------


@pytest.fixture
def contract(app: Flask) -> Iterator[Callable[..., None]]:
    """Change an agreement's columns (declaration, code, tariff) for one test; restored afterwards."""
    saved: dict[str, dict[str, Any]] = {}

    def change(code: str, **columns: Any) -> None:
        with session_scope(app) as session:
            agreement = session.scalars(select(Agreement).where(Agreement.code == code)).one()
            kept = saved.setdefault(code, {})
            for name, value in columns.items():
                kept.setdefault(name, getattr(agreement, name))
                setattr(agreement, name, value)

    yield change
    with session_scope(app) as session:
        for code, columns in saved.items():
            agreement = session.scalars(select(Agreement).where(Agreement.code == code)).one()
            for name, value in columns.items():
                setattr(agreement, name, value)


def _advise(world: World, name: str, at: Any, attestations: tuple[str, ...] = ()) -> None:
    with session_scope(world.app) as session:
        advice.record_advice(session, world._specialist(), world.ids[name],
                             advice.Advice("Advies.", "primary-care-advice", attestations=attestations), at)


def _close(reports: ReportClient) -> Any:
    return reports.post("/reports/declaration-batches", {"insurer": "3311", "period": "2026-11"})


def _lines(reports: ReportClient, batch_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = reports.get(f"/reports/declaration-batches/{batch_id}").get_json()["lines"]
    return found


def test_without_terms_the_lines_say_the_zorggroep_declares_s3_and_is_paid(world: World,
                                                                           reports: ReportClient) -> None:
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"))
    world.clock.now = ams("2026-12-01 10:00")

    batch = _close(reports).get_json()

    assert [(line["declarant_agb"], line["payee_agb"], line["prestatie_kind"], line["prestatie_code"],
             line["tariff_cents"]) for line in _lines(reports, batch["id"])] == [
        (ZORGGROEP, ZORGGROEP, "S3", "13042", 7500)]


def test_the_lines_carry_the_contract_terms_a_practice_declaring_m_and_i(
        world: World, reports: ReportClient, contract: Callable[..., None]) -> None:
    contract("MKC-DERM", declaration={"declarant": "practice", "payee": "practice", "kind": "M&I",
                                      "attestations": []}, s3_prestatie_code="13001", s3_tariff_cents=1234)
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"))
    world.clock.now = ams("2026-12-01 10:00")

    batch = _close(reports).get_json()

    assert (batch["line_count"], batch["total_cents"]) == (1, 1234)
    assert [(line["declarant_agb"], line["payee_agb"], line["prestatie_kind"], line["prestatie_code"],
             line["tariff_cents"]) for line in _lines(reports, batch["id"])] == [
        (DE_LINDE, DE_LINDE, "M&I", "13001", 1234)]


def test_a_correction_keeps_the_terms_on_its_credit_and_new_line(
        world: World, reports: ReportClient, contract: Callable[..., None]) -> None:
    contract("MKC-DERM", declaration={"declarant": "zorggroep", "payee": "subcontractor", "kind": "S3",
                                      "attestations": []})
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"))
    world.clock.now = ams("2026-12-01 10:00")
    _close(reports)

    corrected = reports.post("/reports/declaration-corrections", {"consult": world.ids["A"], "reason": "fout"})

    assert [(line["kind"], line["declarant_agb"], line["payee_agb"], line["prestatie_kind"], line["amount_cents"])
            for line in corrected.get_json()["lines"]] == [
        ("credit", ZORGGROEP, HOSPITAL, "S3", -7500), ("debit", ZORGGROEP, HOSPITAL, "S3", 7500)]


def test_a_consult_without_the_required_attestation_is_answered_but_held_back(
        world: World, reports: ReportClient, contract: Callable[..., None], app: Flask) -> None:
    contract("MKC-DERM", declaration={"declarant": "zorggroep", "payee": "zorggroep", "kind": "S3",
                                      "attestations": [NO_OPEN_DBC]})
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"), attestations=(NO_OPEN_DBC,))
    world.submit("B", ams("2026-11-04 10:00"))
    _advise(world, "B", ams("2026-11-05 09:00"))  # the specialist did not tick it
    world.clock.now = ams("2026-12-01 10:00")

    with session_scope(app) as session:
        attested = {cid: given for cid, given in session.execute(select(Consult.id, Consult.attestations))}
        statuses = {cid: status for cid, status in session.execute(select(Consult.id, Consult.status))}
    assert (attested[world.ids["A"]], attested[world.ids["B"]]) == ([NO_OPEN_DBC], [])
    assert statuses[world.ids["B"]].value == "completed"  # the GP had the advice all the same

    preview = reports.get("/reports/declarations/pending?insurer=3311&period=2026-11").get_json()
    assert (preview["consults"], preview["total_cents"]) == (1, 7500)
    held = [{"consult": world.ids["B"], "service_date": "2026-11-05", "reason": "missing-attestation",
             "missing_attestations": [NO_OPEN_DBC]}]
    assert preview["held_back"] == held

    closed = _close(reports).get_json()
    assert (closed["line_count"], closed["total_cents"], closed["held_back"]) == (1, 7500, held)
    assert [line["consult"] for line in _lines(reports, closed["id"])] == [world.ids["A"]]


def test_one_code_at_two_tariffs_in_a_batch_is_warned_about_naming_both(
        world: World, reports: ReportClient, contract: Callable[..., None], consult_request: dict) -> None:
    # Two agreements of the same insurer with prestatie 12345: the consult at 75,00, the referral triage at 80,00.
    contract("MKC-DERM", s3_prestatie_code="12345", s3_tariff_cents=7500)
    contract("TRIAGE-DERM", s3_prestatie_code="12345", s3_tariff_cents=8000)
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"))
    world.submit("A2", ams("2026-11-04 10:00"))
    _advise(world, "A2", ams("2026-11-04 14:00"))
    world.clock.now = ams("2026-11-05 10:00")
    world.gp._tokens.clear()
    referral = world.gp.post("/fhir/ServiceRequest", referral_request(consult_request,
                                                                      authoredOn=world.clock.now.isoformat()))
    assert referral.status_code == 201, referral.get_json()
    with session_scope(world.app) as session:
        advice.return_referral(session, world._specialist(), referral.get_json()["id"],
                               advice.ReferralReturn("Lokaal behandelen."), ams("2026-11-05 11:00"))
    world.clock.now = ams("2026-12-01 10:00")

    warning = [{"prestatie_code": "12345", "tariffs": [{"tariff_cents": 7500, "lines": 2},
                                                        {"tariff_cents": 8000, "lines": 1}]}]
    preview = reports.get("/reports/declarations/pending?insurer=3311&period=2026-11").get_json()
    assert (preview["consults"], preview["total_cents"]) == (3, 7500 + 7500 + 8000)
    assert preview["tariff_warnings"] == warning
    closed = _close(reports)
    assert closed.status_code == 201  # a warning, not a refusal: a new agreement version may change a tariff
    assert closed.get_json()["tariff_warnings"] == warning


def test_the_tariff_check_counts_lines_per_tariff_and_ignores_a_code_with_one_tariff() -> None:
    found = tariff_warnings([("12345", 7500), ("12345", 8000), ("12345", 7500), ("13042", 7500), ("13042", 7500),
                             ("13043", -100), ("13043", 8000)])
    assert [(w.prestatie_code, w.tariffs) for w in found] == [("12345", ((7500, 2), (8000, 1))),
                                                                ("13043", ((-100, 1), (8000, 1)))]
    assert tariff_warnings([]) == []


@pytest.mark.parametrize("field", ["attest_no-dbc", "attest_"])
def test_an_unknown_attestation_on_the_answer_form_is_refused(field: str) -> None:
    form = {"advice": "Advies.", "outcome": "primary-care-advice", field: "yes"}
    with pytest.raises(FormErrors) as refused:
        advice.parse_advice(form, set())
    assert list(refused.value.errors) == [field]


def test_an_attestation_ticked_on_the_forms_is_read_and_anything_but_yes_refused() -> None:
    answer = {"advice": "Advies.", "outcome": "primary-care-advice", "attest_no-open-dbc": "yes"}
    assert advice.parse_advice(answer, set()).attestations == (NO_OPEN_DBC,)
    assert advice.parse_return({"advice": "Lokaal.", "attest_no-open-dbc": "yes"}).attestations == (NO_OPEN_DBC,)
    assert advice.parse_advice({"advice": "Advies.", "outcome": "primary-care-advice"}, set()).attestations == ()
    with pytest.raises(FormErrors):
        advice.parse_return({"advice": "Lokaal.", "attest_no-open-dbc": "on"})


# -- the insurer's CSV ------------------------------------------------------------------------------------------


def test_the_insurer_csv_carries_the_insured_the_parties_and_the_references(
        world: World, reports: ReportClient, app: Flask) -> None:
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"))
    world.clock.now = ams("2026-12-01 10:00")
    batch = _close(reports).get_json()
    with session_scope(app) as session:
        line_id = session.scalars(select(DeclarationLine.id).where(DeclarationLine.batch_id == batch["id"])).one()

    body = reports.get(f"/reports/declaration-batches/{batch['id']}.csv").get_data(as_text=True)

    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert rows == [{
        "batchnummer": "1", "periode": "2026-11", "regel": "1", "regel_id": line_id, "soort": "debit",
        "bsn": "999990019", "verzekerdennummer": "170012345", "geboortedatum": "12-04-1968", "uzovi": "3311",
        "declarant_agb": ZORGGROEP, "betaald_aan_agb": ZORGGROEP, "praktijk_agb": DE_LINDE,
        "prestatie_soort": "S3", "prestatiecode": "13042", "datum": "03-11-2026", "tarief": "75,00",
        "bedrag": "75,00", "consult": world.ids["A"], "corrigeert_regel": ""}]


def test_a_credit_line_in_the_csv_names_the_line_it_corrects(world: World, reports: ReportClient) -> None:
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"))
    world.clock.now = ams("2026-12-01 10:00")
    first = _close(reports).get_json()
    sent = _lines(reports, first["id"])[0]["id"]
    reports.post("/reports/declaration-corrections", {"consult": world.ids["A"], "reason": "fout", "withdraw": True})
    world.clock.now = ams("2027-01-02 09:00")
    december = reports.post("/reports/declaration-batches", {"insurer": "3311", "period": "2026-12"}).get_json()

    body = reports.get(f"/reports/declaration-batches/{december['id']}.csv").get_data(as_text=True)

    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert [(r["soort"], r["bedrag"], r["corrigeert_regel"], r["bsn"]) for r in rows] == [
        ("credit", "-75,00", sent, "999990019")]


def test_the_insurance_number_comes_from_a_coverage_created_before_the_request(
        world: World, reports: ReportClient, transaction_bundle: dict) -> None:
    world.clock.now = ams("2026-11-02 10:00")
    world.gp._tokens.clear()
    for entry in transaction_bundle["entry"]:
        if entry["resource"]["resourceType"] == "ServiceRequest":
            entry["resource"]["authoredOn"] = world.clock.now.isoformat()
    posted = world.gp.post("/fhir", transaction_bundle)
    assert posted.status_code == 200, posted.get_json()
    world.ids["T"] = next(e["response"]["location"].split("/")[1] for e in posted.get_json()["entry"]
                          if e["response"]["location"].startswith("ServiceRequest/"))
    # A cardiology question: MKC-CARD, whose demo terms ask the cardiologist to attest that no DBC is open.
    with session_scope(world.app) as session:
        mulder = inbox_user(session, str(session.scalar(select(User.id).where(User.username == "cardioloog"))))
        advice.record_advice(session, mulder, world.ids["T"], advice.Advice(
            "Advies.", "primary-care-advice", attestations=(NO_OPEN_DBC,)), ams("2026-11-03 14:00"))
    world.clock.now = ams("2026-12-01 10:00")
    batch = _close(reports).get_json()

    body = reports.get(f"/reports/declaration-batches/{batch['id']}.csv").get_data(as_text=True)

    row = next(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert (row["bsn"], row["verzekerdennummer"], row["uzovi"]) == ("999990019", "170012345", "3311")
    assert (row["prestatiecode"], row["tarief"], row["prestatie_soort"]) == ("13043", "80,00", "S3")


def test_each_export_is_audited_for_the_batch_and_per_patient_without_a_bsn(
        world: World, reports: ReportClient, app: Flask) -> None:
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"))
    world.submit("B", ams("2026-11-04 10:00"))  # the same patient (the example's BSN)
    _advise(world, "B", ams("2026-11-05 09:00"))
    world.clock.now = ams("2026-12-01 10:00")
    batch = _close(reports).get_json()

    assert reports.get(f"/reports/declaration-batches/{batch['id']}.csv").status_code == 200

    with session_scope(app) as session:
        patient = session.scalar(select(Consult.patient_resource_id).where(Consult.id == world.ids["A"]))
        entries = session.scalars(select(AuditEntry).where(AuditEntry.event.like("report.declaration.export.csv%"))
                                  .order_by(AuditEntry.event)).all()
        details = [e.detail or "" for e in session.scalars(select(AuditEntry))]
    assert [(e.event, e.resource_id, e.patient_ref, e.actor_kind) for e in entries] == [
        ("report.declaration.export.csv", batch["id"], None, "client"),
        ("report.declaration.export.csv.patient", batch["id"], patient, "client")]
    assert entries[0].detail == "batch=1; insurer=3311; period=2026-11; lines=2; patients=1"
    assert not [d for d in details if "999990019" in d or "170012345" in d]
