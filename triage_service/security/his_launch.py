"""The GP system opens the portal with the GP and the patient already known (launch with context).

Most Dutch GP systems cannot post FHIR, but every one can open a browser. Like ZorgDomein's single sign-on,
the HIS - registered as an API client with its public keys, as for SMART Backend Services - signs a
short-lived JWT naming the GP, the practice and the patient, and has the browser POST it to
``/huisarts/launch`` (a POST: a JWT in a URL would put a BSN in logs and browser history). The service
checks signature, audience, expiry and one-time use (security/signed_jwt.py, as for client assertions), that
the practice is the client's own and that the GP is one of its GPs with an account, and then logs that GP in:
the HIS vouches for the person, which the audit entry records. Claims (JSON), all strings:

- ``iss`` the client_id, ``aud`` the launch URL, ``exp`` at most 5 minutes ahead, ``jti`` once only, ``iat``;
- ``practitioner``: {``agb``} the GP; ``organization``: {``agb``} the practice;
- ``patient``: {``bsn``, ``birthDate`` (YYYY-MM-DD), ``gender``, ``family``, ``given``, ``postalCode``};
- ``insurer``: {``uzovi``, ``subscriberId``}; optional ``icpc`` (an ICPC-1-NL code) and ``question``.

What the patient fields say is not checked here: they fill the form, and the intake checks them when the
GP sends it, as it checks what a GP types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.errors import N_
from triage_service.models import ApiClient, Organisation, Practitioner, PractitionerRoleKind, User, UserRole
from triage_service.outcome import message
from triage_service.security.signed_jwt import JwtRefused, remember_jti, unverified_issuer, verify

MAX_LIFETIME_SECONDS = 300
MAX_TOKEN_LENGTH = 16_000


class LaunchRefused(Exception):
    """``kind``: forged (unknown client or bad signature), expired, replayed, other-practice, no-account,
    wrong-address (signed for another launch URL) or malformed; ``client`` the GP system when it could be
    identified (for the audit entry)."""

    def __init__(self, kind: str, message: str, client: ApiClient | None = None):
        super().__init__(message)
        self.kind, self.message, self.client = kind, message, client


@dataclass(frozen=True)
class Launch:
    client: ApiClient
    user: User
    practice: Organisation
    jti: str
    #: The new-consult form's fields as the HIS filled them (consults/drafts.py FIELDS).
    form: dict[str, str]


_KINDS = {"signature": "forged", "expired": "expired", "replay": "replayed", "lifetime": "expired",
          "future": "expired", "audience": "wrong-address"}


def verify_launch(session: Session, token: str, audience: str, now: datetime) -> Launch:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        raise LaunchRefused("malformed", "no launch token, or one too long")
    try:
        issuer = unverified_issuer(token, "launch").get("iss")
    except JwtRefused as refused:
        raise LaunchRefused("malformed", refused.message) from refused
    client = session.scalar(select(ApiClient).where(ApiClient.client_id == issuer)) if isinstance(issuer, str) \
        else None
    if client is None or not client.active:
        raise LaunchRefused("forged", "unknown or inactive client")
    try:
        claims = verify(client, token, audience, now, MAX_LIFETIME_SECONDS, what="launch",
                        audience_name=message(N_("the launch URL")), require=("exp", "iss", "aud", "jti"))
        remember_jti(session, client, claims, now, "launch")
    except JwtRefused as refused:
        raise LaunchRefused(_KINDS.get(refused.kind, "malformed"), refused.message, client) from refused
    practice = session.get(Organisation, client.organisation_id)
    if practice is None or _agb(claims, "organization") != practice.agb:
        raise LaunchRefused("other-practice", "the launch names another practice than the client's", client)
    gp = session.scalar(select(Practitioner).where(Practitioner.agb == _agb(claims, "practitioner"),
                                                  Practitioner.role == PractitionerRoleKind.GP,
                                                  Practitioner.organisation_id == practice.id))
    user = session.scalar(select(User).where(User.practitioner_id == gp.id, User.role == UserRole.GP)) \
        if gp is not None else None
    if gp is None or user is None:
        raise LaunchRefused("no-account", "the GP is not a GP of this practice with an account", client)
    return Launch(client, user, practice, str(claims["jti"]), _form(claims))


def _agb(claims: dict[str, Any], name: str) -> str | None:
    part = claims.get(name)
    return str(part.get("agb")) if isinstance(part, dict) and part.get("agb") is not None else None


def _form(claims: dict[str, Any]) -> dict[str, str]:
    patient: dict[str, Any] = claims["patient"] if isinstance(claims.get("patient"), dict) else {}
    insurer: dict[str, Any] = claims["insurer"] if isinstance(claims.get("insurer"), dict) else {}

    def text(source: dict[str, Any], key: str) -> str:
        value = source.get(key)
        return str(value)[:200] if isinstance(value, str | int) else ""

    return {"category": "meekijkconsult", "bsn": text(patient, "bsn"), "birth_date": text(patient, "birthDate"),
            "sex": text(patient, "gender"), "family": text(patient, "family"), "given": text(patient, "given"),
            "postcode": text(patient, "postalCode"), "insurer": text(insurer, "uzovi"),
            "subscriber": text(insurer, "subscriberId"), "icpc": text(claims, "icpc"),
            "question": str(claims.get("question") or "")[:10_000], "urgency": "routine"}
