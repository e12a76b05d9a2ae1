"""A declaration batch as CSV (for a Dutch spreadsheet), JSON, and a FHIR Bundle of Claims.

CSV follows what Excel expects with a Dutch locale: ``;`` between fields, a decimal comma,
dates as dd-mm-jjjj, and a UTF-8 byte-order mark so accents survive the double click.

The CSV is what the insurer receives (issue 22): per line the insured (BSN, insurance number, birth date,
decrypted only while the file is made, reports/insured.py), the insurer, who declares and who is paid
(AGB codes), the kind of prestatie, its code and tariff, the service date, and the line's own reference with
the reference of the line a credit corrects. The CSV and the Claims identify patients: each export is
audited once for the batch and once per patient in it (:func:`audit_export`), as a FHIR search is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.audit.trail import Actor, record
from triage_service.fhir.dutch import AGB, BSN
from triage_service.fhir.mapping import instant
from triage_service.models import AuditAction, Consult, DeclarationBatch, DeclarationLine, StoredResource
from triage_service.reports.declaration_terms import HeldBack, TariffWarning
from triage_service.reports.insured import insured_of_batch
from triage_service.reports.monitoring import outcome_codes

UZOVI = "http://fhir.nl/fhir/NamingSystem/uzovi"
#: The prestatie code comes from the insurer contract (configured per agreement), so its system is ours.
PRESTATIE_SYSTEM = "https://fhir.triage-service.nl/NamingSystem/s3-prestatiecode"
LINE_SYSTEM = "https://fhir.triage-service.nl/NamingSystem/declaration-line"
CSV_COLUMNS = ["batchnummer", "periode", "regel", "regel_id", "soort", "bsn", "verzekerdennummer", "geboortedatum",
               "uzovi", "declarant_agb", "betaald_aan_agb", "praktijk_agb", "prestatie_soort", "prestatiecode",
               "datum", "tarief", "bedrag", "consult", "corrigeert_regel"]


def euros(cents: int) -> str:
    """Integer cents as Dutch money text: 7500 -> "75,00", -7500 -> "-75,00"."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole},{rest:02d}"


def _lines(session: Session, batch: DeclarationBatch) -> list[DeclarationLine]:
    return list(session.scalars(select(DeclarationLine).where(DeclarationLine.batch_id == batch.id)
                                .order_by(DeclarationLine.position)))


def batch_csv(session: Session, batch: DeclarationBatch) -> str:
    """The batch as the insurer receives it; lines made before issue 22 have no declarant, payee or kind."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    insured = insured_of_batch(session, batch.id)
    for line in _lines(session, batch):
        person = insured.get(line.consult_id)
        writer.writerow([batch.number, batch.period, line.position, line.id, line.kind,
                         person.bsn if person else "", person.insurance_number if person else "",
                         f"{person.birth_date:%d-%m-%Y}" if person else "", line.insurer_uzovi,
                         line.declarant_agb or "", line.payee_agb or "", line.practice_agb, line.prestatie_kind or "",
                         line.prestatie_code, f"{line.service_date:%d-%m-%Y}", euros(line.tariff_cents),
                         euros(line.amount_cents), line.consult_id, line.corrects_line_id or ""])
    return out.getvalue()


def audit_export(session: Session, actor: Actor, batch: DeclarationBatch, kind: str, at: datetime) -> None:
    """One entry for the export, naming the batch, and one per patient whose data it holds (NEN 7513 asks per
    patient; an audit entry holds one patient). Patient references only: never a BSN in the trail."""
    patients = sorted({ref for ref in session.scalars(select(Consult.patient_resource_id).join(
        DeclarationLine, DeclarationLine.consult_id == Consult.id).where(DeclarationLine.batch_id == batch.id))
        if ref})
    record(session, actor, event=f"report.declaration.export.{kind}", action=AuditAction.READ,
           resource_type="DeclarationBatch", resource_id=batch.id, at=at,
           detail=f"batch={batch.number}; insurer={batch.insurer_uzovi}; period={batch.period}; "
                  f"lines={batch.line_count}; patients={len(patients)}")
    for patient in patients:
        record(session, actor, event=f"report.declaration.export.{kind}.patient", action=AuditAction.READ,
               resource_type="DeclarationBatch", resource_id=batch.id, patient_ref=patient, at=at)


def batch_summary(batch: DeclarationBatch) -> dict[str, Any]:
    return {"id": batch.id, "number": batch.number, "insurer": batch.insurer_uzovi, "period": batch.period,
            "closed_at": instant(batch.closed_at), "closed_by": batch.closed_by, "line_count": batch.line_count,
            "total_cents": batch.total_cents}


def line_json(line: DeclarationLine) -> dict[str, Any]:
    return {"id": line.id, "position": line.position, "kind": line.kind, "consult": line.consult_id,
            "prestatie_code": line.prestatie_code, "prestatie_kind": line.prestatie_kind,
            "declarant_agb": line.declarant_agb, "payee_agb": line.payee_agb, "practice_agb": line.practice_agb,
            "insurer": line.insurer_uzovi, "service_date": line.service_date.isoformat(),
            "tariff_cents": line.tariff_cents, "amount_cents": line.amount_cents,
            "corrects_line": line.corrects_line_id, "reason": line.reason}


def check_json(held_back: list[HeldBack], warnings: list[TariffWarning]) -> dict[str, Any]:
    """The close-month check's findings: consults held back (and why), codes carrying two tariffs."""
    return {"held_back": [{"consult": h.consult_id, "service_date": h.service_date.isoformat(), "reason": h.reason,
                           "missing_attestations": list(h.missing)} for h in held_back],
            "tariff_warnings": [{"prestatie_code": w.prestatie_code,
                                 "tariffs": [{"tariff_cents": cents, "lines": count} for cents, count in w.tariffs]}
                                for w in warnings]}


