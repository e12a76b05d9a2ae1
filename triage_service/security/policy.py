"""Who may reach which endpoint: every authentication decision in one place.

Deny by default (ARCHITECTURE.md, principle 2): an endpoint needs a valid
bearer token unless it is on ``PUBLIC_ENDPOINTS``. Scope checks per resource
type and interaction are in ``require_scope``; organisation checks (a client
sees only its own organisation's data) are in the queries of ``api/``, which
always filter on ``AccessContext.organisation_id``.
"""

from __future__ import annotations

from flask import Flask, g, request

from triage_service.database import get_session
from triage_service.errors import Forbidden
from triage_service.security.api_auth import AccessContext, authenticate_bearer
from triage_service.security.audit import Actor

#: Endpoints anyone may call: the capability statement and our published conformance resources
#: (FHIR clients need them before they have a token), the SMART discovery document, the token
#: endpoint itself, and the health check.
PUBLIC_ENDPOINTS = frozenset({
    "fhir.metadata",
    "fhir.conformance_read",
    "fhir.conformance_search",
    "oauth.token",
    "oauth.smart_configuration",
    "health.health",
    "static",
})


def init_app(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> None:
        if request.endpoint in PUBLIC_ENDPOINTS:
            return
        if request.endpoint is None:
            return  # unknown URL: let routing answer 404/405 without revealing anything
        from triage_service.api.context import clock

        g.access = authenticate_bearer(get_session(), request.headers.get("Authorization"), clock())


def current_access() -> AccessContext:
    access: AccessContext = g.access
    return access


def require_scope(resource_type: str, interaction: str) -> AccessContext:
    access = current_access()
    if not access.allows(resource_type, interaction):
        word = "read" if interaction in ("read", "search") else "write"
        raise Forbidden(f"The token's scopes do not allow {interaction} on {resource_type} "
                        f"(needs e.g. system/{resource_type}.{word})")
    return access


def request_actor() -> Actor:
    access: AccessContext | None = g.get("access")
    source = request.remote_addr
    if access is None:
        return Actor(kind="anonymous", id=None, organisation_id=None, source_ip=source)
    return Actor(kind="client", id=access.client_id, organisation_id=access.organisation_id, source_ip=source)
