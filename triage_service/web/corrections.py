"""Correcting a declared line on a screen (issue 21, point 5): crediting it (crediteren: the insurer gets the
money back) or declaring it again, corrected (herdeclareren: a credit and a new line, e.g. to another
insurer), always with a reason.

One rule behind both doors: this form and the reporting API's POST /reports/declaration-corrections check
their input with the same CorrectionSchema and correct through the same ``reports.declarations.correct``
(which audits). Refused input is shown beside its field (400) and nothing is stored; done, the page says in
words what will be in the next batch.
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.errors import DomainError
from triage_service.models import AuditAction
from triage_service.reports import declarations
from triage_service.reports.access import report_access
from triage_service.reports.schemas import CorrectionSchema
from triage_service.request_context import clock
from triage_service.web import dashboard as reports_page
from triage_service.web.views import bp

KINDS = ("credit", "redeclare")


def _domain_error(refused: DomainError) -> dict[str, str]:
    """The domain's refusals (English, for the API) in the user's language, beside the field they concern."""
    known = {
        "No consult with this id under this zorggroep's agreements":
            ("consult", _("No consult with this id under the zorggroep's agreements.")),
        "This consult has not been declared yet: the next batch declares it as it is now":
            ("consult", _("This consult has not been declared yet: the next batch declares it as it is now.")),
        "A correction of this consult is already waiting for the next batch":
            ("consult", _("A correction of this consult is already waiting for the next batch.")),
        "This consult's declaration is already withdrawn":
            ("consult", _("This consult's declaration has already been credited.")),
        "Either withdraw the declaration or correct the insurer, not both":
            ("insurer", _("Leave the insurer empty when you credit a line.")),
    }
    field, message = known.get(refused.template, ("consult", refused.text()))
    return {field: str(message)}


def _schema_errors(messages: dict[str, Any]) -> dict[str, str]:
    texts = {"consult": _("Fill in the consult's id (it is on the statement and in the batch's CSV)."),
             "reason": _("Give a reason of at least 3 and at most 500 characters."),
             "insurer": _("A UZOVI code is 4 digits, e.g. 3311.")}
    return {name: str(texts.get(name, _("Check this field."))) for name in messages}


def _page(errors: dict[str, str], status: int) -> Any:
    access = report_access()
    waiting = declarations.waiting_corrections(get_session(), access.zorggroep_id)
    values = request.form if errors else {"consult": request.args.get("consult", ""), "kind": "credit"}
    return render_template("corrections.html", errors=errors, values=values, waiting=waiting,
                           insurers=reports_page.insurers(get_session(), access.zorggroep_id)), status


@bp.get("/dashboard/corrections")
def corrections() -> Any:
    access = report_access()  # 403 for anyone but the zorggroep's staff
    record(get_session(), access.actor, event="web.declarations.corrections", action=AuditAction.READ,
           resource_type="Report", at=clock())
    return _page({}, 200)


@bp.post("/dashboard/corrections")
def correct() -> Any:
    access = report_access(write=True)
    form = request.form
    errors: dict[str, str] = {}
    kind = form.get("kind", "")
    if kind not in KINDS:
        errors["kind"] = str(_("Choose whether to credit the line or declare it again."))
    data: dict[str, Any] = {"consult": form.get("consult", "").strip(), "reason": form.get("reason", "").strip(),
                            "withdraw": kind == "credit"}
    if form.get("insurer", "").strip():
        data["insurer"] = form["insurer"].strip()
    try:
        params = CorrectionSchema().load(data)
    except ValidationError as exc:
        errors.update(_schema_errors(exc.messages if isinstance(exc.messages, dict) else {"consult": []}))
    if errors:
        return _page(errors, 400)
    try:
        lines = declarations.correct(get_session(), access.actor, access.name, access.zorggroep_id,
                                     params["consult"], params["reason"], clock(), insurer=params.get("insurer"),
                                     withdraw=params["withdraw"])
    except DomainError as refused:
        get_session().rollback()  # nothing half-stored
        return _page(_domain_error(refused), 400)
    if params["withdraw"]:
        flash(_("Consult %(consult)s is credited: a credit line of %(amount)s waits for the next batch of "
                "insurer %(insurer)s.", consult=params["consult"], amount=reports_page.money(lines[0].amount_cents),
                insurer=lines[0].insurer_uzovi))
    else:
        flash(_("Consult %(consult)s is declared again: %(lines)d lines wait for the next batch of insurer "
                "%(insurer)s.", consult=params["consult"], lines=len(lines), insurer=lines[-1].insurer_uzovi))
    return redirect(url_for("web.corrections"))
