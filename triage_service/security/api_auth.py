"""SMART Backend Services for GP systems (https://hl7.org/fhir/smart-app-launch/backend-services.html).

A HIS signs a short JWT (the client assertion) with its private key; we check
it against the public JWKS registered for that client, refuse replays by
``jti``, and hand out a short-lived opaque bearer token bound to the client's
organisation. PyJWT does the signature and claim checks; this module only
decides policy. Token endpoint errors follow RFC 6749 section 5.2 (JSON with
``error``), not OperationOutcome, because OAuth clients expect that shape.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from triage_service.errors import N_, Unauthorized
from triage_service.models import AccessToken, ApiClient, Organisation, UsedAssertion
from triage_service.outcome import Message, message
from triage_service.security import signed_jwt
from triage_service.security.scope_grants import granted_scopes
from triage_service.settings import Settings

CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Resource types a GP system may be granted access to.
SCOPED_RESOURCE_TYPES = frozenset(
    {"ServiceRequest", "Task", "Patient", "Organization", "PractitionerRole", "Coverage", "Communication",
     "DocumentReference", "Binary", "Subscription", "Appointment", "QuestionnaireResponse",
     # The patient's context sent with a consult, read-only (api/context.py).
     "MedicationStatement", "AllergyIntolerance", "Observation"}
)


class OAuthError(Exception):
    """An RFC 6749 token endpoint error. ``error`` is the RFC's code; the description is for the GP system's
    developer, in Dutch unless the request's Accept-Language asks for English (outcome.api_language)."""

    def __init__(self, error: str, description: Message, status: int = 400):
        super().__init__(description.english())
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description.render()}


@dataclass(frozen=True)
class AccessContext:
    """Who is calling the FHIR API: a client acting for exactly one organisation."""

    client_pk: str
    client_id: str
    organisation_id: str
    scopes: frozenset[str]
    #: The rows read with the token, held for the request: the session's identity map keeps objects
    #: only weakly, so without this the organisation would be read again by the first handler needing it.
    loaded: tuple[object, ...] = field(default=(), compare=False, repr=False)

    def allows(self, resource_type: str, interaction: str) -> bool:
        return scope_allows(self.scopes, resource_type, interaction)


# SMART v2 letters per interaction, and the v1 word that also grants it.
_V2_LETTER = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}
_V1_WORD = {"create": "write", "update": "write", "delete": "write", "read": "read", "search": "read"}


def scope_allows(scopes: frozenset[str], resource_type: str, interaction: str) -> bool:
    """Whether granted ``system/`` scopes (SMART v1 or v2 syntax) permit an interaction."""
    for scope in scopes:
        context, _, rest = scope.partition("/")
        if context != "system" or "." not in rest:
            continue
        rtype, _, access = rest.partition(".")
        if rtype not in ("*", resource_type):
            continue
        access = access.split("?", 1)[0]
        if access in ("*", _V1_WORD[interaction]) or (
            access and set(access) <= set("cruds") and _V2_LETTER[interaction] in access
        ):
            return True
    return False


#: Scopes outside FHIR: the zorggroep's reporting API (/reports), for reading, and for closing
#: declaration batches and correcting declarations.
REPORT_SCOPES = frozenset({"reports.read", "reports.write"})


def validate_scope_syntax(scope: str) -> None:
    """Refuse scopes we would never grant, so registration errors surface early."""
    if scope in REPORT_SCOPES:
        return
    context, _, rest = scope.partition("/")
    rtype, _, access = rest.partition(".")
    ok_access = access in ("read", "write", "*") or (access != "" and set(access) <= set("cruds"))
    if context != "system" or not ok_access or (rtype != "*" and rtype not in SCOPED_RESOURCE_TYPES):
        raise ValueError(f"unsupported scope {scope!r}: use system/<Type>.read|write|cruds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, settings: Settings, form: dict[str, str], token_url: str,
                now: datetime) -> tuple[ApiClient, dict[str, Any]]:
    """Check a client-credentials request with a JWT assertion and issue a bearer token."""
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", message(N_("grant_type must be client_credentials")))
    if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE:
        raise OAuthError("invalid_request", message(N_("client_assertion_type must be %(type)s"),
                                                       type=CLIENT_ASSERTION_TYPE))
    assertion = form.get("client_assertion", "")
    if not assertion:
        raise OAuthError("invalid_request", message(N_("client_assertion is required")))
    requested = form.get("scope", "").split()
    if not requested:
        raise OAuthError("invalid_scope", message(N_("scope is required (e.g. 'system/ServiceRequest.write')")))

    client = _client_of(session, assertion)
    claims = _verified_claims(client, assertion, token_url, settings, now)
    _remember_jti(session, client, claims, now)

    # The part of each requested scope the registration covers, not a string compare (security/scope_grants.py).
    granted = granted_scopes(requested, client.scopes.split(), SCOPED_RESOURCE_TYPES, REPORT_SCOPES)
    if not granted:
        raise OAuthError("invalid_scope", message(N_("none of the requested scopes is registered for this client")))

    token = secrets.token_urlsafe(32)
    lifetime = settings.access_token_lifetime_seconds
    session.add(AccessToken(token_hash=token_hash(token), client_pk=client.id, scopes=" ".join(granted),
                            expires_at=now + timedelta(seconds=lifetime), created_at=now))
    # Expired tokens and assertions are useless; clear them as we go instead of a cron job.
    session.execute(delete(AccessToken).where(AccessToken.expires_at < now))
    session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
    session.flush()
    return client, {"access_token": token, "token_type": "bearer", "expires_in": lifetime,
                    "scope": " ".join(granted)}


