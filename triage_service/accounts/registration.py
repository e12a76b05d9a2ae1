"""Registering GP systems (API clients) and web users, and signing client assertions."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
import pyotp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.errors import Conflict, InvalidInput, NotFound
from triage_service.models import (
    REQUESTER_KINDS,
    ApiClient,
    Organisation,
    OrganisationKind,
    Practitioner,
    PractitionerRoleKind,
    User,
    UserRole,
)
from triage_service.notifications.email import is_email_address
from triage_service.security.api_auth import REPORT_SCOPES, validate_scope_syntax
from triage_service.security.passwords import hash_password


def register_client(session: Session, *, name: str, organisation_agb: str, jwks: dict[str, Any],
                    scopes: list[str], client_id: str | None = None) -> ApiClient:
    org = session.scalar(select(Organisation).where(Organisation.agb == organisation_agb))
    if org is None:
        raise NotFound(f"No organisation with AGB {organisation_agb}; load or import it first")
    # A GP system acts for a practice on the FHIR API; a zorggroep's reporting system only reads reports.
    reporting = org.kind is OrganisationKind.ZORGGROEP
    # An out-of-hours post's system asks like a practice's (its GPs' patients belong to other practices).
    if not reporting and org.kind not in REQUESTER_KINDS:
        raise InvalidInput(f"AGB {organisation_agb} is a {org.kind.value}, not a GP practice, out-of-hours post or "
                           "zorggroep")
    if reporting and not set(scopes) <= REPORT_SCOPES:
        raise InvalidInput(f"A zorggroep's client gets only {' and '.join(sorted(REPORT_SCOPES))}")
    if not reporting and set(scopes) & REPORT_SCOPES:
        raise InvalidInput("Report scopes are for the zorggroep's clients, not a practice's")
    for scope in scopes:
        try:
            validate_scope_syntax(scope)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from exc
    client_id = client_id or f"his-{uuid.uuid4()}"
    if session.scalar(select(ApiClient).where(ApiClient.client_id == client_id)) is not None:
        raise Conflict(f"A client with id {client_id} already exists")
    client = ApiClient(client_id=client_id, name=name, organisation_id=org.id, jwks=jwks, scopes=" ".join(scopes))
    session.add(client)
    session.flush()
    return client


def create_user(session: Session, *, username: str, display_name: str, role: UserRole, password: str,
                practitioner_agb: str | None = None, totp_secret: str | None = None,
                email: str | None = None, organisation_agb: str | None = None) -> User:
    if len(password) < 12:
        raise InvalidInput("A password needs at least 12 characters")
    if email is not None and not is_email_address(email):
        raise InvalidInput("The e-mail address is not valid (name@domain.nl)")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise Conflict(f"A user named {username} already exists")
    practitioner = None
    if practitioner_agb:
        practitioner = session.scalar(select(Practitioner).where(Practitioner.agb == practitioner_agb))
        if practitioner is None:
            raise NotFound(f"No practitioner with AGB {practitioner_agb}")
    organisation_id = practitioner.organisation_id if practitioner else None
    _check_practice_account(session, role, practitioner, organisation_agb)
    if organisation_agb:
        # Zorggroep staff belong to the zorggroep (its reports); no practitioner.
        organisation = session.scalar(select(Organisation).where(Organisation.agb == organisation_agb))
        if organisation is None:
            raise NotFound(f"No organisation with AGB {organisation_agb}")
        organisation_id = organisation.id
    user = User(username=username, display_name=display_name, role=role, password_hash=hash_password(password),
                totp_secret=totp_secret or pyotp.random_base32(),
                practitioner_id=practitioner.id if practitioner else None,
                organisation_id=organisation_id,
                email=email, email_on_assignment=email is not None)
    session.add(user)
    session.flush()
    return user


def _check_practice_account(session: Session, role: UserRole, practitioner: Practitioner | None,
                            organisation_agb: str | None) -> None:
    """A GP's account belongs to the GP (their AGB, so the audit trail and the consult name them) and
    through them to their practice; practice staff belong to the practice. Either sees only that
    practice's consults, so an account without a practice would see nothing or, worse, be guessed at."""
    if role is UserRole.GP:
        if practitioner is None or organisation_agb:
            raise InvalidInput("A GP's account needs --practitioner-agb (the GP's own AGB), not an organisation")
        if practitioner.role is not PractitionerRoleKind.GP:
            raise InvalidInput(f"AGB {practitioner.agb} is not a GP's")
    elif role is UserRole.PRACTICE_STAFF:
        if practitioner is not None or not organisation_agb:
            raise InvalidInput("A practice staff account needs --organisation-agb (the practice's AGB)")
        practice = session.scalar(select(Organisation).where(Organisation.agb == organisation_agb))
        if practice is not None and practice.kind not in REQUESTER_KINDS:
            raise InvalidInput(f"AGB {organisation_agb} is not a GP practice or out-of-hours post")
    elif role is UserRole.ROTA_MAKER:
        # A rota maker keeps the rota of one specialist organisation and is no practitioner (agreements/rota.py).
        organisation = session.scalar(select(Organisation).where(Organisation.agb == organisation_agb))
        if practitioner is not None or organisation is None or \
                organisation.kind is not OrganisationKind.SPECIALIST_ORGANISATION:
            raise InvalidInput("A rota maker's account needs --organisation-agb (the specialist organisation's AGB)")
    elif practitioner is not None and practitioner.role is PractitionerRoleKind.GP:
        raise InvalidInput("A GP's AGB goes with --role gp")


def totp_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.username, issuer_name="triage_service")


def client_assertion(client_id: str, private_key_pem: bytes, token_url: str, now: datetime,
                     kid: str | None = None, lifetime_seconds: int = 240) -> str:
    """A SMART Backend Services client assertion, as a GP system would sign it."""
    claims = {"iss": client_id, "sub": client_id, "aud": token_url}
    return _signed(claims, private_key_pem, now, kid, lifetime_seconds)


def launch_token(client_id: str, private_key_pem: bytes, launch_url: str, now: datetime, context: dict[str, Any],
                 kid: str | None = None, lifetime_seconds: int = 120) -> str:
    """A launch of the portal with the GP and patient in context, as a GP system would sign it
    (security/his_launch.py lists the claims ``context`` holds)."""
    return _signed({**context, "iss": client_id, "aud": launch_url}, private_key_pem, now, kid, lifetime_seconds)


def _signed(claims: dict[str, Any], private_key_pem: bytes, now: datetime, kid: str | None,
            lifetime_seconds: int) -> str:
    claims = {**claims, "jti": secrets.token_urlsafe(16), "iat": int(now.timestamp()),
              "exp": int((now + timedelta(seconds=lifetime_seconds)).timestamp())}
    headers = {"kid": kid} if kid else None
    # SMART's two algorithms: ES384 for an EC key, RS384 for an RSA key; other keys are refused.
    key = serialization.load_pem_private_key(private_key_pem, password=None)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        algorithm = "ES384"
    elif isinstance(key, rsa.RSAPrivateKey):
        algorithm = "RS384"
    else:
        raise InvalidInput("The key must be an EC (P-384) or RSA private key in PEM")
    return jwt.encode(claims, private_key_pem, algorithm=algorithm, headers=headers)
