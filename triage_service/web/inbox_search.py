"""Finding a patient's consults in the inbox by BSN (issue 21).

The BSN is patient data: it is sent in a POST body (never in a URL, so never in an access log, a browser's
history or a Referer), checked with the elfproef before any lookup, and found through the blind index of the
stored Patient (encryption/fields.py), so the database never sees it. Every search is audited (NEN 7513):
one entry per patient found, and one for a search that found nothing, without the number itself.
"""

from __future__ import annotations

from datetime import datetime

from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, contains_eager

from triage_service.audit.queries import patient_refs
from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.fhir.dutch import is_valid_bsn
from triage_service.models import AuditAction, Consult, ConsultTask
from triage_service.request_context import clock
from triage_service.security.web_auth import InboxUser
from triage_service.web import inbox_list
from triage_service.web.inbox import forwarded_by, visible
from triage_service.web.views import bp, current_user, inbox_actor


def search_consults(session: Session, user: InboxUser, bsn: str, now: datetime,
                    language: str) -> list[inbox_list.InboxRow]:
    """The consults of this patient the user may see (their own, their group's, those they forwarded),
    newest first."""
    refs = patient_refs(session, bsn)
    if not refs:
        return []
    tasks = list(session.scalars(
        select(ConsultTask).join(Consult, Consult.id == ConsultTask.consult_id)
        .where(Consult.patient_resource_id.in_(refs), or_(visible(user), forwarded_by(user)))
        .options(contains_eager(ConsultTask.consult))
        .order_by(ConsultTask.created_at.desc()).limit(inbox_list.PAGE_SIZE)))
    return inbox_list.rows_of(session, user, tasks, now.date(), language)


@bp.post("/inbox/zoeken")
def search() -> tuple[str, int]:
    """CSRF is checked by Flask-WTF; a malformed BSN is a form error beside the field (400)."""
    user = current_user()
    session = get_session()
    bsn = "".join(request.form.get("bsn", "").split()).replace(".", "")
    form = inbox_list.InboxFilter(view="search")
    counts = inbox_list.tab_counts(session, user)
    if not is_valid_bsn(bsn):
        error = _("A BSN has 9 digits and passes the elfproef; check the number")
        return render_template("inbox.html", page=inbox_list.InboxPage([], counts, 0, 1, 1), form=form,
                               now=clock(), near=inbox_list.NEAR, search_error=error, searched=True), 400
    rows = search_consults(session, user, bsn, clock(), str(get_locale()))
    patients: list[str | None] = [*sorted({row.patient_ref for row in rows if row.patient_ref})] or [None]
    for patient in patients:
        record(session, inbox_actor(), event="web.inbox.search", action=AuditAction.READ, resource_type="Patient",
               resource_id=patient, patient_ref=patient, detail=f"found={len(rows)}", at=clock())
    session.commit()
    page = inbox_list.InboxPage(rows, counts, len(rows), 1, 1)
    return render_template("inbox.html", page=page, form=form, now=clock(), near=inbox_list.NEAR,
                           searched=True), 200
