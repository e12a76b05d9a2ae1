""""Ik pak hem op" and the banner of waiting urgent consults on every inbox page (issue 20).

The route only parses, calls consults/callouts.take_consult (which changes the Task, stops the alerts and
audits) and answers in words; a refused take is said in the specialist's language, naming who took it first.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from triage_service.audit.trail import record
from triage_service.consults.callouts import take_consult
from triage_service.database import get_session
from triage_service.errors import Conflict, NotFound
from triage_service.models import AuditAction, AuditOutcome, Consult
from triage_service.request_context import clock
from triage_service.routing.service import specialism_label
from triage_service.web import inbox as queries
from triage_service.web import urgent
from triage_service.web.views import bp, consult_page, current_user, inbox_actor


@bp.post("/consults/<consult_id>/take")
def take(consult_id: str) -> Any:
    user = current_user()
    try:
        take_consult(get_session(), inbox_actor(), user, consult_id, clock())
    except (NotFound, Conflict):
        get_session().rollback()
        return _refused(consult_id)
    consult = get_session().get(Consult, consult_id)
    # The post's GP (or the practice's) sees it in their Task's history and on the portal (callout_steps).
    if consult is not None and consult.patient_practice_agb:
        flash(_("You have taken this urgent consult; the out-of-hours post can see that."))
    else:
        flash(_("You have taken this urgent consult; the GP can see that."))
    return redirect(url_for("web.consult", consult_id=consult_id))


def _refused(consult_id: str) -> Any:
    session, user = get_session(), current_user()
    visible = queries.is_visible(session, user, consult_id)
    refusal = urgent.take_refusal(session, user, consult_id, visible, clock())
    if refusal is None:
        abort(404)
    message, status = refusal
    record(session, inbox_actor(), event="web.callout.take", action=AuditAction.UPDATE,
           outcome=AuditOutcome.MINOR_FAILURE, resource_type="ServiceRequest", resource_id=consult_id,
           detail=f"refused={status}", at=clock())
    if visible:
        # The consult page again, with the reason above the call-out (it commits the audit entries itself).
        return consult_page(consult_id, {"take": message}, "take", status)
    # Called out to them, but taken by someone else since: the consult is no longer theirs to see.
    session.commit()
    return render_template("take_refused.html", message=message), status


@bp.app_context_processor
def _urgent_globals() -> dict[str, Any]:
    """For every page: the banner (read when base.html asks, once per page) and the countdown's words."""

    def banner() -> list[Any]:
        if g.get("inbox_user") is None:
            return []
        return urgent.banner(get_session(), g.inbox_user)

    def countdown(due_at: Any) -> str:
        urgent.uses_countdown()
        return urgent.countdown_text(due_at, clock())

    return {"urgent_banner": banner, "countdown": countdown, "countdown_words": urgent.countdown_words,
            "uses_countdown": lambda: bool(g.get("countdown")), "now_utc": clock,
            "clock_time": lambda at: urgent.clock_time(at, clock()), "stage_words": urgent.stage_words,
            "specialism_name": lambda code: specialism_label(code, str(get_locale()))}
