"""Rate limits on the doors an attacker knocks on: the token endpoint and the inbox login.

Flask-Limiter (well kept) counts per client address. Its default storage is the worker's
memory, so with N gunicorn workers an address may get up to N times the limit; point
``TRIAGE_RATE_LIMIT_STORAGE`` at a shared store (e.g. ``redis://``) to count across workers.
Per-account lockout after failed logins (security/web_auth.py) is in the database and does
not depend on this.
"""

from __future__ import annotations

from typing import Any, cast

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from triage_service.settings import Settings

#: Endpoint -> the setting with its limit; only POST counts (showing the login page is free).
LIMITED_ENDPOINTS = {"oauth.token": "rate_limit_token", "web.login": "rate_limit_login",
                     "web.login_totp": "rate_limit_login"}


def init_app(app: Flask, settings: Settings) -> Limiter:
    limiter = Limiter(get_remote_address, app=app, storage_uri=settings.rate_limit_storage, headers_enabled=True,
                      key_prefix=f"triage-{id(app)}")
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        view = app.view_functions[endpoint]
        # The limiter checks in a wrapper around the view, so the wrapper replaces the registered view.
        app.view_functions[endpoint] = cast(Any, limiter.limit(getattr(settings, setting), methods=["POST"])(view))
    app.extensions["triage.limiter"] = limiter
    return limiter
