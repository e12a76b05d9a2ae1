"""Who may reach which endpoint: every authentication decision in one place.

Deny by default (ARCHITECTURE.md, principle 2): an endpoint needs a valid
bearer token unless it is on ``PUBLIC_ENDPOINTS``. Scope checks per resource
type and interaction are in ``require_scope``; organisation checks (a client
sees only its own organisation's data) are in the queries of ``api/``, which
always filter on ``AccessContext.organisation_id``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from triage_service.audit.trail import Actor
from triage_service.database import get_session
from triage_service.errors import N_, Forbidden, InvalidId, InvalidInput, Unauthorized
from triage_service.models import UserRole
from triage_service.security.api_auth import AccessContext, authenticate_bearer

#: Endpoints anyone may call: the capability statement and our published conformance resources
#: (FHIR clients need them before they have a token), the SMART discovery document, the token
#: endpoint itself, and the health check.
PUBLIC_ENDPOINTS = frozenset({
    "fhir.metadata",
    "fhir.conformance_read",
    "fhir.conformance_search",
    "fhir.openapi",
    "oauth.token",
    "oauth.smart_configuration",
    "health.health",
    "static",
    "web.static",
    "web.login",
    "web.login_totp",
    "web.language",
    # The inbox's service worker: a static script, fetched again by the browser to update whether logged in or not.
    "web.service_worker",
    # A GP system's signed launch (security/his_launch.py): the JWT is the authentication.
    "portal.launch",
    # The patient's upload page: the link's secret and the patient's birth date authenticate
    # (consults/patient_photos.py); its own copy of the portal's script and styles.
    "patient.upload_page",
    "patient.send_photos",
    "patient.static",
})


def init_app(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> Response | None:
        _refuse_control_characters()
        # A GP system's id with a NUL is refused after its token is read, so the audit entry names the client.
        if request.blueprint != "fhir" or request.endpoint is None or request.endpoint in PUBLIC_ENDPOINTS:
            _refuse_control_characters_in_path()
        if request.endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.endpoint is None:
            return None  # unknown URL: let routing answer 404/405 without revealing anything
        from triage_service.request_context import clock

        if request.blueprint in ("web", "portal"):
            return _authenticate_session(clock()) or _keep_to_own_screens()
        if request.blueprint == "reports" and "Authorization" not in request.headers:
            # Zorggroep staff use the reports from the inbox session; API clients send a token.
            return _authenticate_session(clock(), redirect_to_login=False)
        g.access = authenticate_bearer(get_session(), request.headers.get("Authorization"), clock())
        _refuse_control_characters_in_path()
        return None


def _refuse_control_characters_in_path() -> None:
    if "\x00" in request.path:
        raise InvalidId(N_("The URL may not contain NUL characters: no id has one"))


def _refuse_control_characters() -> None:
    """No NUL in a parameter or form field: PostgreSQL cannot store it, and no Dutch name or question
    needs one. Refused before anything else looks at the request (found by the fuzzing tests); in the
    path it is refused as an id that cannot exist, which the FHIR API audits (api/ids.py)."""
    fields = list(request.args.items(multi=True))
    if request.mimetype == "application/x-www-form-urlencoded":
        fields += request.form.items(multi=True)
    for key, value in fields:
        if "\x00" in key or "\x00" in value:
            raise InvalidInput(N_("Parameters and form fields may not contain NUL characters"))


def _authenticate_session(now: datetime, redirect_to_login: bool = True) -> Response | None:
    """Inbox pages need a logged-in (password + TOTP) session that is still on in the database: not ended
    by logout or a change of password or second factor, not idle too long and not past its lifetime
    (security/web_sessions.py).
    The cookie's signature alone is not enough: a copy of it would outlive the logout."""
    from triage_service.security.web_auth import inbox_user
    from triage_service.security.web_sessions import audit_refused, resume_session

    db = get_session()
    token = session.get("sid")
    settings = current_app.extensions["triage.settings"]
    idle, lifetime = timedelta(minutes=settings.session_idle_minutes), timedelta(hours=settings.session_max_hours)
    found = resume_session(db, token, now, idle, lifetime) if isinstance(token, str) else None
    user = inbox_user(db, found.user_id) if found is not None and found.ended_at is None else None
    if user is None:
        if found is not None:
            audit_refused(db, found, request.remote_addr, now)
            db.commit()  # nothing else of this request is written: the refusal and an idle end are kept
        session.clear()
        if request.method == "GET" and redirect_to_login:
            # Where the user was going (a link in an e-mail notice, a bookmarked consult) is opened after the
            # login; kept in the signed cookie, not the login URL, and only ever a path on this site.
            if not str(request.endpoint).endswith("static"):
                session["after_login"] = request.path
            return redirect(url_for("web.login"))
        raise Unauthorized(N_("Your session has ended; log in again"))
    g.inbox_user = user
    return None


