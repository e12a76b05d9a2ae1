"""The subcontractors' statements as pages for the zorggroep's staff (issue 21, point 7): per month the
organisations and what each is owed; per organisation and month the consults line by line, the registered
minutes beside the agreement's normtijd per specialist and consult form, and the same as CSV and as PDF.

Who: the zorggroep's staff only (reports/access.py ``report_access``: 403 for anyone else); every page and
file is audited (NEN 7513), as the reporting API's statements are. The month is typed mm-jjjj
(web/dutch_dates.py); in the links between the pages it is the period code 2026-11. The lines name no patient.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Response, abort, make_response, render_template, request
from flask_babel import format_date, get_locale
from flask_babel import gettext as _

from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.errors import NotFound
from triage_service.models import AuditAction
from triage_service.reports.access import ReportAccess, report_access
from triage_service.reports.periods import Month, local_date
from triage_service.reports.statement_files import PdfTable, statement_csv, statement_pdf
from triage_service.reports.statements import Statement, statement, statements, subcontractors
from triage_service.request_context import clock
from triage_service.web import dashboard as reports_page
from triage_service.web.dutch_dates import month_text, parse_month
from triage_service.web.labels import code_labels
from triage_service.web.views import bp

#: What a subcontractor is paid is confidential business data: no copy in a shared or browser cache.
NOT_KEPT = {"Cache-Control": "no-store"}


@bp.context_processor
def _dates() -> dict[str, Any]:
    # Dates on the statement, corrections and close-month pages in the user's locale (30 nov. 2026).
    return {"format_date": format_date}


def _audit(access: ReportAccess, event: str, detail: str) -> None:
    record(get_session(), access.actor, event=event, action=AuditAction.READ, resource_type="Report",
           detail=detail, at=clock())


def _refuse(status: int, reason: str) -> NoReturn:
    abort(make_response(render_template("error.html", status=status, reason=reason), status))


def _default_month() -> Month:
    start, _end = reports_page.last_full_month(local_date(clock()))
    return Month(start.year, start.month)


@bp.get("/dashboard/statements")
def statements_page() -> Any:
    """A month's statements: each organisation with its consults and total, linking to its own statement."""
    access = report_access()  # 403 for anyone but the zorggroep's staff
    typed = request.args.get("period", month_text(_default_month()))
    month = parse_month(typed)
    if month is None:
        error = _("This is not a month; write it as mm-jjjj, e.g. 11-2026.")
        return render_template("statements.html", typed=typed, error=error, month=None, found=[],
                               organisations=[]), 400
    found = statements(get_session(), access.zorggroep_id, month)
    _audit(access, "web.statements.list", f"period={month}")
    return render_template("statements.html", typed=month_text(month), error=None, month=month, found=found,
                           organisations=subcontractors(get_session(), access.zorggroep_id))


def _statement(agb: str, period: str, kind: str) -> tuple[ReportAccess, Statement]:
    access = report_access()
    month = parse_month(period)
    if month is None:
        _refuse(400, _("This is not a month; write it as mm-jjjj, e.g. 11-2026."))
    try:
        found = statement(get_session(), access.zorggroep_id, month, agb)
    except NotFound:
        _refuse(404, _("The zorggroep has no agreement with an organisation of this AGB code."))
    _audit(access, f"web.statement.{kind}", f"subcontractor={agb}; period={month}; lines={len(found.lines)}")
    return access, found


@bp.get("/dashboard/statements/<agb>/<period>")
def statement_page(agb: str, period: str) -> Any:
    _access, found = _statement(agb, period, "view")
    return render_template("statement.html", s=found, period_label=_period_label(found.month))


def _filename(found: Statement, extension: str) -> str:
    word = _("statement")  # the file's name in the user's language (specificatie)
    return f"{word}-{found.subcontractor_agb}-{found.month}.{extension}"


@bp.get("/dashboard/statements/<agb>/<period>.csv")
def statement_csv_file(agb: str, period: str) -> Response:
    _access, found = _statement(agb, period, "csv")
    return Response(statement_csv(found), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{_filename(found, "csv")}"', **NOT_KEPT})


@bp.get("/dashboard/statements/<agb>/<period>.pdf")
def statement_pdf_file(agb: str, period: str) -> Response:
    _access, found = _statement(agb, period, "pdf")
    body = statement_pdf(str(_("Statement %(organisation)s, %(period)s", organisation=found.subcontractor,
                                 period=_period_label(found.month))),
                         _pdf_facts(found), _pdf_tables(found), str(get_locale()))
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{_filename(found, "pdf")}"', **NOT_KEPT})


def _period_label(month: Month) -> str:
    return str(format_date(month.first_day, "LLLL yyyy"))


def _minutes(value: int | None) -> str:
    return reports_page.NO_VALUE if value is None else str(value)


def _pdf_facts(found: Statement) -> list[tuple[str, str]]:
    return [(str(_("Organisation")), f"{found.subcontractor} (AGB {found.subcontractor_agb})"),
            (str(_("Month")), _period_label(found.month)),
            (str(_("Consults")), str(len(found.lines))),
            (str(_("Total")), reports_page.money(found.total_cents))]


def _pdf_tables(found: Statement) -> list[PdfTable]:
    forms = code_labels()["form"]
    lines = PdfTable(
        str(_("Consults")),
        [str(_("Consult")), str(_("Date")), str(_("Form")), str(_("Specialist")), str(_("Minutes registered")),
         str(_("Fee"))],
        [[line.consult_id[:8], str(format_date(line.service_date)), forms.get(line.consult_form, line.consult_form),
          line.specialist, _minutes(line.minutes), reports_page.money(line.fee_cents)] for line in found.lines],
        [str(_("Total")), "", "", "", str(found.minutes), reports_page.money(found.total_cents)],
        frozenset({4, 5}))
    norms = PdfTable(
        str(_("Registered minutes and the norm")),
        [str(_("Specialist")), str(_("Form")), str(_("Consults")), str(_("Minutes registered")),
         str(_("Norm minutes")), str(_("Difference"))],
        [[row.specialist, forms.get(row.consult_form, row.consult_form), str(row.consults), str(row.minutes),
          _norm_text(row.norm_minutes), _difference(row.difference)] for row in found.norms],
        [], frozenset({2, 3, 4, 5}))
    return [lines, norms]


def _norm_text(value: int | None) -> str:
    return str(_("no norm time")) if value is None else str(value)


def _difference(value: int | None) -> str:
    if value is None:
        return reports_page.NO_VALUE
    return f"+{value}" if value > 0 else str(value)