def batch_json(session: Session, batch: DeclarationBatch) -> dict[str, Any]:
    return {**batch_summary(batch), "lines": [line_json(line) for line in _lines(session, batch)]}


def _bsns(session: Session, consult_ids: list[str]) -> dict[str, str]:
    rows = session.execute(select(Consult.id, StoredResource.resource).join(
        StoredResource, StoredResource.id == Consult.patient_resource_id).where(Consult.id.in_(consult_ids)))
    found = {}
    for consult_id, patient in rows:
        bsn = next((i.get("value") for i in patient.get("identifier", []) if i.get("system") == BSN), None)
        if bsn:
            found[consult_id] = bsn
    return found


def _money(cents: int) -> dict[str, Any]:
    return {"value": cents / 100, "currency": "EUR"}


def batch_claims(session: Session, batch: DeclarationBatch) -> dict[str, Any]:
    """One Claim per line: a debit is an active claim; a credit cancels the claim of the line it corrects."""
    lines = _lines(session, batch)
    bsns = _bsns(session, [line.consult_id for line in lines])
    entries = []
    for line in lines:
        credit = line.kind == "credit"
        claim: dict[str, Any] = {
            "resourceType": "Claim",
            "id": line.id,
            "identifier": [{"system": LINE_SYSTEM, "value": line.corrects_line_id if credit else line.id}],
            "status": "cancelled" if credit else "active",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type",
                                 "code": "professional"}]},
            "use": "claim",
            "patient": {"identifier": {"system": BSN, "value": bsns.get(line.consult_id, "")}},
            "created": instant(batch.closed_at),
            "insurer": {"identifier": {"system": UZOVI, "value": line.insurer_uzovi}},
            "provider": {"identifier": {"system": AGB, "value": line.practice_agb}},
            "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority",
                                     "code": "normal"}]},
            "insurance": [{"sequence": 1, "focal": True,
                           "coverage": {"display": f"Basisverzekering, UZOVI {line.insurer_uzovi}"}}],
            "item": [{"sequence": 1,
                      "productOrService": {"coding": [{"system": PRESTATIE_SYSTEM, "code": line.prestatie_code}]},
                      "servicedDate": line.service_date.isoformat(), "unitPrice": _money(line.tariff_cents),
                      "net": _money(line.tariff_cents)}],
            "total": _money(line.tariff_cents),
        }
        if credit and line.corrects_line_id:
            claim["related"] = [{"claim": {"identifier": {"system": LINE_SYSTEM, "value": line.corrects_line_id}},
                                 "relationship": {"coding": [{
                                     "system": "http://terminology.hl7.org/CodeSystem/related-claim-relationship",
                                     "code": "prior"}]}}]
        entries.append({"fullUrl": f"urn:uuid:{line.id}", "resource": claim})
    return {"resourceType": "Bundle", "id": batch.id, "type": "collection", "timestamp": instant(batch.closed_at),
            "identifier": {"system": "https://fhir.triage-service.nl/NamingSystem/declaration-batch",
                           "value": str(batch.number)},
            "entry": entries}


