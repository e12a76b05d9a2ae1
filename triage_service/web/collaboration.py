"""The first-line budget's monthly list as CSV (issue 23, point 1): what the zorggroep pays from its first-line
budget instead of declaring it to the insurer (reports/first_line.py).

Who: the zorggroep's staff (reports/access.py ``report_access``), every file audited as the statements are; the
lines name no patient.
"""

from __future__ import annotations

from flask import Response, abort, make_response, render_template
from flask_babel import gettext as _

from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.models import AuditAction
from triage_service.reports.access import report_access
from triage_service.reports.first_line import budget_csv, budget_lines
from triage_service.request_context import clock
from triage_service.web.dutch_dates import parse_month
from triage_service.web.views import bp


@bp.get("/dashboard/eerstelijnsbudget/<period>.csv")
def first_line_budget_csv(period: str) -> Response:
    access = report_access()
    month = parse_month(period)
    if month is None:
        abort(make_response(render_template("error.html", status=400, reason=_(
            "This is not a month; write it as mm-jjjj, e.g. 11-2026.")), 400))
    lines = budget_lines(get_session(), access.zorggroep_id, month)
    record(get_session(), access.actor, event="web.first_line_budget.csv", action=AuditAction.READ,
           resource_type="Report", detail=f"period={month}; lines={len(lines)}", at=clock())
    name = _("first-line-budget")
    # What the first-line practices are paid is confidential business data: no copy in a shared or browser cache.
    return Response(budget_csv(lines), content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}-{month}.csv"', "Cache-Control": "no-store"})
