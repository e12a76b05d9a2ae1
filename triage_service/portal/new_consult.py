"""A new consult: the form guided by the agreements, photos from the phone, and sending it (thin views).

The form is kept as a draft from the first save, with its photos, so a correction never means choosing
the photos again, and practice staff can prepare a consult that a GP checks and sends. Sending is the
intake's (consults/drafts.py); its refusals come back beside the fields.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.agreements.offer import PRIORITY_ORDER, consult_offer, icpc_patterns
from triage_service.attachments.documents import get_attachment
from triage_service.attachments.quality import thresholds
from triage_service.audit.trail import record
from triage_service.consults import drafts
from triage_service.consults.coverage import Problem
from triage_service.consults.patient_photos import links_of
from triage_service.consults.practice import practice_actor, practice_of
from triage_service.database import get_session
from triage_service.errors import N_, DomainError, Forbidden, FormErrors, NotFound
from triage_service.fhir import icpc
from triage_service.models import AuditAction, ConsultDraft, DraftStatus, Organisation, OrganisationKind
from triage_service.portal.qr import qr_svg
from triage_service.portal.views import bp, current_user, photo_response
from triage_service.reports.periods import local_date
from triage_service.request_context import clock, settings
from triage_service.routing.service import specialism_label
from triage_service.security.headers import allow_own_scripts

ACCEPTED_TYPES = "image/jpeg,image/png,application/pdf"


@bp.route("/nieuw", methods=["GET", "POST"])
def new_consult() -> Any:
    if request.method == "POST":
        return _save(None)
    post = practice_of(get_session(), current_user()).kind is OrganisationKind.OUT_OF_HOURS_POST
    # The post's agreements admit urgent questions only: its form starts there, not at "routine".
    return form_page(None, {"category": "meekijkconsult", "urgency": "urgent" if post else "routine"}, {})


@bp.route("/concepten/<draft_id>", methods=["GET", "POST"])
def edit_draft(draft_id: str) -> Any:
    draft = drafts.draft_of(get_session(), current_user(), draft_id)
    if draft.status is DraftStatus.SENT and draft.consult_id:
        return redirect(url_for("portal.consult", consult_id=draft.consult_id))
    if request.method == "POST":
        return _save(draft)
    return form_page(draft, draft.form, {})


def _save(draft: ConsultDraft | None) -> Any:
    """Save what was typed and add the chosen photos; then, as the button asked, keep, hand over or send."""
    user, session = current_user(), get_session()
    action = request.form.get("action", "save")
    form = {**request.form}
    specialism, _sep, consult_form = form.get("ask", "").partition("|")
    form.update(specialism=specialism, consult_form=consult_form)
    draft = drafts.save_draft(session, user, draft, form, clock(), request.remote_addr,
                              ready=action == "ready")
    errors: dict[str, str] = {}
    added = []
    # Photos and documents, and the ECG of the section on the patient's context (portal/_patient_context.html).
    uploads = [(f, None) for f in request.files.getlist("photos")] + [(f, "ecg") for f in request.files.getlist("ecg")]
    for upload, kind in ((f, k) for f, k in uploads if f and f.filename):
        try:
            added.append(drafts.add_file(session, practice_actor(user, request.remote_addr), settings(), draft,
                                         upload.read(), upload.mimetype,
                                         "" if kind else request.form.get("photo_title", ""), clock(), kind))
        except FormErrors as refused:
            errors.update({k: _(v) for k, v in refused.errors.items()})
        except DomainError:
            errors["ctx_ecg" if kind else "files"] = _("This file cannot be added: only JPEG, PNG or PDF within the "
                                                        "size limit")
    for attachment_id in request.form.getlist("remove"):
        drafts.remove_file(draft, attachment_id, clock())
    session.commit()  # the draft and its photos are kept whatever the send below says
    if errors:
        return form_page(draft, draft.form, errors, 400)
    if action == "send":
        if any(f["quality"] for f in added) and not request.form.get("photos_checked"):
            return form_page(draft, draft.form, {"files": _(
                "Some photos look blurred or badly lit (see below). Retake them, or tick that you checked them "
                "and send again.")}, 400)
        try:
            sent = drafts.send(session, user, settings(), draft, clock(), request.remote_addr)
        except drafts.NotCovered as refused:
            return form_page(draft, draft.form, {p.field: _not_covered(p) for p in refused.problems}, 422)
        except FormErrors as refused:
            session.commit()  # the refused attempt's audit entries stay; nothing of the consult was stored
            return form_page(draft, draft.form, {k: _(v) if k else _refusal(v) for k, v in
                                                  refused.errors.items()}, 422)
        flash(_("Your consult has been sent. You will find the specialist's answer here."))
        if sent.warnings:
            flash(_("Note: the agreements mark this kind of consult as one that often becomes a referral."))
        return redirect(url_for("portal.consult", consult_id=sent.consult.id))
    flash(_("Handed over: a GP of the practice can check and send it.") if action == "ready" else _("Saved."))
    return redirect(url_for("portal.edit_draft", draft_id=draft.id))


def _not_covered(problem: Problem) -> str:
    """Why the closest agreement does not admit this consult, beside the field to correct."""
    figures = problem.figures
    # The consult forms' names as the pages call them (web/labels.py has the same msgids for the inbox).
    form_names = {"e-consult": _("E-consult"), "intercollegial-consult": _("Intercollegial consult"),
                  "video-consult": _("Video consult"), "ecms": _("One-off physical consult (ECMS)")}
    words = {
        "icpc": _("No agreement covers this complaint for this specialism; covered: %(codes)s", codes=figures.get(
            "codes", "")),
        "age": _("The agreement covers patients aged %(low)s to %(high)s", low=figures.get("low", ""),
                 high=figures.get("high", "")) if figures.get("high", "…") != "…" else
        _("The agreement covers patients aged %(low)s and over", low=figures.get("low", "")),
        "sex": _("The agreement does not cover patients of this sex"),
        "region": _("The patient lives outside the region the agreement covers (or the postcode is missing)"),
        "insurer": _("The agreements do not cover patients of this insurer"),
        "form": _("This consult form is not agreed for these patients"),
        "photos": _("This consult form needs at least %(count)s photos", count=figures.get("photos", "")),
        "category": _("These patients are agreed as a referral for triage, not as a consult"),
        "validity": _("The agreement is not in force today"),
        "performer": _("The specialist you asked for does not answer under this agreement"),
        "requester": _("The agreements do not cover questions from your organisation for these patients"),
        "priority": _("This urgency is not agreed for these patients"),
        "hours": _("The agreement does not cover these patients at this hour"),
        "specialism": _("No agreement covers this specialism"),
        "other-form": _("For this patient the agreements cover: %(forms)s", forms=", ".join(
            str(form_names.get(f, f)) for f in figures.get("forms", "").split(",") if f)),
    }
    if problem.dimension == "other-form":
        return str(words["other-form"])
    return str(_("Not covered: %(reason)s", reason=words.get(problem.dimension, problem.dimension)))


def _refusal(diagnostics: str) -> str:
    return str(_("The consult could not be sent: %(reason)s", reason=_(diagnostics)))


def form_page(draft: ConsultDraft | None, values: dict[str, Any], errors: dict[str, str], status: int = 200,
              new_link: tuple[str, str, Any] | None = None, launched: bool = False) -> Any:
    allow_own_scripts(previews=True)  # the photo check (portal/static) and its previews, nothing inline
    language = str(get_locale())
    practice = practice_of(get_session(), current_user())
    offer = consult_offer(get_session(), local_date(clock()), practice.kind.value, practice.agb)
    patterns = icpc_patterns(offer)
    choices = [(f"{s.code}|{form}", specialism_label(s.code, language), form) for s in offer for form in s.forms]
    covered = sorted({row for codes in patterns.values() for row in icpc.codes_in(list(codes) if "" not in codes
                                                                                   else [])})
    insurers = get_session().scalars(select(Organisation).where(Organisation.kind == OrganisationKind.INSURER)
                                     .order_by(Organisation.name)).all()
    values = {**values, "ask": f"{values.get('specialism', '')}|{values.get('consult_form', '')}"
              if values.get("specialism") else values.get("ask", "")}
    return render_template("portal/new_consult.html", draft=draft, values=values, errors=errors, offer=offer,
                           choices=choices, covered=covered, patterns=patterns, insurers=insurers,
                           quality=thresholds(), accepted=ACCEPTED_TYPES, max_bytes=settings().max_attachment_bytes,
                           may_send=current_user().may_send, new_link=new_link, now=clock(), launched=launched,
                           patient_links=links_of(get_session(), draft) if draft else [],
                           icpc_title=icpc.title, label=lambda code: specialism_label(code, language),
                           out_of_hours=practice.kind is OrganisationKind.OUT_OF_HOURS_POST,
                           urgencies=[p for p in PRIORITY_ORDER if any(p in s.priorities for s in offer)]), status


@bp.post("/concepten/<draft_id>/verwijderen")
def discard_draft(draft_id: str) -> WerkzeugResponse:
    draft = drafts.draft_of(get_session(), current_user(), draft_id)
    if draft.status is DraftStatus.SENT:
        raise FormErrors({"": N_("This consult has been sent already; it can no longer be changed")})
    get_session().delete(draft)
    flash(_("The draft has been deleted."))
    return redirect(url_for("portal.consults"))


@bp.get("/concepten/<draft_id>/bestanden/<attachment_id>")
def draft_file(draft_id: str, attachment_id: str) -> Response:
    """A photo already added to a draft (its thumbnail with ``?size=small``), so the GP sees which one to keep."""
    user = current_user()
    draft = drafts.draft_of(get_session(), user, draft_id)
    if attachment_id not in {f["attachment_id"] for f in draft.files}:
        raise NotFound(N_("This photo is not one of this draft's"))
    attachment = get_attachment(get_session(), draft.organisation_id, attachment_id)
    record(get_session(), practice_actor(user, request.remote_addr), event="portal.draft.photo.view",
           action=AuditAction.READ, resource_type="Binary", resource_id=attachment.id, at=clock())
    get_session().commit()
    return photo_response(attachment)


@bp.post("/concepten/<draft_id>/patientlink")
def patient_link(draft_id: str) -> Any:
    """A one-time link for the patient to upload photos into this draft; shown once, here, with a QR code."""
    from triage_service.consults.patient_photos import create_link

    user = current_user()
    draft = drafts.draft_of(get_session(), user, draft_id)
    try:
        link, token = create_link(get_session(), user, draft.id, clock(), request.remote_addr)
    except Forbidden as refused:
        return form_page(draft, draft.form, {"patient_link": _(refused.message)}, 400)
    get_session().commit()
    url = url_for("patient.upload_page", token=token, _external=True)
    return form_page(draft, draft.form, {}, new_link=(url, qr_svg(url), link.expires_at))
