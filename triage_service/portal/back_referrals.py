"""Back-referrals in the GP portal (issue 23, point 2): the practice's list, one back-referral to read (and as a
PDF letter to file in the patient's record, consults/back_referral_letter.py), and taking the care over ("Ik neem
de zorg over") or first asking the specialist a question.

Thin views over consults/back_referrals.py, the rules the FHIR API's Task and Communication meet. Only the
practice a back-referral is addressed to sees it (another's is a 404 page); every read and change is audited
under the GP's account. Taking the care over is the GP's decision: the practice's staff read and may ask.
"""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from triage_service.audit.trail import record
from triage_service.consults import back_referral_letter, back_referrals, practice
from triage_service.database import get_session
from triage_service.errors import Conflict, FormErrors
from triage_service.models import AuditAction
from triage_service.portal.views import bp, current_user, specialism_text
from triage_service.request_context import clock
from triage_service.security.headers import never_cached


def state_words() -> dict[str, str]:
    """The back-referral's state as the GP reads it."""
    return {"pending": _("Waiting for you"), "questioned": _("Question sent to the specialist"),
            "answered": _("The specialist answered: waiting for you"), "accepted": _("Care taken over")}


@bp.get("/terugverwijzingen")
def back_referral_list() -> str:
    user = current_user()
    organisation = practice.practice_of(get_session(), user)
    rows = back_referrals.of_practice(get_session(), organisation.id)
    record(get_session(), practice.practice_actor(user, request.remote_addr), event="portal.back_referrals.list",
           action=AuditAction.READ, resource_type="ServiceRequest", detail=f"shown={len(rows)}", at=clock())
    return render_template("portal/back_referrals.html", rows=rows, words=state_words(), specialism=specialism_text)


def back_referral_page(back_referral_id: str, errors: dict[str, str] | None = None, status: int = 200) -> Any:
    user = current_user()
    back = back_referrals.for_practice(get_session(), user.organisation_id if user.in_practice else None,
                                       back_referral_id, practice.practice_actor(user, request.remote_addr), clock())
    if errors:
        get_session().commit()  # the page was shown (and audited), though the form is refused
    return render_template("portal/back_referral.html", back=back, words=state_words(), errors=errors or {},
                           form=request.form, specialism=specialism_text, may_accept=user.may_send,
                           programmes=back_referrals.CARE_PROGRAMMES), status


@bp.get("/terugverwijzingen/<back_referral_id>")
def back_referral(back_referral_id: str) -> Any:
    return back_referral_page(back_referral_id)


@bp.get("/terugverwijzingen/<back_referral_id>/brief.pdf")
def back_referral_letter_pdf(back_referral_id: str) -> Response:
    """The back-referral as a letter (PDF) to file in the patient's record; another practice's is a 404."""
    user = current_user()
    data, name = back_referral_letter.practice_letter(
        get_session(), user.organisation_id if user.in_practice else None, back_referral_id,
        practice.practice_actor(user, request.remote_addr), clock())
    get_session().commit()  # the export is audited even if the download is broken off
    response = never_cached(Response(data, mimetype="application/pdf"))
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/terugverwijzingen/<back_referral_id>/overnemen")
def take_over(back_referral_id: str) -> Any:
    user = current_user()
    practice.require_gp(user)
    actor = practice.practice_actor(user, request.remote_addr)
    back = back_referrals.for_practice(get_session(), user.organisation_id, back_referral_id, actor, clock())
    try:
        back_referrals.accept(get_session(), back, user.display_name, actor, clock())
    except Conflict as refused:
        get_session().rollback()
        return back_referral_page(back_referral_id, {"accept": _(refused.template)}, 409)
    flash(_("You have taken over the care. The specialist sees this in the inbox."))
    return redirect(url_for("portal.back_referral", back_referral_id=back_referral_id))


@bp.post("/terugverwijzingen/<back_referral_id>/vraag")
def ask_question(back_referral_id: str) -> Any:
    user = current_user()
    actor = practice.practice_actor(user, request.remote_addr)
    back = back_referrals.for_practice(get_session(), user.organisation_id if user.in_practice else None,
                                       back_referral_id, actor, clock())
    try:
        back_referrals.ask(get_session(), back, user.display_name, request.form.get("question", ""), actor, clock())
    except FormErrors as refused:
        get_session().rollback()
        return back_referral_page(back_referral_id, {k: _(v) for k, v in refused.errors.items()}, 400)
    except Conflict as refused:
        get_session().rollback()
        return back_referral_page(back_referral_id, {"question": _(refused.template)}, 409)
    flash(_("Your question has been sent to the specialist."))
    return redirect(url_for("portal.back_referral", back_referral_id=back_referral_id))
