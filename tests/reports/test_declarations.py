"""S3 declarations, checked against figures worked out by hand.

The world (all De Linde, insurer 3311, dermatology: prestatie 13042 at 75,00):
  A submitted 2 Nov, answered 3 Nov                      -> November
  B submitted 30 Oct, answered 2 Nov                     -> November (crosses the month)
  G submitted 5 Oct, answered 6 Oct, October never closed -> swept into November, dated 6 Oct
  C submitted 20 Nov, answered 1 Dec 00:30 Dutch time    -> December (still November in UTC)
  D declined, E cancelled by the GP, F never answered    -> never declared
So November holds G, B, A: 3 lines, 225,00.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.reports.conftest import ReportClient, World, ams
from triage_service.database import session_scope
from triage_service.fhir.parsing import parse_resource
from triage_service.models import DeclarationLine
from triage_service.reports.declarations import ImmutableDeclaration


@pytest.fixture
def november(world: World) -> World:
    world.submit("G", ams("2026-10-05 09:00"))
    world.advise("G", ams("2026-10-06 11:00"))
    world.submit("B", ams("2026-10-30 15:00"))
    world.advise("B", ams("2026-11-02 09:00"))
    world.submit("A", ams("2026-11-02 10:00"))
    world.advise("A", ams("2026-11-03 14:00"))
    world.submit("C", ams("2026-11-20 10:00"))
    world.advise("C", ams("2026-12-01 00:30"))
    world.submit("D", ams("2026-11-10 10:00"))
    world.decline("D", ams("2026-11-10 12:00"))
    world.submit("E", ams("2026-11-11 10:00"))
    world.cancel("E", ams("2026-11-11 11:00"))
    world.submit("F", ams("2026-11-12 10:00"))
    world.clock.now = ams("2026-12-01 10:00")
    return world


def close(reports: ReportClient, period: str, insurer: str = "3311") -> Any:
    return reports.post("/reports/declaration-batches", {"insurer": insurer, "period": period})


def lines(reports: ReportClient, batch_id: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = reports.get(f"/reports/declaration-batches/{batch_id}").get_json()["lines"]
    return result


def test_closing_november_declares_exactly_the_answered_consults(november: World, reports: ReportClient) -> None:
    preview = reports.get("/reports/declarations/pending?insurer=3311&period=2026-11").get_json()
    assert (preview["consults"], preview["total_cents"]) == (3, 22500)

    response = close(reports, "2026-11")
    assert response.status_code == 201, response.get_json()
    batch = response.get_json()
    assert (batch["number"], batch["line_count"], batch["total_cents"]) == (1, 3, 22500)
    declared = lines(reports, batch["id"])
    ids = november.ids
    assert [(line["consult"], line["service_date"], line["amount_cents"]) for line in declared] == [
        (ids["G"], "2026-10-06", 7500), (ids["B"], "2026-11-02", 7500), (ids["A"], "2026-11-03", 7500)]
    assert {line["practice_agb"] for line in declared} == {"03012345"}
    assert {line["prestatie_code"] for line in declared} == {"13042"}


def test_a_month_is_closed_once_and_only_after_it_ended(november: World, reports: ReportClient) -> None:
    assert close(reports, "2026-11").status_code == 201
    again = close(reports, "2026-11")
    assert again.status_code == 409
    assert "batch 1" in again.get_json()["error"]
    early = close(reports, "2026-12")
    assert early.status_code == 422
    assert early.get_json()["errors"] == {"period": ["2026-12 has not ended yet; it can be closed from 2027-01-01"]}
    assert close(reports, "2026-11", insurer="3343").status_code == 422  # nothing to declare there


def test_a_consult_answered_after_midnight_dutch_time_is_declared_in_december(
        november: World, reports: ReportClient) -> None:
    close(reports, "2026-11")
    november.clock.now = ams("2027-01-02 09:00")
    december = close(reports, "2026-12").get_json()

    assert [(line["consult"], line["service_date"]) for line in lines(reports, december["id"])] == [
        (november.ids["C"], "2026-12-01")]
    assert december["number"] == 2


def test_a_correction_credits_the_sent_line_and_declares_again_in_later_batches(
        november: World, reports: ReportClient) -> None:
    first = close(reports, "2026-11").get_json()
    correction = reports.post("/reports/declaration-corrections", {
        "consult": november.ids["A"], "reason": "Patiënt was verzekerd bij Noordzorg", "insurer": "3343"})
    assert correction.status_code == 201, correction.get_json()
    assert [(line["kind"], line["insurer"], line["amount_cents"]) for line in correction.get_json()["lines"]] == [
        ("credit", "3311", -7500), ("debit", "3343", 7500)]
    again = reports.post("/reports/declaration-corrections", {"consult": november.ids["A"], "reason": "nog eens"})
    assert again.status_code == 409  # one correction at a time

    november.clock.now = ams("2027-01-02 09:00")
    zuid = close(reports, "2026-12").get_json()
    noord = close(reports, "2026-12", insurer="3343").get_json()

    assert [(line["consult"], line["kind"], line["amount_cents"]) for line in lines(reports, zuid["id"])] == [
        (november.ids["C"], "debit", 7500), (november.ids["A"], "credit", -7500)]
    assert zuid["total_cents"] == 0
    assert [(line["kind"], line["service_date"], line["amount_cents"]) for line in lines(reports, noord["id"])] == [
        ("debit", "2026-11-03", 7500)]
    # The November batch is exactly as it was sent.
    assert [line["amount_cents"] for line in lines(reports, first["id"])] == [7500, 7500, 7500]


def test_a_withdrawn_declaration_is_only_credited(november: World, reports: ReportClient) -> None:
    close(reports, "2026-11")
    withdrawn = reports.post("/reports/declaration-corrections", {
        "consult": november.ids["B"], "reason": "Dubbel ingediend via de praktijk", "withdraw": True})
    assert [line["kind"] for line in withdrawn.get_json()["lines"]] == ["credit"]
    november.clock.now = ams("2027-01-02 09:00")
    december = close(reports, "2026-12").get_json()

    assert december["total_cents"] == 7500 - 7500  # C declared, B credited


def test_batched_lines_never_change_not_even_in_sql(app: Flask, november: World, reports: ReportClient) -> None:
    close(reports, "2026-11")
    with session_scope(app) as session:
        line = session.scalars(select(DeclarationLine)).first()
        assert line is not None
        line.amount_cents = 1
        with pytest.raises(ImmutableDeclaration):
            session.flush()
        session.rollback()
    with pytest.raises(DBAPIError), session_scope(app) as session:
        session.execute(text("UPDATE declaration_lines SET amount_cents = 1"))


def test_the_csv_opens_in_a_dutch_spreadsheet(november: World, reports: ReportClient) -> None:
    batch = close(reports, "2026-11").get_json()
    response = reports.get(f"/reports/declaration-batches/{batch['id']}.csv")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert [(r["regel"], r["datum"], r["tarief"], r["bedrag"], r["uzovi"]) for r in rows] == [
        ("1", "06-10-2026", "75,00", "75,00", "3311"), ("2", "02-11-2026", "75,00", "75,00", "3311"),
        ("3", "03-11-2026", "75,00", "75,00", "3311")]
    assert response.headers["Content-Disposition"] == 'attachment; filename="declaraties-3311-2026-11-batch1.csv"'


def test_the_claims_bundle_is_valid_fhir_with_practice_insurer_patient_and_prestatie(
        november: World, reports: ReportClient) -> None:
    batch = close(reports, "2026-11").get_json()
    bundle = reports.get(f"/reports/declaration-batches/{batch['id']}/claims").get_json()

    assert not [i for i in parse_resource(bundle, "Bundle").issues if i.is_error]
    claim = bundle["entry"][0]["resource"]
    assert claim["provider"]["identifier"]["value"] == "03012345"
    assert claim["insurer"]["identifier"]["value"] == "3311"
    assert claim["patient"]["identifier"]["value"] == "999990019"
    assert claim["item"][0]["productOrService"]["coding"][0]["code"] == "13042"
    assert claim["item"][0]["unitPrice"] == {"value": 75.0, "currency": "EUR"}


@pytest.mark.parametrize(("body", "field"), [
    ({"insurer": "33", "period": "2026-11"}, "insurer"),
    ({"insurer": "3311", "period": "november"}, "period"),
    ({"insurer": "3311", "period": "2026-13"}, "period"),
    ({"insurer": "3311"}, "period"),
    ({"insurer": "3311", "period": "2026-11", "extra": 1}, "extra"),
])
def test_bad_closing_parameters_get_field_errors(reports: ReportClient, body: dict, field: str) -> None:
    response = reports.post("/reports/declaration-batches", body)

    assert response.status_code == 400
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"consult": "nope", "reason": "iets"}, 404, "consult"),
    ({"consult": "x", "reason": ""}, 400, "reason"),
    ({"consult": "x", "reason": "iets", "insurer": "abcd"}, 400, "insurer"),
    ({"reason": "iets"}, 400, "consult"),
])
def test_bad_corrections_are_refused_with_the_field(reports: ReportClient, body: dict, status: int,
                                                    field: str) -> None:
    response = reports.post("/reports/declaration-corrections", body)

    assert response.status_code == status
    assert field in response.get_json()["errors"]


def test_an_undeclared_consult_cannot_be_corrected(november: World, reports: ReportClient) -> None:
    response = reports.post("/reports/declaration-corrections", {"consult": november.ids["A"], "reason": "fout"})

    assert response.status_code == 422


def test_a_token_without_the_write_scope_cannot_close_a_month(november: World, reports: ReportClient) -> None:
    assert reports.post("/reports/declaration-batches", {"insurer": "3311", "period": "2026-11"},
                        scope="reports.read").status_code == 403


def test_a_gp_system_gets_no_reports(gp: Any) -> None:
    response = gp.http.get("/reports/declaration-batches", headers={"Authorization": f"Bearer {gp.token()}"})

    assert response.status_code == 403


def test_without_login_or_token_there_are_no_reports(client: Any) -> None:
    response = client.get("/reports/declaration-batches")

    assert response.status_code == 401
    assert "error" in response.get_json()
