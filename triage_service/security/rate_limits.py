"""Rate limits on the doors an attacker knocks on: the token endpoint and the inbox login.

Flask-Limiter (well kept) counts per client address. Its default storage is the worker's
memory, so with N gunicorn workers an address may get up to N times the limit; point
``TRIAGE_RATE_LIMIT_STORAGE`` at a shared store (e.g. ``redis://``) to count across workers.
Per-account lockout after failed logins (security/web_auth.py) is in the database and does
not depend on this. Every refusal is audited: a burst of 429s is what an information-security
officer looks for after a password-guessing night.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

from triage_service.database import get_session
from triage_service.models import AuditAction, AuditOutcome
from triage_service.security.audit import Actor, record
from triage_service.settings import Settings

#: Endpoint -> the setting with its limit; only POST counts (showing the login page is free).
LIMITED_ENDPOINTS = {"oauth.token": "rate_limit_token", "web.login": "rate_limit_login",
                     "web.login_totp": "rate_limit_login"}


def init_app(app: Flask, settings: Settings) -> Limiter:
    if settings.is_production and settings.rate_limit_storage.startswith("memory") and settings.workers > 1:
        # Not refused: the per-account lockout still holds. But the officer should know the real ceiling.
        logging.getLogger(__name__).warning(
            "rate limits are counted per worker (TRIAGE_RATE_LIMIT_STORAGE=memory://): with %d workers an "
            "address gets up to %d times the limit; use a shared store such as redis://", settings.workers,
            settings.workers)
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.rate_limit_storage, headers_enabled=True,
                      key_prefix=f"triage-{id(app)}")
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        view = app.view_functions[endpoint]
        # The limiter checks in a wrapper around the view, so the wrapper replaces the registered view.
        app.view_functions[endpoint] = cast(Any, limiter.limit(getattr(settings, setting), methods=["POST"],
                                                                   on_breach=_audit_breach)(view))
    app.extensions["triage.limiter"] = limiter
    return limiter


def _audit_breach(limit: RequestLimit) -> Response | None:
    """Write the refusal to the audit trail in its own transaction (the view never runs)."""
    session = get_session()
    record(session, Actor(kind="anonymous", id=None, organisation_id=None, source_ip=request.remote_addr),
           event="security.rate-limit", action=AuditAction.EXECUTE, outcome=AuditOutcome.MINOR_FAILURE,
           detail=f"{request.endpoint}: more than {limit.limit}")
    session.commit()
    return None  # the limiter's own 429 (errors.py renders it per interface)
