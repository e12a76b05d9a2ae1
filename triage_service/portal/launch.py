"""``POST /huisarts/launch``: the GP system opens the new-consult form with the GP and the patient filled in.

Thin: the checks are security/his_launch.py's, the draft consults/drafts.py's, the form new_consult.py's. The
response to the launch is the prefilled form itself, not a redirect: the HIS's POST comes from another site,
and the session cookie (SameSite=Strict) would not go with a redirect that follows it, whereas the form's
own posts come from this site. A refused launch gets a Dutch page, no session, and an audit entry.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import g, render_template, request, session

from triage_service.audit.trail import Actor, record
from triage_service.consults.drafts import open_drafts, save_draft
from triage_service.database import get_session
from triage_service.models import AuditAction, AuditOutcome, DraftStatus
from triage_service.portal.new_consult import form_page
from triage_service.portal.views import bp
from triage_service.request_context import clock, launch_url, settings
from triage_service.security.his_launch import LaunchRefused, verify_launch
from triage_service.security.web_auth import inbox_user
from triage_service.security.web_sessions import end_session, start_session

_STATUS = {"forged": 401, "expired": 401, "replayed": 401, "other-practice": 403, "no-account": 403,
           "wrong-address": 400, "malformed": 400}


@bp.post("/launch")
def launch() -> Any:
    db = get_session()
    try:
        launched = verify_launch(db, request.form.get("launch", ""), launch_url(), clock())
    except LaunchRefused as refused:
        # A refused launch changes nothing for whoever is logged in here: any website can post one.
        db.rollback()
        client = refused.client
        record(db, Actor(kind="client" if client else "anonymous", id=client.client_id if client else None,
                         organisation_id=client.organisation_id if client else None, source_ip=request.remote_addr),
               event="portal.launch.refused", action=AuditAction.EXECUTE,
               outcome=AuditOutcome.SERIOUS_FAILURE if refused.kind == "forged" else AuditOutcome.MINOR_FAILURE,
               detail=f"kind={refused.kind}", at=clock())
        db.commit()
        return render_template("portal/launch_refused.html", kind=refused.kind), _STATUS[refused.kind]
    user = launched.user
    # Whoever used this browser before is logged out: a launch is a login of the GP the HIS names.
    end_session(db, session.get("sid"), clock(), "replaced")
    session.clear()
    session["sid"] = start_session(db, user.id, clock(), timedelta(minutes=settings().session_idle_minutes))
    session["lang"] = user.language
    g.inbox_user = inbox_user(db, user.id)
    # NEN 7513: the person is the GP; that no password or code was asked is recorded with who vouched.
    record(db, Actor(kind="user", id=user.username, organisation_id=launched.practice.id,
                     source_ip=request.remote_addr), event="web.login.his-launch", action=AuditAction.EXECUTE,
           detail=f"vouched-by={launched.client.client_id}; jti={launched.jti[:64]}", at=clock())
    # The same patient launched again (a second click in the HIS): the open draft is brought up to date rather
    # than a second one made beside it.
    earlier = next((d for d in open_drafts(db, g.inbox_user) if d.author_id == user.id
                    and d.status is DraftStatus.OPEN and d.form.get("bsn") == launched.form["bsn"]), None)
    form = {**earlier.form, **{k: v for k, v in launched.form.items() if v}} if earlier else launched.form
    draft = save_draft(db, g.inbox_user, earlier, form, clock(), request.remote_addr)
    db.commit()
    return form_page(draft, draft.form, {}, launched=True)
