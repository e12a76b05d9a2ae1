"""The SMART Backend Services endpoints: discovery and the token endpoint."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from triage_service.audit.trail import Actor, record
from triage_service.database import get_session
from triage_service.errors import N_
from triage_service.models import AuditAction, AuditOutcome
from triage_service.outcome import message
from triage_service.request_context import base_url, clock, settings, token_url
from triage_service.security.api_auth import SCOPED_RESOURCE_TYPES, OAuthError, issue_token

bp = Blueprint("oauth", __name__)


@bp.get("/.well-known/smart-configuration")
@bp.get("/fhir/.well-known/smart-configuration")
def smart_configuration() -> Response:
    return jsonify({
        "issuer": base_url(),
        "token_endpoint": token_url(),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "grant_types_supported": ["client_credentials"],
        # What a client can be registered for; each client is granted the part of what it asks that its
        # registration covers, in v1 (read, write, *) or v2 (cruds) syntax, for one type or all (*).
        "scopes_supported": sorted(f"system/{t}.{a}" for t in SCOPED_RESOURCE_TYPES for a in ("read", "write")),
        # Both scope syntaxes are read as what they permit (security/scope_grants.py).
        "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
    })


@bp.post("/oauth/token")
def token() -> Response:
    session = get_session()
    now = clock()
    form = {k: v for k, v in request.form.items()}
    actor = Actor(kind="anonymous", id=None, organisation_id=None, source_ip=request.remote_addr)
    try:
        if request.mimetype != "application/x-www-form-urlencoded":
            raise OAuthError("invalid_request",
                             message(N_("send the token request as application/x-www-form-urlencoded")))
        client, body = issue_token(session, settings(), form, token_url(), now)
    except OAuthError:
        session.rollback()
        record(session, actor, event="auth.token", action=AuditAction.EXECUTE,
               outcome=AuditOutcome.MINOR_FAILURE, at=now)
        session.commit()
        raise
    record(session, Actor(kind="client", id=client.client_id, organisation_id=client.organisation_id,
                          source_ip=request.remote_addr),
           event="auth.token", action=AuditAction.EXECUTE, at=now, detail=f"scope={body['scope']}")
    session.commit()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response

