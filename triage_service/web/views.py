"""Inbox views: thin (parse, authorise, call a query or service, render)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.accounts import preferences as account
from triage_service.accounts.snippets import snippets_of
from triage_service.attachments.documents import get_attachment, read_attachment
from triage_service.audit.trail import Actor, record
from triage_service.consults import advice, appointments, forwarding, proposals, specialist
from triage_service.database import get_session
from triage_service.errors import Conflict, Forbidden, FormErrors, UnprocessableInput
from triage_service.fhir.appointment import appointment_ics
from triage_service.fhir.profiles import registry
from triage_service.models import AuditAction, User
from triage_service.reports import declarations
from triage_service.reports.access import report_access
from triage_service.reports.monitoring import GroupBy
from triage_service.reports.periods import local_date
from triage_service.reports.verdicts import verdicts_for_days
from triage_service.request_context import clock, settings
from triage_service.routing.service import VS_REQUESTED_SPECIALISM, specialism_label
from triage_service.security.headers import allow_own_scripts, never_cached
from triage_service.security.web_auth import InboxUser
from triage_service.web import collaboration_figures, inbox_list, overdue, urgent_figures
from triage_service.web import dashboard as reports_page
from triage_service.web import inbox as queries
from triage_service.web.labels import code_labels

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web")


def current_user() -> InboxUser:
    user: InboxUser = g.inbox_user
    return user


def inbox_actor() -> Actor:
    user = g.get("inbox_user")
    return Actor(kind="user", id=user.username if user else None, organisation_id=None,
                 source_ip=request.remote_addr)


@bp.after_request
def _commit(response: WerkzeugResponse) -> WerkzeugResponse:
    if response.status_code < 400:
        get_session().commit()
    return response


def may_see_reports() -> bool:
    """The reports' own access rule (zorggroep staff of a zorggroep), so the menu never offers what
    /reports and the dashboard would refuse."""
    try:
        report_access()
    except Forbidden:
        return False
    return True


@bp.before_request
def _reports_menu() -> None:
    # After policy.py has authenticated the session; pages and error pages read the flag from g.
    g.sees_reports = g.get("inbox_user") is not None and may_see_reports()


def landing_page() -> str:
    """Zorggroep staff start on the dashboard; specialists in their inbox; GPs and practice staff in the
    portal's list of the practice's consults; rota makers on the rota."""
    user = g.get("inbox_user")
    if user is not None and user.in_practice:
        return url_for("portal.consults")
    if user is not None and user.keeps_rota:
        return url_for("web.rota")
    return url_for("web.dashboard") if g.get("sees_reports") else url_for("web.inbox")


@bp.get("/")
def home() -> WerkzeugResponse:
    return redirect(landing_page())


@bp.get("/inbox")
def inbox() -> str:
    user = current_user()
    form = inbox_list.InboxFilter.from_args(request.args)
    page = inbox_list.inbox_page(get_session(), user, form, clock(), str(get_locale()))
    record(get_session(), inbox_actor(), event="web.inbox.list", action=AuditAction.READ, resource_type="Task",
           detail=f"view={form.view}; shown={len(page.rows)}", at=clock())
    return render_template("inbox.html", page=page, form=form, now=clock(), near=inbox_list.NEAR)


@bp.get("/consults/<consult_id>")
def consult(consult_id: str) -> Any:
    return consult_page(consult_id)


def consult_page(consult_id: str, errors: dict[str, str] | None = None, form: str | None = None,
                  status: int = 200) -> Any:
    user = current_user()
    detail = queries.consult_detail(get_session(), user, consult_id, str(get_locale()))
    if detail is None:
        abort(404)
    record(get_session(), inbox_actor(), event="web.consult.view", action=AuditAction.READ,
           resource_type="ServiceRequest", resource_id=consult_id, patient_ref=detail.patient_ref,
           detail=detail.access_basis, at=clock())
    if errors:
        get_session().commit()  # the view was shown, even though the form is refused
    specialisms = sorted((code, specialism_label(code, str(get_locale()))) for _, code in
                         registry().value_set_codes(VS_REQUESTED_SPECIALISM))
    own_snippets = snippets_of(get_session(), user.id) if detail.may_act else []
    if own_snippets and not g.get("page_scripts"):
        allow_own_scripts()  # static/snippets.js inserts a snippet into the answer field
    return render_template("consult.html", c=detail, now=clock(), errors=errors or {}, open_form=form,
                           values=request.form, specialisms=specialisms, outcomes=advice.OUTCOMES,
                           snippets=own_snippets), status


def _act(consult_id: str, form: str, action: Callable[[], object], done: str | None = None) -> Any:
    """Run an action; field errors re-show the page with the errors next to the fields (400). Done, the
    consult's page says in words what happened; it stays readable after a forward (read-only) or a decline."""
    try:
        action()
    except FormErrors as refused:
        get_session().rollback()
        return consult_page(consult_id, {k: _(v) for k, v in refused.errors.items()}, form, 400)
    flash(done or _("Saved."))
    return redirect(url_for("web.consult", consult_id=consult_id))


