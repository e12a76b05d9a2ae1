"""The specialist's web inbox: server-rendered, Dutch by default, CSRF on every form.

Session authentication (password + TOTP) is checked by ``security/policy.py`` for
every ``web.*`` endpoint except the login steps; everything a specialist sees is
limited to consults owned by them or their group, and every view is audited.
"""

from __future__ import annotations

from flask import Flask, has_request_context, session
from flask_babel import Babel
from flask_wtf.csrf import CSRFProtect

from triage_service.outcome import api_language
from triage_service.settings import Settings

# The views of login, inbox_search (the BSN search), snippets, rota, push_devices, urgent_views ("Ik pak hem
# op", the banner), photo_views (the photo viewer's page), statements and corrections (the zorggroep's
# statements and declaration corrections) and quarterly (the quarterly report for the insurer) register on views.bp.
from triage_service.web import (  # noqa: F401
    back_referrals,
    collaboration,
    corrections,
    inbox_search,
    labels,
    login,
    photo_views,
    push_devices,
    quarterly,
    rota,
    snippets,
    statements,
    teams,
    urgent_views,
    views,
)
from triage_service.web.catalogue import compile_catalogues

LANGUAGES = ("nl", "en")
csrf = CSRFProtect()


def select_locale() -> str:
    """Dutch unless the user chose English (these users are Dutch specialists): with the language button,
    or in their settings (applied at login). The browser's own preference is not followed: a Dutch
    hospital's browsers are often set to English, and the inbox is meant to be Dutch by default.

    The FHIR API follows the GP system's ``Accept-Language`` instead (outcome.api_language). Outside a
    request (the CLI, workers), Dutch unless the caller forces a locale."""
    language = api_language()
    if language is not None:
        return language
    if not has_request_context():
        return "nl"
    chosen = session.get("lang")
    return str(chosen) if chosen in LANGUAGES else "nl"


def init_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.is_production,
        SESSION_COOKIE_NAME="triage_session",
        BABEL_DEFAULT_LOCALE="nl",
        # Dates are shown in Dutch time: Flask-Babel converts every datetime it formats to this zone.
        BABEL_DEFAULT_TIMEZONE="Europe/Amsterdam",
        BABEL_TRANSLATION_DIRECTORIES=str(compile_catalogues(settings.instance_path / "translations")),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (idle-limited) session
    )
    csrf.init_app(app)
    # The token-authenticated FHIR API and OAuth endpoint are not cookie-based: CSRF does not apply.
    # The reports API takes tokens and sessions; it checks the CSRF header itself for sessions.
    for blueprint in ("fhir", "oauth", "reports"):
        csrf.exempt(app.blueprints[blueprint])
    Babel(app, locale_selector=select_locale)
    app.register_blueprint(views.bp)
    app.context_processor(labels.template_globals)
