"""Rate limits on the doors an attacker knocks on: the token endpoint and the inbox login.

Flask-Limiter (well kept) counts per client address, in ``TRIAGE_RATE_LIMIT_STORAGE``. The limits must hold
across every gunicorn worker and every instance behind the load balancer, so production keeps the counts in
a shared store (Redis: ``redis://host:6379/0``); ``memory://`` counts per worker process (with 2 workers, 59
of 80 token requests in a minute got through where 30 are allowed), and production refuses it with more
than one worker (settings.py). Windows are *moving*: at most N requests in any minute, so a burst across a
minute boundary cannot get 2N. Should the store become unreachable, each worker counts in its own memory
until it is back (logged) rather than refusing every login. Per-account lockout after failed logins
(security/web_auth.py) is in the database and does not depend on this. Every refusal is audited: a burst of
429s is what an information-security officer looks for after a password-guessing night.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any, cast

from flask import Flask, Response, request
from flask_limiter import Limiter, RequestLimit
from flask_limiter.util import get_remote_address

from triage_service.audit.trail import Actor, record
from triage_service.database import get_session
from triage_service.models import AuditAction, AuditOutcome
from triage_service.settings import Settings

#: Endpoint -> the setting with its limit; only POST counts (showing the login page is free).
LIMITED_ENDPOINTS = {"oauth.token": "rate_limit_token", "web.login": "rate_limit_login",
                     "web.login_totp": "rate_limit_login", "portal.launch": "rate_limit_login"}


def init_app(app: Flask, settings: Settings) -> Limiter:
    if settings.is_production and settings.rate_limit_storage.startswith("memory"):
        # One worker (more are refused at start-up): exact for this instance, but not across instances.
        logging.getLogger(__name__).warning(
            "rate limits are counted in this process only (TRIAGE_RATE_LIMIT_STORAGE=memory://): behind a load "
            "balancer with several instances an address gets the limit once per instance; use redis://")
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.rate_limit_storage, headers_enabled=True,
                      strategy="moving-window", in_memory_fallback_enabled=True, key_prefix=key_prefix(settings))
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        view = app.view_functions[endpoint]
        # The limiter checks in a wrapper around the view, so the wrapper replaces the registered view.
        app.view_functions[endpoint] = cast(Any, limiter.limit(getattr(settings, setting), methods=["POST"],
                                                                   on_breach=_audit_breach)(view))
    app.extensions["triage.limiter"] = limiter
    return limiter


def key_prefix(settings: Settings) -> str:
    """The same in every worker and instance of one deployment, different for another deployment.

    Derived from the secret key, which all workers and instances share (sessions depend on it) and two
    deployments never do, so a test, an acceptance and a production installation can share one Redis
    without counting each other's requests. (Not ``id(app)``, which differs per process and so split the
    counts again.) A keyed hash: the key itself never leaves the process.
    """
    label = hmac.new(settings.secret_key.encode(), b"triage rate limits", hashlib.sha256).hexdigest()[:16]
    return f"triage-{label}"


def _audit_breach(limit: RequestLimit) -> Response | None:
    """Write the refusal to the audit trail in its own transaction (the view never runs)."""
    session = get_session()
    record(session, Actor(kind="anonymous", id=None, organisation_id=None, source_ip=request.remote_addr),
           event="security.rate-limit", action=AuditAction.EXECUTE, outcome=AuditOutcome.MINOR_FAILURE,
           detail=f"{request.endpoint}: more than {limit.limit}")
    session.commit()
    return None  # the limiter's own 429 (errors.py renders it per interface)
