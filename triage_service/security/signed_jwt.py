"""A JWT signed by a registered GP system: checked against the keys it registered, once only.

Two doors take such a JWT: the token endpoint's client assertion (SMART Backend Services, api_auth.py) and
the HIS launch of the portal (his_launch.py). Both need the same checks - a key of the client's JWKS, an
allowed algorithm, the audience, a short lifetime on the service's clock, a ``jti`` never seen before - so
they live here once. Each caller words the refusal its own way from ``JwtRefused.kind``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage_service.errors import N_
from triage_service.models import ApiClient, UsedAssertion
from triage_service.outcome import Message, message

#: SMART requires RS384 and ES384 support; RS256/ES256 are accepted because common HIS libraries default to them.
ALLOWED_ALGORITHMS = ["RS384", "ES384", "RS256", "ES256", "RS512", "ES512", "PS384", "PS256"]


class JwtRefused(Exception):
    """Why a signed JWT is not accepted: ``kind`` is one of malformed, signature, audience, missing,
    future, expired, lifetime, replay; ``reason`` says it for a developer, in the reader's language (the token
    endpoint's ``error_description``), ``message`` in English (logs, the launch's refusal)."""

    def __init__(self, kind: str, reason: Message):
        super().__init__(reason.english())
        self.kind = kind
        self.reason = reason
        self.message = reason.english()


def unverified_issuer(token: str, what: str) -> dict[str, Any]:
    """The claims before any check, to find the client whose keys must verify them."""
    try:
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise JwtRefused("malformed", message(N_("%(what)s is not a well-formed JWT"), what=what)) from exc
    return claims


def verify(client: ApiClient, token: str, audience: str, now: datetime, max_lifetime_seconds: int, *,
           what: str, audience_name: Message, require: tuple[str, ...]) -> dict[str, Any]:
    """The claims of ``token`` if a registered key of ``client`` signed it for ``audience`` and it is still
    valid on ``now``; ``JwtRefused`` otherwise. Times are checked against the service's clock (injectable in
    tests), not PyJWT's wall clock."""
    try:
        header = jwt.get_unverified_header(token)
        keys = jwt.PyJWKSet.from_dict(client.jwks).keys
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise JwtRefused("malformed", message(N_("%(what)s header or registered JWKS unusable"), what=what)) from exc
    if header.get("alg") not in ALLOWED_ALGORITHMS:
        raise JwtRefused("malformed", message(N_("alg must be one of %(algorithms)s"),
                                             algorithms=", ".join(ALLOWED_ALGORITHMS)))
    kid = header.get("kid")
    candidates = [k for k in keys if kid is None or k.key_id == kid]
    if not candidates:
        raise JwtRefused("signature", message(N_("no registered key matches the %(what)s's kid"), what=what))
    last_error: Exception | None = None
    for key in candidates:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key=key, algorithms=ALLOWED_ALGORITHMS, audience=audience, issuer=client.client_id,
                options={"require": list(require), "verify_exp": False, "verify_iat": False, "verify_nbf": False})
        except jwt.InvalidAudienceError as exc:
            raise JwtRefused("audience", message(N_("%(what)s aud must be %(audience_name)s %(audience)s"), what=what,
                                                 audience_name=audience_name, audience=audience)) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise JwtRefused("missing", message(N_("%(what)s lacks the %(claim)s claim"), what=what,
                                                claim=exc.claim)) from exc
        except jwt.InvalidSignatureError as exc:
            last_error = exc
            continue  # another registered key may verify it
        except jwt.PyJWTError as exc:
            raise JwtRefused("malformed", message(N_("%(what)s is not acceptable: %(reason)s"), what=what,
                                                  reason=str(exc))) from exc
        for claim in ("iat", "nbf"):
            value = claims.get(claim)
            if value is not None and (not isinstance(value, int | float) or value > now.timestamp() + 60):
                raise JwtRefused("future", message(N_("%(what)s %(claim)s lies in the future"), what=what, claim=claim))
        exp = claims["exp"]
        if not isinstance(exp, int | float):
            raise JwtRefused("malformed", message(N_("%(what)s exp must be a number"), what=what))
        if exp <= now.timestamp():
            raise JwtRefused("expired", message(N_("%(what)s has expired"), what=what))
        if exp - now.timestamp() > max_lifetime_seconds:
            raise JwtRefused("lifetime", message(N_("%(what)s exp is more than 5 minutes in the future"), what=what))
        return claims
    raise JwtRefused("signature", message(N_("%(what)s signature does not verify"), what=what)) from last_error


def remember_jti(session: Session, client: ApiClient, claims: dict[str, Any], now: datetime, what: str) -> None:
    """Refuse a ``jti`` this client used before (replay), and remember this one until it expires."""
    jti = str(claims["jti"])
    if len(jti) > 255:
        raise JwtRefused("malformed", message(N_("%(what)s jti is too long"), what=what))
    existing = session.scalar(select(UsedAssertion).where(UsedAssertion.client_pk == client.id,
                                                         UsedAssertion.jti == jti))
    if existing is not None:
        raise JwtRefused("replay", message(N_("%(what)s jti was already used (replay)"), what=what))
    try:
        # The savepoint turns a concurrent duplicate into a clean refusal, not a failed commit.
        with session.begin_nested():
            session.add(UsedAssertion(client_pk=client.id, jti=jti,
                                      expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo)))
    except IntegrityError as exc:
        raise JwtRefused("replay", message(N_("%(what)s jti was already used (replay)"), what=what)) from exc
