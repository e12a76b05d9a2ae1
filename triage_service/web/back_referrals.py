"""Back-referrals in the specialist's inbox (issue 23, point 2): "Terugverwijzen naar de huisarts" from a consult the
specialist owns, a standalone "Nieuwe terugverwijzing" for a patient treated in the hospital, the list of what the
specialist handed back (a practice's question first), answering that question, and the back-referral as a PDF
letter for the specialist's own records (consults/back_referral_letter.py). Only a second-line specialist refers
back (``back_referrals.may_refer_back``): a first-line one is refused every screen here (403, the page says why)
and the inbox and consult pages offer them no link (the template global ``back_referral_questions``).

Thin views over consults/back_referrals.py: a bad field re-shows the form with every message beside its field
(422), nothing stored. The zorggroep's dashboard section (``_back_referrals.html``) reads its figures through the
template global ``back_referral_figures``, so the dashboard needs only its include line.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from triage_service.audit.trail import record
from triage_service.consults import back_referral_letter, back_referrals, specialist
from triage_service.consults.back_referrals import BackReferralForm
from triage_service.database import get_session
from triage_service.errors import Conflict, FormErrors
from triage_service.models import AuditAction, Consult, Organisation, Practitioner
from triage_service.records.patients import consult_patient, patient_bsn, patient_name
from triage_service.reports.access import report_access
from triage_service.reports.back_referrals import BackReferralFigures, back_referral_figures, figures_csv
from triage_service.reports.periods import local_date
from triage_service.request_context import clock
from triage_service.routing.service import specialism_label
from triage_service.security.headers import never_cached
from triage_service.web.dutch_dates import parse_day
from triage_service.web.views import bp, current_user, inbox_actor

_FIELDS = ("practice_agb", "patient_bsn", "patient_name", "patient_birth_date", "diagnosis_icpc", "diagnosis_text",
           "gp_plan", "care_programme", "rereferral_criteria", "available_for", "available_until")


def _practitioner() -> Practitioner | None:
    user = current_user()
    return get_session().get(Practitioner, user.practitioner_id) if user.practitioner_id else None


def _specialist() -> Practitioner:
    """The specialist using these screens; anyone who does not refer back (a first-line specialist) gets a 403."""
    found = _practitioner()
    if found is None:
        abort(403)
    if not back_referrals.may_refer_back(found):
        # As the report screens refuse a specialist (403), with the reason on the page.
        abort(make_response(render_template("error.html", status=403, reason=_(
            "Back-referrals are for hospital specialists: a first-line specialist does not hand patients back "
            "to the GP")), 403))
    return found


@bp.app_template_global()
def back_referral_questions() -> int | None:
    """For the inbox's link to the back-referrals: how many practices' questions wait for the specialist's
    answer, or None when the account does not refer back (no link at all)."""
    me = _practitioner()
    if not back_referrals.may_refer_back(me):
        return None
    assert me is not None
    return back_referrals.questions_waiting(get_session(), me.id)


def _owned_consult(consult_id: str) -> Consult:
    """A consult the specialist (or their group) holds: the one a patient is handed back from."""
    return specialist.task_of(get_session(), current_user(), consult_id).consult


def _prefill(consult: Consult) -> dict[str, str]:
    """The form from the consult: its practice and diagnosis, and the patient as the GP sent them."""
    patient = consult_patient(get_session(), consult)
    # The patient's own practice when an out-of-hours post asked, else the practice that asked.
    asking = get_session().get(Organisation, consult.organisation_id)
    practice = consult.patient_practice_agb or (asking.agb if asking is not None else None) or ""
    values = back_referrals.form_from_consult(consult, practice)
    values.update({"patient_bsn": patient_bsn(patient) or "", "patient_name": patient_name(patient),
                   "patient_birth_date": consult.patient_birth_date.strftime("%d-%m-%Y")})
    return values


def _form_page(values: dict[str, str], errors: dict[str, str], consult: Consult | None, status: int) -> Any:
    me = _specialist()
    practices = back_referrals.practices_for(get_session(), me, local_date(clock()))
    return render_template("back_referral_new.html", form=values, errors=errors, consult=consult,
                           practices=practices, programmes=back_referrals.CARE_PROGRAMMES), status


@bp.get("/inbox/terugverwijzingen")
def back_referrals_sent() -> str:
    me = _specialist()
    rows = back_referrals.of_specialist(get_session(), me.id)
    record(get_session(), inbox_actor(), event="web.back_referrals.list", action=AuditAction.READ,
           resource_type="ServiceRequest", detail=f"shown={len(rows)}", at=clock())
    return render_template("back_referrals.html", rows=rows)


@bp.get("/inbox/terugverwijzingen/nieuw")
def new_back_referral() -> Any:
    _specialist()  # a first-line specialist is refused before any consult is looked at
    consult_id = request.args.get("consult")
    consult = _owned_consult(consult_id) if consult_id else None
    values = _prefill(consult) if consult is not None else {}
    if consult is not None:
        record(get_session(), inbox_actor(), event="web.back_referral.prefill", action=AuditAction.READ,
               resource_type="ServiceRequest", resource_id=consult.id, patient_ref=consult.patient_resource_id,
               at=clock())
    return _form_page(values, {}, consult, 200)


@bp.post("/inbox/terugverwijzingen/nieuw")
def send_back_referral() -> Any:
    _specialist()
    consult_id = request.form.get("consult_id") or None
    consult = _owned_consult(consult_id) if consult_id else None
    values = {name: request.form.get(name, "") for name in _FIELDS}
    # The dates are typed as dd-mm-jjjj, as everywhere in the inbox (web/dutch_dates.py); the domain reads ISO.
    typed = dict(values)
    for name in ("patient_birth_date", "available_until"):
        day = parse_day(values[name]) if values[name].strip() else None
        typed[name] = day.isoformat() if day else values[name]
    try:
        back = back_referrals.send(get_session(), _specialist(), BackReferralForm(**typed), inbox_actor(), clock(),
                                   consult)
    except FormErrors as refused:
        get_session().rollback()
        # In the form's order, so the summary's links above the form read top to bottom.
        order = sorted(refused.errors, key=lambda k: _FIELDS.index(k) if k in _FIELDS else len(_FIELDS))
        return _form_page(values, {k: _(refused.errors[k]) for k in order}, consult, 422)
    get_session().commit()
    flash(_("The back-referral has been sent to the practice."))
    return redirect(url_for("web.back_referral", back_referral_id=back.id))


def _page(back_referral_id: str, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    back = back_referrals.for_specialist(get_session(), _specialist().id, back_referral_id,
                                         inbox_actor(), clock())
    if errors:
        get_session().commit()  # the read is audited, though the answer is refused
    return render_template("back_referral.html", back=back, errors=errors or {}, form=request.form,
                           programmes=back_referrals.CARE_PROGRAMMES), status


@bp.get("/inbox/terugverwijzingen/<back_referral_id>")
def back_referral(back_referral_id: str) -> Any:
    return _page(back_referral_id)


@bp.get("/inbox/terugverwijzingen/<back_referral_id>/brief.pdf")
def back_referral_letter_pdf(back_referral_id: str) -> Response:
    """The back-referral as a letter (PDF) for the specialist's own records; another's is a 404."""
    data, name = back_referral_letter.specialist_letter(get_session(), _specialist().id,
                                                        back_referral_id, inbox_actor(), clock())
    get_session().commit()  # the export is audited even if the download is broken off
    response = never_cached(Response(data, mimetype="application/pdf"))
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/inbox/terugverwijzingen/<back_referral_id>/antwoord")
def answer_back_referral(back_referral_id: str) -> Any:
    user = current_user()
    back = back_referrals.for_specialist(get_session(), _specialist().id, back_referral_id, inbox_actor(), clock())
    try:
        back_referrals.answer(get_session(), back, user.display_name, request.form.get("answer", ""),
                              inbox_actor(), clock())
    except FormErrors as refused:
        get_session().rollback()
        return _page(back_referral_id, {k: _(v) for k, v in refused.errors.items()}, 422)
    except Conflict as refused:
        get_session().rollback()
        return _page(back_referral_id, {"answer": _(refused.template)}, 409)
    get_session().commit()
    flash(_("Your answer has been sent to the practice."))
    return redirect(url_for("web.back_referral", back_referral_id=back_referral_id))


@bp.app_template_global()
def back_referral_figures_for(start: Any, end: Any) -> BackReferralFigures | None:
    """The dashboard's back-referral figures for the period it shows (None without a valid period)."""
    if start is None or end is None:
        return None
    return back_referral_figures(get_session(), report_access().zorggroep_id, start, end)


@bp.app_template_global()
def back_referral_specialism(code: str) -> str:
    """A specialism's name in the page's language (the figures are counted by code)."""
    return specialism_label(code, str(get_locale())) if code else ""


@bp.get("/dashboard/terugverwijzingen.csv")
def back_referrals_csv() -> Any:
    access = report_access()
    start, end = parse_day(request.args.get("from", "")), parse_day(request.args.get("to", ""))
    if start is None or end is None or start > end:
        abort(make_response(render_template("error.html", status=400, reason=_(
            "Give the period as two dates, from and to, written as dd-mm-jjjj.")), 400))
    figures = back_referral_figures(get_session(), access.zorggroep_id, start, end)
    record(get_session(), access.actor, event="web.back_referrals.csv", action=AuditAction.READ,
           resource_type="Report", detail=f"from={start}; to={end}", at=clock())
    get_session().commit()
    return figures_csv(figures), 200, {
        "Content-Type": "text/csv; charset=utf-8", "Cache-Control": "no-store",
        "Content-Disposition": f'attachment; filename="{_("back-referrals")}-{start}-{end}.csv"'}

