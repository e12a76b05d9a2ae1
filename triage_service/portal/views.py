"""The practice's consults: the list, one consult, and what the GP does with it (thin views)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, flash, g, redirect, render_template, request, stream_with_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.attachments.documents import get_attachment, read_attachment
from triage_service.attachments.quality import thresholds
from triage_service.audit.trail import record
from triage_service.consults import letters, patient_photos, practice, verdicts
from triage_service.consults.patient_context import context_tables
from triage_service.consults.teams import team_of_consult
from triage_service.database import get_session
from triage_service.errors import N_, Conflict, DomainError, FormErrors, NotFound
from triage_service.models import Attachment, AuditAction, OrganisationKind
from triage_service.portal import queries
from triage_service.portal.overflow_notice import overflow_notice
from triage_service.portal.qr import qr_svg
from triage_service.request_context import clock, settings
from triage_service.routing.service import specialism_label
from triage_service.security.headers import allow_own_scripts
from triage_service.security.web_auth import InboxUser

bp = Blueprint("portal", __name__, url_prefix="/huisarts", template_folder="templates", static_folder="static",
               static_url_path="/static")


def current_user() -> InboxUser:
    user: InboxUser = g.inbox_user
    return user


@bp.after_request
def _commit(response: WerkzeugResponse) -> WerkzeugResponse:
    if response.status_code < 400:
        get_session().commit()
    return response


def specialism_text(code: str) -> str:
    return specialism_label(code, str(get_locale()))


def state_words() -> dict[str, str]:
    """The consult's status as the GP reads it (built per request: gettext follows the request's language)."""
    return {"assigned": _("Sent, assigned"), "in-progress": _("Being answered"),
            "question": _("Question from the specialist"), "advice": _("Advice received"),
            "advice-confirmed": _("Advice confirmed"), "referral": _("Advice: referral"),
            "appointment-proposed": _("Choose an appointment time"), "appointment-booked": _("Appointment booked"),
            "referral-accepted": _("Referral accepted"), "returned-with-advice": _("Returned with advice"),
            "declined": _("Declined by the specialist"), "cancelled": _("Cancelled")}


@bp.get("/")
def consults() -> str:
    user = current_user()
    from triage_service.consults.drafts import open_drafts

    rows = queries.practice_rows(get_session(), user)
    # The consults out-of-hours posts asked about the practice's patients: names shown, so counted in the audit.
    from_posts = queries.rows_from_posts(get_session(), user)
    record(get_session(), practice.practice_actor(user, request.remote_addr), event="portal.consults.list",
           action=AuditAction.READ, resource_type="Task", detail=f"shown={len(rows)}; from_posts={len(from_posts)}",
           at=clock())
    out_of_hours = practice.practice_of(get_session(), user).kind is OrganisationKind.OUT_OF_HOURS_POST
    return render_template("portal/consults.html", rows=rows, drafts=open_drafts(get_session(), user),
                           words=state_words(), now=clock(), specialism=specialism_text, out_of_hours=out_of_hours,
                           from_posts=from_posts)


@bp.get("/consults/<consult_id>")
def consult(consult_id: str) -> Any:
    return consult_page(consult_id)


def consult_page(consult_id: str, errors: dict[str, str] | None = None, status: int = 200,
                 new_link: tuple[str, str, Any] | None = None) -> Any:
    user = current_user()
    found, read_only = practice.consult_to_read(get_session(), user, consult_id)
    practice.record_view(get_session(), user, found, clock(), request.remote_addr)
    if errors:
        get_session().commit()  # the view was shown (and audited), though the form is refused
    detail = queries.practice_consult(get_session(), found)
    allow_own_scripts(previews=True)  # the photo check of the answer's extra photos, nothing inline
    return render_template("portal/consult.html", detail=detail, words=state_words(), errors=errors or {},
                           form=request.form, specialism=specialism_text, user=user, quality=thresholds(),
                           new_link=new_link, patient_links=patient_photos.links_of(get_session(), consult=found),
                           own_practice=practice.own_practice_name(get_session(), found), read_only=read_only,
                           now=clock(), verdict=verdicts.find_verdict(get_session(), found.id),
                           can_judge=not read_only and verdicts.answered_with_advice(found),
                           max_bytes=settings().max_attachment_bytes,
                           overflow=overflow_notice(get_session(), found),
                           team=team_of_consult(get_session(), found),
                           patient_context=context_tables(get_session(), found)), status


@bp.post("/consults/<consult_id>/answer")
def answer(consult_id: str) -> Any:
    user = current_user()
    try:
        documents = _upload_documents(consult_id)
        practice.answer_question(get_session(), user, consult_id, request.form.get("question_id", ""),
                                 request.form.get("answer", ""), documents, clock(), request.remote_addr,
                                 settings().max_attachments_per_consult)
    except FormErrors as refused:
        get_session().rollback()
        return consult_page(consult_id, {k: _(v) for k, v in refused.errors.items()}, 400)
    flash(_("Your answer has been sent to the specialist."))
    return redirect(url_for("portal.consult", consult_id=consult_id))


def _upload_documents(consult_id: str) -> list[str]:
    """Extra photos with an answer, as DocumentReferences of the consult's patient (consults/thread.py)."""
    from triage_service.consults.thread import photo_document

    user = current_user()
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if not files:
        return []
    found = practice.consult_of_practice(get_session(), user, consult_id)
    ids = []
    for upload in files:
        try:
            stored = photo_document(get_session(), practice.practice_actor(user, request.remote_addr), settings(),
                                    found, upload.read(), upload.mimetype, clock())
        except DomainError as refused:
            raise FormErrors({"photos": N_("This file cannot be added: only JPEG, PNG or PDF within the size "
                                           "limit")}) from refused
        ids.append(stored.id)
    return ids