def _client_of(session: Session, assertion: str) -> ApiClient:
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise OAuthError("invalid_client", message(N_("%(what)s is not a well-formed JWT"), what="client_assertion"),
                         401) from exc
    iss, sub = unverified.get("iss"), unverified.get("sub")
    if not isinstance(iss, str) or iss != sub:
        raise OAuthError("invalid_client", message(N_("client_assertion iss and sub must both be the client_id")), 401)
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == iss))
    if client is None or not client.active:
        raise OAuthError("invalid_client", message(N_("unknown or inactive client")), 401)
    return client


def _verified_claims(client: ApiClient, assertion: str, token_url: str, settings: Settings,
                     now: datetime) -> dict[str, Any]:
    try:
        return signed_jwt.verify(client, assertion, token_url, now, settings.max_client_assertion_lifetime_seconds,
                                 what="client_assertion", audience_name=message(N_("the token endpoint")),
                                 require=("exp", "iss", "sub", "aud", "jti"))
    except signed_jwt.JwtRefused as refused:
        raise OAuthError("invalid_client", refused.reason, 401) from refused


def _remember_jti(session: Session, client: ApiClient, claims: dict[str, Any], now: datetime) -> None:
    try:
        signed_jwt.remember_jti(session, client, claims, now, "client_assertion")
    except signed_jwt.JwtRefused as refused:
        raise OAuthError("invalid_client", refused.reason, 401) from refused


#: Every API request runs it: built once, not per request (issue 25).
_BEARER = (select(AccessToken, ApiClient, Organisation).join(ApiClient, ApiClient.id == AccessToken.client_pk)
           .join(Organisation, Organisation.id == ApiClient.organisation_id)
           .where(AccessToken.token_hash == bindparam("token_hash")))


def authenticate_bearer(session: Session, authorization: str | None, now: datetime) -> AccessContext:
    """The caller of a bearer-token request; Unauthorized saying what is wrong with the token otherwise."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise Unauthorized(N_("A bearer token is required (Authorization: Bearer <token>): get one from the token "
                              "endpoint with a SMART Backend Services client assertion"))
    # One round trip for the token, its client and the client's organisation (which most requests need
    # next; it is then in the session's identity map): three separate reads cost 1.4 ms on PostgreSQL.
    found = session.execute(_BEARER, {"token_hash": token_hash(authorization[7:].strip())}).first()
    if found is None or not found[1].active:
        # Expired tokens are deleted as new ones are issued, so "unknown" may also mean expired.
        raise Unauthorized(N_("The bearer token is unknown, expired or revoked: get one from the token endpoint "
                              "with a SMART Backend Services client assertion"))
    row, client = found[0], found[1]
    if row.expires_at <= now:
        raise Unauthorized(N_("The bearer token has expired: get one from the token endpoint with a SMART Backend "
                              "Services client assertion"))
    return AccessContext(client_pk=client.id, client_id=client.client_id,
                         organisation_id=client.organisation_id, scopes=frozenset(row.scopes.split()),
                         loaded=tuple(found))


def load_jwks(text: str) -> dict[str, Any]:
    """Parse and check a JWKS document given at registration."""
    try:
        data = json.loads(text)
        keys = jwt.PyJWKSet.from_dict(data).keys
    except (ValueError, jwt.PyJWTError) as exc:
        raise ValueError(f"not a usable JWKS: {exc}") from exc
    if any(getattr(k, "key_type", None) == "oct" for k in keys):
        raise ValueError("symmetric keys are not allowed: register the client's public key")
    for jwk in data["keys"]:
        if any(p in jwk for p in ("d", "p", "q", "dp", "dq", "qi")):
            raise ValueError("the JWKS contains a private key: register only the public key")
    result: dict[str, Any] = data
    return result