MONITORING_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("groep", lambda g: g["key"]), ("naam", lambda g: g["label"]), ("consulten", lambda g: g["consults"]),
    ("beantwoord", lambda g: g["completed"]), ("mediaan_uren", lambda g: g["answer_hours"]["median"]),
    ("p90_uren", lambda g: g["answer_hours"]["p90"]), ("binnen_norm", lambda g: g["within_norm"]),
    ("open_te_laat", lambda g: g["late_open"]), ("binnen_norm_aandeel", lambda g: g["within_norm_share"]),
    ("voorkomen_verwijzingen", lambda g: g["prevented_referrals"]),
    ("voorkomen_volgens_huisarts", lambda g: g["prevented_by_gp_intent"]),
    ("teruggestuurd_na_triage", lambda g: g["returned_after_triage"]),
    ("omgezet_in_verwijzing", lambda g: g["converted_to_referral"]),
    ("conversie_aandeel", lambda g: g["conversion_rate"]),
    ("doorgestuurd", lambda g: g["forwarded"]), ("geescaleerd", lambda g: g["escalated"]),
    ("vlag_terecht", lambda g: g["referral_flag"]["flagged_converted"]),
    ("vlag_onterecht", lambda g: g["referral_flag"]["flagged_not_converted"]),
    ("vlag_gemist", lambda g: g["referral_flag"]["unflagged_converted"]),
    ("beoogde_verwijzingen", lambda g: g["business_case"]["intended_referrals"]),
    ("voorkomen_aandeel_van_beoogd", lambda g: g["business_case"]["avoided_share_of_intended"]),
    ("vermeden_kosten", lambda g: euros(g["business_case"]["avoided_cents"])),
    ("consultkosten_integraal_tarief", lambda g: euros(g["business_case"]["consult_cost_cents"])),
    ("waarvan_onderaannemer", lambda g: euros(g["business_case"]["subcontractor_share_cents"])),
    ("tarief_aandeel_tweedelijns", lambda g: g["business_case"]["tariff_share_of_referral_cost"]),
    ("structurele_kosten", lambda g: _optional_euros(g["business_case"]["structural_cost_cents"])),
    ("incidentele_kosten", lambda g: _optional_euros(g["business_case"]["incidental_cost_cents"])),
    ("kosten", lambda g: euros(g["business_case"]["cost_cents"])),
    ("besparing", lambda g: euros(g["business_case"]["saving_cents"])),
    ("besparingsratio", lambda g: g["business_case"]["saving_ratio"]),
    ("doel_een_derde_gehaald", lambda g: _yes_no(g["business_case"]["meets_target"])),
    ("videoconsult_gehouden", lambda g: g["appointments"]["video-consult"]["held"]),
    ("videoconsult_niet_verschenen", lambda g: g["appointments"]["video-consult"]["no_show"]),
    ("ecms_gehouden", lambda g: g["appointments"]["ecms"]["held"]),
    ("ecms_niet_verschenen", lambda g: g["appointments"]["ecms"]["no_show"]),
]


def _optional_euros(cents: int | None) -> str:
    """Own costs belong to an agreement: empty for a grouping that does not carry them."""
    return "" if cents is None else euros(cents)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("ja" if value else "nee")


def _dutch_number(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value}".replace(".", ",")
    return str(value)


def monitoring_csv(report: dict[str, Any]) -> str:
    """The monitoring groups as a Dutch CSV (same conventions as the declarations)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([name for name, _ in MONITORING_COLUMNS])
    for group in report["groups"]:
        writer.writerow([_dutch_number(pick(group)) for _, pick in MONITORING_COLUMNS])
    return out.getvalue()


URGENT_COLUMNS: list[tuple[str, Callable[[dict[str, Any]], Any]]] = [
    ("aanvrager", lambda g: g["requester"]["key"]), ("aanvrager_naam", lambda g: g["requester"]["label"]),
    ("specialisme", lambda g: g["specialism"] or ""), ("specialisme_naam", lambda g: g["specialism_label"] or ""),
    ("spoedconsulten", lambda g: g["consults"]), ("opgepakt", lambda g: g["taken"]),
    ("opgepakt_mediaan_min", lambda g: g["taken_minutes"]["median"]),
    ("opgepakt_p90_min", lambda g: g["taken_minutes"]["p90"]),
    ("beantwoord", lambda g: g["answered"]), ("advies_mediaan_min", lambda g: g["answer_minutes"]["median"]),
    ("advies_p90_min", lambda g: g["answer_minutes"]["p90"]),
    ("binnen_norm", lambda g: g["within_norm"]), ("beoordeeld_op_norm", lambda g: g["judged_for_norm"]),
    ("binnen_norm_aandeel", lambda g: g["within_norm_share"]),
    ("open", lambda g: g["open"]), ("open_over_tijd", lambda g: g["open_overdue"]),
    ("seh_beoordeling_voorkomen", lambda g: g["emergency_assessment_avoided"]),
]


def urgent_csv(report: dict[str, Any]) -> str:
    """The urgent consults per requester and specialism, then the total, as a Dutch CSV; one column per
    outcome code (``uitkomst_<code>``)."""
    groups = [*report["groups"], *([report["total"]] if report["total"] else [])]
    outcomes = outcome_codes()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([name for name, _ in URGENT_COLUMNS] + [f"uitkomst_{code}" for code in outcomes])
    for group in groups:
        writer.writerow([_dutch_number(pick(group)) for _, pick in URGENT_COLUMNS]
                        + [group["outcomes"][code] for code in outcomes])
    return out.getvalue()