@bp.post("/consults/<consult_id>/patientlink")
def consult_patient_link(consult_id: str) -> Any:
    """A one-time link for the patient to send photos that join this open consult; shown once, with a QR code."""
    user = current_user()
    try:
        link, token = patient_photos.create_consult_link(get_session(), user, consult_id, clock(),
                                                         request.remote_addr)
    except Conflict as refused:
        get_session().rollback()
        return consult_page(consult_id, {"patient_link": _(refused.message)}, 409)
    get_session().commit()
    url = url_for("patient.upload_page", token=token, _external=True)
    return consult_page(consult_id, new_link=(url, qr_svg(url), link.expires_at))


@bp.post("/consults/<consult_id>/acknowledge")
def acknowledge(consult_id: str) -> WerkzeugResponse:
    practice.acknowledge(get_session(), current_user(), consult_id, clock(), request.remote_addr)
    flash(_("You have confirmed the advice. You remain the patient's treating GP."))
    return redirect(url_for("portal.consult", consult_id=consult_id))


@bp.post("/consults/<consult_id>/referral")
def start_referral(consult_id: str) -> WerkzeugResponse:
    """The advice says refer: a referral for triage, prepared from the consult, opens for the GP to send."""
    from triage_service.consults.drafts import referral_draft

    user = current_user()
    found = practice.consult_of_practice(get_session(), user, consult_id)
    draft = referral_draft(get_session(), user, found, clock(), request.remote_addr)
    flash(_("The referral has been prepared from the consult and the advice. Check it and send it for triage."))
    return redirect(url_for("portal.edit_draft", draft_id=draft.id))


@bp.post("/consults/<consult_id>/cancel")
def cancel(consult_id: str) -> WerkzeugResponse:
    practice.cancel(get_session(), current_user(), consult_id, request.form.get("reason", ""), clock(),
                    request.remote_addr)
    flash(_("The consult has been cancelled."))
    return redirect(url_for("portal.consult", consult_id=consult_id))


@bp.post("/consults/<consult_id>/appointments/<appointment_id>/book")
def book(consult_id: str, appointment_id: str) -> WerkzeugResponse:
    practice.book(get_session(), current_user(), consult_id, appointment_id, clock(), request.remote_addr)
    flash(_("The appointment has been booked. Tell the patient the time."))
    return redirect(url_for("portal.consult", consult_id=consult_id))


@bp.get("/consults/<consult_id>/photos/<photo_id>")
def photo(consult_id: str, photo_id: str) -> Response:
    """A photo of a consult the practice may read, decrypted as it streams; never cached by the browser."""
    user = current_user()
    found, _read_only = practice.consult_to_read(get_session(), user, consult_id)
    if photo_id not in {p.id for p in queries.practice_consult(get_session(), found).photos}:
        raise NotFound(N_("This photo is not one of this consult's"))
    attachment = get_attachment(get_session(), found.organisation_id, photo_id)
    record(get_session(), practice.practice_actor(user, request.remote_addr), event="portal.photo.view",
           action=AuditAction.READ, resource_type="Binary", resource_id=attachment.id,
           patient_ref=found.patient_resource_id, at=clock())
    get_session().commit()
    return photo_response(attachment)


@bp.get("/consults/<consult_id>/brief/<document_id>")
def letter(consult_id: str, document_id: str) -> Response:
    """The consult letter (any version) as the PDF stored when the consult was concluded, to file in the record."""
    user = current_user()
    found, _read_only = practice.consult_to_read(get_session(), user, consult_id)
    _, attachment = letters.read_letter(get_session(), practice.practice_actor(user, request.remote_addr), found,
                                        document_id, clock())
    data = letters.letter_bytes(get_session(), attachment)
    get_session().commit()  # the read is audited even if the download is broken off
    response = Response(data, mimetype="application/pdf")
    response.headers["Cache-Control"] = "no-store"
    # A generated name: nothing about the patient in a header or in the browser's download list.
    response.headers["Content-Disposition"] = f'attachment; filename="consultverslag-{consult_id[:8]}.pdf"'
    return response


def photo_response(attachment: Attachment) -> Response:
    """The photo (or its thumbnail with ``?size=small``) decrypted as it streams; never cached by the browser.
    The first piece is read here, so a blob that fails its integrity check is an error page, not a cut stream;
    reading it also ends the read before the response is handed over (SQLite's write lock is not kept)."""
    thumbnail = request.args.get("size") == "small"
    chunks = read_attachment(get_session(), settings(), attachment, thumbnail=thumbnail)
    first = next(chunks, b"")

    def stream() -> Iterator[bytes]:
        yield first
        yield from chunks

    # Thumbnails are always JPEG (attachments/photos.py); the original keeps its own type.
    response = Response(stream_with_context(stream()), mimetype="image/jpeg" if thumbnail else attachment.content_type)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Disposition"] = "inline"
    return response