@bp.post("/consults/<consult_id>/ask")
def ask(consult_id: str) -> Any:
    return _act(consult_id, "ask", lambda: advice.ask_gp(
        get_session(), current_user(), consult_id, request.form.get("question", ""), clock(), request.remote_addr,
        request.form.get("minutes", "")),
        _("Your question has been sent to the GP. The consult waits under \"Waiting for the GP\" until the "
          "answer comes."))


@bp.post("/consults/<consult_id>/answer")
def answer(consult_id: str) -> Any:
    known = {code for _, code in registry().value_set_codes(VS_REQUESTED_SPECIALISM)}

    def act() -> object:
        specialist.open_task_of_kind(get_session(), current_user(), consult_id, referral=False)
        return advice.record_advice(get_session(), current_user(), consult_id,
                                    advice.parse_advice(dict(request.form), known), clock(), request.remote_addr)

    return _act(consult_id, "answer", act, _("Your advice has been sent to the GP. What you sent is shown below."))


@bp.post("/consults/<consult_id>/accept-referral")
def accept_referral(consult_id: str) -> Any:
    def act() -> object:
        specialist.open_task_of_kind(get_session(), current_user(), consult_id, referral=True)
        return advice.accept_referral(get_session(), current_user(), consult_id,
                                      advice.parse_acceptance(dict(request.form)), clock(), request.remote_addr)

    return _act(consult_id, "accept-referral", act, _("The referral is accepted. The GP has been told."))


@bp.post("/consults/<consult_id>/return-referral")
def return_referral(consult_id: str) -> Any:
    def act() -> object:
        specialist.open_task_of_kind(get_session(), current_user(), consult_id, referral=True)
        return advice.return_referral(get_session(), current_user(), consult_id,
                                      advice.parse_return(dict(request.form)), clock(), request.remote_addr)

    return _act(consult_id, "return-referral", act,
                _("The referral has been returned to the GP with your advice: a prevented referral."))


@bp.post("/consults/<consult_id>/appointments")
def propose_appointments(consult_id: str) -> Any:
    def act() -> object:
        task = appointments.appointment_consult(get_session(), current_user(), consult_id)
        proposal = proposals.parse_proposal(dict(request.form), task.consult.consult_form == "video-consult",
                                               clock())
        return appointments.propose(get_session(), current_user(), consult_id, proposal, clock(),
                                    request.remote_addr)

    return _act(consult_id, "appointments", act, _("The appointment has been offered; the GP sees it at once."))


@bp.post("/consults/<consult_id>/appointments/<appointment_id>/cancel")
def cancel_appointment(consult_id: str, appointment_id: str) -> Any:
    return _act(consult_id, f"cancel-{appointment_id}", lambda: appointments.withdraw_or_cancel(
        get_session(), current_user(), consult_id, appointment_id, request.form.get("reason", ""), clock(),
        request.remote_addr), _("The appointment is withdrawn or cancelled; the GP sees it at once."))


@bp.post("/consults/<consult_id>/appointments/<appointment_id>/mark")
def mark_appointment(consult_id: str, appointment_id: str) -> Any:
    return _act(consult_id, f"mark-{appointment_id}", lambda: appointments.mark(
        get_session(), current_user(), consult_id, appointment_id, request.form.get("outcome", ""),
        request.form.get("note", ""), clock(), request.remote_addr),
        _("The appointment is marked as held: now give your advice.") if request.form.get("outcome") == "fulfilled"
        else _("Marked: the patient did not come. The GP has been told."))