#: Inbox endpoints a practice account uses too: the account's own settings, logging out, the start page
#: (which sends each account to its own screens).
SHARED_SESSION_ENDPOINTS = frozenset({"web.logout", "web.user_settings", "web.home"})


#: The on-call rota's screens (web/rota.py), all a rota maker may use besides the shared ones; who may see
#: and who may change which rota is decided there (web/rota.py ``rota_access``).
ROTA_ENDPOINTS = frozenset({"web.rota", "web.rota_add", "web.rota_upload", "web.rota_shift", "web.rota_change",
                            "web.rota_delete"})


#: The zorggroep's report screens: the dashboard and closing a month (web/views.py), the statements
#: (web/statements.py), corrections (web/corrections.py) and the quarterly report (web/quarterly.py). Only
#: zorggroep staff and admins reach them (403 for any other account); reports/access.py ``report_access`` then
#: checks the account's zorggroep itself.
REPORT_SCREENS = frozenset({"web.dashboard", "web.close_month_preview", "web.close_month", "web.statements_page",
                            "web.statement_page", "web.statement_csv_file", "web.statement_pdf_file",
                            "web.corrections", "web.correct", "web.quarterly_page", "web.quarterly_pdf_file",
                            "web.first_line_budget_csv", "web.back_referrals_csv"})
REPORT_ROLES = frozenset({UserRole.ZORGGROEP_STAFF.value, UserRole.ADMIN.value})


def _keep_to_own_screens() -> Response | None:
    """GPs and practice staff use the portal, specialists and zorggroep staff the inbox; neither sees the
    other's screens. A rota maker keeps the on-call rota and sees no consults: the rota's screens only.
    The consult queries of each also filter on the account (a practice's own consults, a specialist's own
    assignments): this rule keeps the doors apart, those keep the data apart."""
    user = g.inbox_user
    if request.blueprint == "portal":
        allowed = user.in_practice
    elif user.in_practice:
        allowed = request.endpoint in SHARED_SESSION_ENDPOINTS
    elif user.keeps_rota:
        allowed = request.endpoint in SHARED_SESSION_ENDPOINTS | ROTA_ENDPOINTS
    else:
        allowed = True
    if allowed and request.endpoint in REPORT_SCREENS and user.role not in REPORT_ROLES:
        raise Forbidden(N_("Reports are for the zorggroep's staff"))  # a specialist, say: the page says why
    if allowed:
        return None
    if request.method == "GET":
        return redirect(url_for("web.home"))
    raise Forbidden(N_("This page is not for your account"))


def current_access() -> AccessContext:
    access: AccessContext = g.access
    return access


def require_scope(resource_type: str, interaction: str) -> AccessContext:
    access = current_access()
    if not access.allows(resource_type, interaction):
        word = "read" if interaction in ("read", "search") else "write"
        raise Forbidden(
            N_(
                "The token's scopes do not allow %(interaction)s on %(resource_type)s (needs e.g. "
                "system/%(resource_type)s.%(word)s)"
            ),
            params={"interaction": interaction, "resource_type": resource_type, "word": word},
        )
    return access


def request_actor() -> Actor:
    access: AccessContext | None = g.get("access")
    source = request.remote_addr
    if access is None:
        return Actor(kind="anonymous", id=None, organisation_id=None, source_ip=source)
    return Actor(kind="client", id=access.client_id, organisation_id=access.organisation_id, source_ip=source)
