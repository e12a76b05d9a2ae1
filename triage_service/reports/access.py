"""Who may see reports: zorggroep staff logged in to the inbox, and API clients of a zorggroep with the
``reports.read`` scope (``reports.write`` to close batches and correct declarations).

``security/policy.py`` has already authenticated the request (a bearer token or an inbox session);
this decides whether that caller may have reports, and for which zorggroep.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g, request
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from triage_service.audit.trail import Actor
from triage_service.database import get_session
from triage_service.errors import Forbidden
from triage_service.models import Organisation, OrganisationKind, User, UserRole


@dataclass(frozen=True)
class ReportAccess:
    zorggroep_id: str
    actor: Actor
    #: Who closed a batch or made a correction, as stored on it.
    name: str


def report_access(write: bool = False) -> ReportAccess:
    session = get_session()
    access = g.get("access")
    if access is not None:
        scope = "reports.write" if write else "reports.read"
        if scope not in access.scopes:
            raise Forbidden(f"The token does not carry the {scope} scope")
        organisation = session.get(Organisation, access.organisation_id)
        if organisation is None or organisation.kind is not OrganisationKind.ZORGGROEP:
            raise Forbidden("Reports are for the zorggroep's own clients")
        actor = Actor(kind="client", id=access.client_id, organisation_id=organisation.id,
                      source_ip=request.remote_addr)
        return ReportAccess(organisation.id, actor, f"client:{access.client_id}")
    inbox_user = g.inbox_user
    user = session.get(User, inbox_user.id)
    if user is None or user.role not in (UserRole.ZORGGROEP_STAFF, UserRole.ADMIN) or not user.organisation_id:
        raise Forbidden("Reports are for the zorggroep's staff")
    organisation = session.get(Organisation, user.organisation_id)
    if organisation is None or organisation.kind is not OrganisationKind.ZORGGROEP:
        raise Forbidden("Reports are for the zorggroep's staff")
    if write:
        # A cookie-authenticated change needs the page's CSRF token (the reports blueprint is exempt
        # from Flask-WTF's automatic check because bearer clients have no such token): in the
        # X-CSRFToken header from a script, or as the csrf_token field of a dashboard form.
        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.form.get("csrf_token", ""))
        except (ValidationError, CSRFError) as exc:
            raise Forbidden("The request lacks a valid CSRF token (X-CSRFToken header)") from exc
    actor = Actor(kind="user", id=user.username, organisation_id=organisation.id, source_ip=request.remote_addr)
    return ReportAccess(organisation.id, actor, f"user:{user.username}")
