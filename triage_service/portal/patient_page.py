"""``/foto/<link>``: the patient uploads their own photos with the link the GP gave them (thin views).

Public, like the login: the link's secret and the patient's birth date are the authentication
(consults/patient_photos.py), and the session only remembers that this browser gave the right birth date for
this link. Plain Dutch, a phone page, the portal's photo check; nothing of the consult is shown. The secret is
cut out of the access log (access_log.py).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.attachments.quality import measure, thresholds
from triage_service.consults.patient_photos import (
    MAX_PHOTOS,
    MAX_TRIES,
    LinkClosed,
    add_patient_photo,
    check_birth_date,
    finish,
    open_link,
)
from triage_service.database import get_session
from triage_service.errors import DomainError
from triage_service.models import Organisation, PatientUploadLink
from triage_service.request_context import clock, settings
from triage_service.security.headers import allow_own_scripts

# The portal's photo check and styles, served under this blueprint too: the patient is not logged in to the portal.
bp = Blueprint("patient", __name__, url_prefix="/foto", template_folder="templates", static_folder="static",
               static_url_path="/static")
_STATUS = {"unknown": 404, "expired": 410, "used": 410, "closed": 410}


@bp.after_request
def _commit(response: WerkzeugResponse) -> WerkzeugResponse:
    # Wrong birth dates count even on the page that says so (status 400): the link closes after five.
    if response.status_code < 500:
        get_session().commit()
    return response


def _link(token: str) -> PatientUploadLink | Any:
    try:
        return open_link(get_session(), token, clock())
    except LinkClosed as closed:
        return render_template("portal/patient_closed.html", kind=closed.kind), _STATUS[closed.kind]


@bp.route("/<token>", methods=["GET", "POST"])
def upload_page(token: str) -> Any:
    link = _link(token)
    if not isinstance(link, PatientUploadLink):
        return link
    error = None
    if request.method == "POST":
        if check_birth_date(get_session(), link, request.form.get("birth_date", ""), clock(), request.remote_addr):
            session["patient_link"] = link.id
            return redirect(url_for("patient.upload_page", token=token))
        if link.closed_at is not None:
            return render_template("portal/patient_closed.html", kind="closed"), 410
        error = _("This date of birth is not right. You can try %(left)d more times.",
                  left=MAX_TRIES - link.failed_attempts)
    if session.get("patient_link") != link.id or link.verified_at is None:
        practice = get_session().get(Organisation, link.organisation_id)
        # The practice's name, so the patient knows the link is their own GP's; nothing about the consult.
        return render_template("portal/patient_birth_date.html", token=token, error=error,
                               practice=practice.name if practice else _("Your GP")), (400 if error else 200)
    return _photos_page(token, link)


def _photos_page(token: str, link: PatientUploadLink, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    allow_own_scripts(previews=True)
    return render_template("portal/patient_photos.html", token=token, errors=errors or {}, quality=thresholds(),
                           max_bytes=settings().max_attachment_bytes, left=MAX_PHOTOS - link.photo_count), status


@bp.post("/<token>/fotos")
def send_photos(token: str) -> Any:
    link = _link(token)
    if not isinstance(link, PatientUploadLink):
        return link
    if session.get("patient_link") != link.id or link.verified_at is None:
        return redirect(url_for("patient.upload_page", token=token))
    files = [(f.read(), f.mimetype) for f in request.files.getlist("photos") if f and f.filename]
    if not files:
        return _photos_page(token, link, {"photos": _("Choose or take at least one photo.")}, 400)
    if len(files) > MAX_PHOTOS - link.photo_count:
        return _photos_page(token, link, {"photos": _("Send at most %(count)d photos.", count=MAX_PHOTOS)}, 400)
    problems = [quality.problems for data, _type in files if (quality := measure(data)) and quality.problems]
    if problems and not request.form.get("photos_checked"):
        return _photos_page(token, link, {"photos": _(
            "A photo looks blurred or too dark or light. Take it again, or tick that you want to send it anyway.")},
            400)
    documents = []
    try:
        for data, content_type in files:
            added = add_patient_photo(get_session(), settings(), link, data, content_type, clock(),
                                      request.remote_addr)
            documents += [added["document_id"]] if "document_id" in added else []
    except DomainError:
        get_session().rollback()
        return _photos_page(token, get_session().get(PatientUploadLink, link.id) or link, {"photos": _(
            "A file could not be sent: only photos (JPEG or PNG) up to the size limit are accepted.")}, 400)
    finish(get_session(), link, clock(), request.remote_addr, documents)
    session.pop("patient_link", None)
    return render_template("portal/patient_thanks.html", count=link.photo_count)
