"""The reporting API (/reports): JSON and CSV for zorggroep staff (inbox login) and for API clients
with the ``reports.read`` / ``reports.write`` scopes. Everything is limited to the caller's zorggroep.

Bad parameters are a 400 with field errors: ``{"error": ..., "errors": {"field": ["message"]}}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import Schema, ValidationError

from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.models import AuditAction
from triage_service.reports import declarations, exports
from triage_service.reports.access import ReportAccess, report_access
from triage_service.reports.declaration_terms import batch_tariff_warnings, tariff_warnings
from triage_service.reports.monitoring import GroupBy, Window, monitoring
from triage_service.reports.periods import local_midnight
from triage_service.reports.schemas import (
    BatchFilterSchema,
    CloseSchema,
    CorrectionSchema,
    MonitoringSchema,
    StatementSchema,
)
from triage_service.reports.statements import statements
from triage_service.reports.urgent import urgent_monitoring
from triage_service.reports.verdicts import verdict_figures
from triage_service.request_context import clock

bp = Blueprint("reports", __name__, url_prefix="/reports")


class FieldErrors(Exception):
    def __init__(self, errors: dict[str, Any]):
        super().__init__("invalid parameters")
        self.errors = errors


def _load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        raise FieldErrors(exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}) from exc
    return loaded


def _json_body() -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise FieldErrors({"_body": ["Send a JSON object with Content-Type application/json"]})
    return data


@bp.errorhandler(FieldErrors)
def _field_errors(exc: FieldErrors) -> Response:
    response = jsonify({"error": "Some parameters are not valid", "errors": exc.errors})
    response.status_code = 400
    return response


def _audit(access: ReportAccess, event: str, detail: str) -> None:
    record(get_session(), access.actor, event=event, action=AuditAction.READ, resource_type="Report",
           detail=detail, at=clock())


def _csv(text: str, filename: str) -> Response:
    return Response(text, mimetype="text/csv", content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@bp.after_request
def _commit_on_success(response: Response) -> Response:
    if response.status_code < 400:
        get_session().commit()
    return response


# -- declarations ---------------------------------------------------------------------------------


@bp.get("/declarations/pending")
def pending() -> Response:
    """What closing the month would declare, without closing it."""
    access = report_access()
    params = _load(CloseSchema(), request.args)
    month = params["period"]
    selected = declarations.selection(get_session(), access.zorggroep_id, params["insurer"], month)
    candidates = selected.candidates
    corrections = declarations.pending_corrections(get_session(), access.zorggroep_id, params["insurer"])
    _audit(access, "report.declarations.pending", f"insurer={params['insurer']}; period={month}")
    return jsonify({"insurer": params["insurer"], "period": str(month), "consults": len(candidates),
                    "total_cents": sum(c.tariff_cents for c in candidates) + sum(c.amount_cents for c in corrections),
                    "corrections": [exports.line_json(line) for line in corrections],
                    **exports.check_json(selected.held_back, tariff_warnings(
                        [(c.prestatie_code, c.tariff_cents) for c in candidates]
                        + [(line.prestatie_code, line.tariff_cents) for line in corrections]))})


@bp.post("/declaration-batches")
def close() -> Response:
    access = report_access(write=True)
    params = _load(CloseSchema(), _json_body())
    # Held back is only known before closing: afterwards the month's consults are behind the closed period.
    held_back = declarations.selection(get_session(), access.zorggroep_id, params["insurer"],
                                       params["period"]).held_back
    batch = declarations.close_month(get_session(), access.actor, access.name, access.zorggroep_id,
                                     params["insurer"], params["period"], clock())
    response = jsonify({**exports.batch_summary(batch), **exports.check_json(
        held_back, batch_tariff_warnings(get_session(), batch.id))})
    response.status_code = 201
    response.headers["Location"] = f"/reports/declaration-batches/{batch.id}"
    return response


@bp.get("/declaration-batches")
def list_batches() -> Response:
    access = report_access()
    params = _load(BatchFilterSchema(), request.args)
    period = str(params["period"]) if params.get("period") else None
    found = declarations.batches(get_session(), access.zorggroep_id, params.get("insurer"), period)
    return jsonify({"batches": [exports.batch_summary(b) for b in found]})


def _export(batch_id: str, render: Callable[[Any, Any], Any], kind: str) -> Any:
    access = report_access()
    session = get_session()
    batch = declarations.batch(session, access.zorggroep_id, batch_id)
    # The lines identify patients (a BSN in the CSV and the Claims): every export is audited, per patient too.
    exports.audit_export(session, access.actor, batch, kind, clock())
    return batch, render(session, batch)


@bp.get("/declaration-batches/<batch_id>")
def read_batch(batch_id: str) -> Response:
    _, body = _export(batch_id, exports.batch_json, "json")
    return jsonify(body)


@bp.get("/declaration-batches/<batch_id>.csv")
def batch_csv(batch_id: str) -> Response:
    batch, text = _export(batch_id, exports.batch_csv, "csv")
    return _csv(text, f"declaraties-{batch.insurer_uzovi}-{batch.period}-batch{batch.number}.csv")


@bp.get("/declaration-batches/<batch_id>/claims")
def batch_claims(batch_id: str) -> Response:
    _, bundle = _export(batch_id, exports.batch_claims, "claims")
    response = jsonify(bundle)
    response.mimetype = "application/fhir+json"
    return response


@bp.post("/declaration-corrections")
def correct() -> Response:
    access = report_access(write=True)
    params = _load(CorrectionSchema(), _json_body())
    lines = declarations.correct(get_session(), access.actor, access.name, access.zorggroep_id, params["consult"],
                                 params["reason"], clock(), insurer=params.get("insurer"),
                                 withdraw=params["withdraw"])
    response = jsonify({"lines": [exports.line_json(line) for line in lines]})
    response.status_code = 201
    return response


# -- statements and monitoring ----------------------------------------------------------------------


@bp.get("/statements")
def subcontractor_statements() -> Response:
    access = report_access()
    params = _load(StatementSchema(), request.args)
    found = statements(get_session(), access.zorggroep_id, params["period"], params.get("subcontractor"))
    _audit(access, "report.statements", f"period={params['period']}")
    return jsonify({"period": str(params["period"]), "statements": found})


def _monitoring_window(access: ReportAccess, args: Any, event: str) -> tuple[Window, GroupBy]:
    params = _load(MonitoringSchema(), args)
    window = Window(local_midnight(params["from_"]), local_midnight(params["to"] + timedelta(days=1)))
    _audit(access, event, f"group_by={params['group_by']}")
    return window, GroupBy(params["group_by"])


def monitoring_report(access: ReportAccess, args: Any) -> dict[str, Any]:
    window, group_by = _monitoring_window(access, args, "report.monitoring")
    return monitoring(get_session(), access.zorggroep_id, window, group_by, clock())


@bp.get("/monitoring")
def monitoring_json() -> Response:
    """The monitoring per group, with the urgent consults' figures per requester and specialism and the GPs' verdicts
    per specialism beside it."""
    access = report_access()
    window, group_by = _monitoring_window(access, request.args, "report.monitoring")
    report = monitoring(get_session(), access.zorggroep_id, window, group_by, clock())
    verdicts = verdict_figures(get_session(), access.zorggroep_id, window.start, window.end).as_json()
    return jsonify({**report, "urgent": urgent_monitoring(get_session(), access.zorggroep_id, window, clock()),
                    "verdicts": verdicts})


@bp.get("/monitoring.csv")
def monitoring_csv() -> Response:
    report = monitoring_report(report_access(), request.args)
    return _csv(exports.monitoring_csv(report), f"monitoring-{report['group_by']}.csv")


@bp.get("/monitoring/urgent.csv")
def urgent_csv() -> Response:
    """The urgent consults per requester and specialism (the same period parameters; group_by is not used)."""
    access = report_access()
    window, _group_by = _monitoring_window(access, request.args, "report.monitoring.urgent")
    report = urgent_monitoring(get_session(), access.zorggroep_id, window, clock())
    return _csv(exports.urgent_csv(report), "monitoring-spoedconsulten.csv")