@bp.get("/consults/<consult_id>/appointments/<appointment_id>/calendar.ics")
def appointment_calendar(consult_id: str, appointment_id: str) -> Response:
    """The specialist's agenda entry, in their language, without the patient's name."""
    found = appointments.appointment_of_user(get_session(), current_user(), consult_id, appointment_id)
    if found is None:
        abort(404)
    appointment, specialism = found
    kind = _("Video consult") if appointment.video else _("One-off physical consult (ECMS)")
    title = _("%(kind)s %(specialism)s (meekijkconsult)", kind=kind,
              specialism=specialism_label(specialism, str(get_locale())).lower())
    link = url_for("web.consult", consult_id=consult_id, _external=True)
    description = _("Consult in the inbox: %(link)s", link=link)
    record(get_session(), inbox_actor(), event="web.appointment.calendar", action=AuditAction.READ,
           resource_type="Appointment", resource_id=appointment.id, patient_ref=appointment.consult.patient_resource_id,
           at=clock())
    body = appointment_ics(appointment, str(title), str(description), request.host.split(":")[0], clock())
    return Response(body, 200, mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="{_("appointment")}-{appointment.id[:8]}.ics"'})


@bp.post("/consults/<consult_id>/forward")
def forward(consult_id: str) -> Any:
    return _act(consult_id, "forward", lambda: forwarding.forward(
        get_session(), current_user(), consult_id, request.form.get("to", ""), request.form.get("reason", ""), clock(),
        request.remote_addr, request.form.get("minutes", "")),
        _("The consult has been forwarded. You find it under \"Closed\" in your inbox."))


@bp.post("/consults/<consult_id>/decline")
def decline(consult_id: str) -> Any:
    return _act(consult_id, "decline", lambda: advice.decline(
        get_session(), current_user(), consult_id, request.form.get("reason", ""), clock(), request.remote_addr,
        request.form.get("minutes", "")),
        _("The consult has been declined; the GP receives your reason. You find it under \"Closed\"."))


@bp.get("/consults/<consult_id>/photos/<attachment_id>")
def photo(consult_id: str, attachment_id: str) -> Response:
    user = current_user()
    session_db = get_session()
    detail = queries.consult_detail(session_db, user, consult_id)
    if detail is None or attachment_id not in {p.id for p in detail.photos}:
        abort(404)
    attachment = get_attachment(session_db, detail.organisation_id, attachment_id)
    thumbnail = request.args.get("size") == "thumbnail"
    record(session_db, inbox_actor(), event="web.photo.view", action=AuditAction.READ, resource_type="Binary",
           resource_id=attachment_id, patient_ref=detail.patient_ref,
           detail="; ".join(filter(None, ("thumbnail" if thumbnail else "full", detail.access_basis))), at=clock())
    session_db.commit()
    chunks = read_attachment(session_db, settings(), attachment, thumbnail=thumbnail)
    first = next(chunks, b"")

    def stream() -> Iterator[bytes]:
        yield first
        yield from chunks

    mimetype = "image/jpeg" if thumbnail else attachment.content_type
    response = never_cached(Response(stream_with_context(stream()), mimetype=mimetype))
    response.headers["Content-Disposition"] = "inline"
    return response


# -- the user's own settings ------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
def user_settings() -> Any:
    user = get_session().get(User, current_user().id)
    assert user is not None  # policy.py has just loaded this user
    # E-mail notices are about consults assigned to the user: zorggroep staff and rota makers never get one.
    with_notices = not g.sees_reports and not current_user().keeps_rota
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            wanted = account.parse_account_settings(request.form, with_notices=with_notices)
        except FormErrors as refused:
            errors = {field: _(message) for field, message in refused.errors.items()}
        else:
            account.save_account_settings(get_session(), inbox_actor(), user.id, wanted, clock())
            # The language applies at once, as the header's language button does, and at every login.
            session["lang"] = wanted.language
            with force_locale(wanted.language):
                flash(_("Saved."))
            return redirect(url_for("web.user_settings"))
    values = request.form if errors else {"email": user.email or "", "language": user.language,
                                          "email_on_assignment": account.TICKED if user.email_on_assignment else ""}
    return render_template("settings.html", values=values, errors=errors, with_notices=with_notices,
                           mail_configured=bool(settings().smtp_host)), (400 if errors else 200)


# -- the zorggroep's reports ---------------------------------------------------------------------------------


@bp.get("/dashboard")
def dashboard() -> Any:
    access = report_access()  # 403 for anyone but the zorggroep's staff
    allow_own_scripts()  # Chart.js and the dashboard's script, from web/static only
    period = reports_page.read_period(request.args, local_date(clock()))
    figures, months, urgent, verdicts, collaboration = None, [], None, None, None
    if period.start is not None and period.end is not None:
        verdicts = verdicts_for_days(get_session(), access.zorggroep_id, period.start, period.end, str(get_locale()))
        outcomes = code_labels()["outcome"]
        figures = reports_page.figures(get_session(), access.zorggroep_id, period.start, period.end,
                                       GroupBy(period.group_by), str(get_locale()),
                                       lambda code: outcomes.get(code, code), clock())
        urgent = urgent_figures.section(get_session(), access.zorggroep_id, period.start, period.end, clock(),
                                        str(get_locale()), lambda code: outcomes.get(code, code))
        months = reports_page.statement_months(period.start, period.end)
        collaboration = collaboration_figures.section(get_session(), access.zorggroep_id, period.start,
                                                      period.end, str(get_locale()))
        record(get_session(), access.actor, event="web.dashboard.view", action=AuditAction.READ,
               resource_type="Report", detail=f"from={period.start}; to={period.end}; group_by={period.group_by}",
               at=clock())
    return render_template(
        "dashboard.html", period=period, figures=figures, urgent=urgent, months=months, verdicts=verdicts,
        collaboration=collaboration,
        groupings=reports_page.GROUPINGS, overdue=overdue.dashboard_section(get_session(), access, clock()),
        batches=declarations.batches(get_session(), access.zorggroep_id),
        insurers=dict(reports_page.insurers(get_session(), access.zorggroep_id)),
        month_to_close=reports_page.month_to_close(local_date(clock()))), (400 if period.errors else 200)


def _close_page(zorggroep_id: str, form: reports_page.CloseForm, preview: reports_page.ClosePreview | None,
                status: int) -> Any:
    return render_template("close_month.html", form=form, preview=preview,
                           insurers=reports_page.insurers(get_session(), zorggroep_id),
                           tariff_warning_text=reports_page.tariff_warning_text,
                           held_back_reason=reports_page.held_back_reason), status


@bp.get("/dashboard/close")
def close_month_preview() -> Any:
    """Step one of closing a month: what it would declare, and a button to confirm."""
    access = report_access()
    form = reports_page.read_close(request.args, local_date(clock()))
    if form.errors or form.month is None:
        return _close_page(access.zorggroep_id, form, None, 400)
    preview = reports_page.preview_close(get_session(), access.zorggroep_id, form.insurer, form.month, clock())
    record(get_session(), access.actor, event="web.declarations.pending", action=AuditAction.READ,
           resource_type="Report", detail=f"insurer={form.insurer}; period={form.month}", at=clock())
    if preview.problem:
        get_session().commit()  # the preview was shown, even though the month cannot be closed
    return _close_page(access.zorggroep_id, form, preview, preview.status)


@bp.post("/dashboard/close")
def close_month() -> Any:
    """Step two: close the month (a numbered batch that never changes). CSRF is checked by Flask-WTF."""
    access = report_access(write=True)
    form = reports_page.read_close(request.form, local_date(clock()))
    if form.errors or form.month is None:
        return _close_page(access.zorggroep_id, form, None, 400)
    preview = reports_page.preview_close(get_session(), access.zorggroep_id, form.insurer, form.month, clock())
    if preview.problem:
        return _close_page(access.zorggroep_id, form, preview, preview.status)
    try:
        batch = declarations.close_month(get_session(), access.actor, access.name, access.zorggroep_id, form.insurer,
                                         form.month, clock())
    except (UnprocessableInput, Conflict) as refused:
        # Someone else closed it between the check above and now: show why, as the preview would.
        get_session().rollback()
        preview = reports_page.preview_close(get_session(), access.zorggroep_id, form.insurer, form.month, clock())
        if not preview.problem:
            preview = replace(preview, problem=refused.message, status=refused.status_code)
        return _close_page(access.zorggroep_id, form, preview, preview.status)
    flash(_("%(period)s is closed for insurer %(insurer)s: batch %(number)d, %(lines)d lines, %(total)s.",
            period=batch.period, insurer=batch.insurer_uzovi, number=batch.number, lines=batch.line_count,
            total=reports_page.money(batch.total_cents)))
    for warning in preview.tariff_warnings:  # closed all the same: two tariffs may be right (a new version)
        flash(reports_page.tariff_warning_text(warning))
    return redirect(url_for("web.dashboard", _anchor="declarations"))
