"""The specialist's web inbox: server-rendered, Dutch by default, CSRF on every form.

Session authentication (password + TOTP) is checked by ``security/policy.py`` for
every ``web.*`` endpoint except the login steps; everything a specialist sees is
limited to consults owned by them or their group, and every view is audited.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, request, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from triage_service.settings import Settings
from triage_service.web import views

LANGUAGES = ("nl", "en")
csrf = CSRFProtect()


def select_locale() -> str:
    """Dutch unless the user chose English (these users are Dutch specialists)."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES, default="nl") if request else "nl"


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_NAME="triage_session",
        BABEL_DEFAULT_LOCALE="nl",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (idle-limited) session
    )
    csrf.init_app(app)
    # The token-authenticated FHIR API and OAuth endpoint are not cookie-based: CSRF does not apply.
    # The reports API takes tokens and sessions; it checks the CSRF header itself for sessions.
    for blueprint in ("fhir", "oauth", "reports"):
        csrf.exempt(app.blueprints[blueprint])
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(views.bp)
