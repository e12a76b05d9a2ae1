"""Logging in and out of the inbox, and the language button (the views anyone may reach, see policy.py).

Login is two steps (security/web_auth.py); the second starts a server-side session
(security/web_sessions.py) whose random id is all the cookie carries. Logging out ends that session in
the database, so a copy of the cookie opens nothing afterwards.
"""

from __future__ import annotations

from datetime import timedelta

from flask import g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.models import AuditAction
from triage_service.request_context import clock, settings
from triage_service.security.redirects import local_path
from triage_service.security.web_auth import PENDING_SECONDS, LoginRefused, check_password, check_totp, inbox_user
from triage_service.security.web_sessions import end_session, start_session
from triage_service.web.views import bp, inbox_actor, landing_page, may_see_reports


def _refusal(refused: LoginRefused) -> str:
    # Literal gettext calls, so the extractor finds these messages (they come from security/web_auth.py).
    texts = {"The username, password or code is not right.": _("The username, password or code is not right."),
             "This account is locked for a while after too many failed attempts. Try again later.":
                 _("This account is locked for a while after too many failed attempts. Try again later."),
             "Please log in again.": _("Please log in again.")}
    return str(texts.get(refused.message, refused.message))


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | WerkzeugResponse:
    error = None
    if request.method == "POST":
        try:
            user = check_password(get_session(), settings(), request.form.get("username", ""),
                                  request.form.get("password", ""), clock(), request.remote_addr)
        except LoginRefused as refused:
            get_session().commit()  # failed attempts count even though the login fails
            error = _refusal(refused)
        else:
            going_to = session.get("after_login")
            _end_browser_session("replaced")
            session["pending_user"] = user.id
            if going_to:
                session["after_login"] = going_to
            session["pending_at"] = clock().timestamp()
            return redirect(url_for("web.login_totp"))
    return render_template("login.html", error=error), (401 if error else 200)  # type: ignore[return-value]


@bp.route("/login/code", methods=["GET", "POST"])
def login_totp() -> str | WerkzeugResponse:
    pending, since = session.get("pending_user"), session.get("pending_at", 0)
    if not pending or clock().timestamp() - since > PENDING_SECONDS:
        session.clear()
        return redirect(url_for("web.login"))
    error = None
    if request.method == "POST":
        try:
            user = check_totp(get_session(), settings(), pending, request.form.get("code", ""), clock(),
                              request.remote_addr)
        except LoginRefused as refused:
            get_session().commit()
            error = _refusal(refused)
        else:
            going_to = session.get("after_login")
            _end_browser_session("replaced")  # a fresh session after login: no fixation
            # The cookie holds only the session's random id; the session itself is in the database.
            session["sid"] = start_session(get_session(), user.id, clock(),
                                           timedelta(minutes=settings().session_idle_minutes))
            session["lang"] = user.language
            g.inbox_user = inbox_user(get_session(), user.id)
            g.sees_reports = may_see_reports()
            # Back to the page that sent the user to the login, if any; the policy still decides whether this
            # account may see it (a specialist following a portal link lands on their own start page).
            return redirect(local_path(going_to, landing_page()))
    return render_template("totp.html", error=error), (401 if error else 200)  # type: ignore[return-value]


@bp.post("/logout")
def logout() -> WerkzeugResponse:
    record(get_session(), inbox_actor(), event="web.logout", action=AuditAction.EXECUTE, at=clock())
    _end_browser_session("logout")
    return redirect(url_for("web.login"))


def _end_browser_session(reason: str) -> None:
    """End the server-side session this browser's cookie names (if any) and empty the cookie: clearing
    the cookie alone would leave any copy of it working."""
    end_session(get_session(), session.get("sid"), clock(), reason)
    session.clear()


@bp.post("/language")
def language() -> WerkzeugResponse:
    chosen = request.form.get("lang")
    if chosen in ("nl", "en"):
        session["lang"] = chosen
    # Only paths on this site: an open redirect would be a phishing aid (security/redirects.py).
    return redirect(local_path(request.form.get("next"), url_for("web.inbox")))
