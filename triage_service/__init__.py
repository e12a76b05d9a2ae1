"""triage_service: a FHIR service for the Dutch meekijkconsult and referral triage.

``create_app(settings)`` is the only way to build the application; importing the
package has no side effects (ARCHITECTURE.md, principle 1).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from flask import Flask, Response, jsonify

from triage_service.settings import Settings, load_settings


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] | None = None) -> Flask:
    from triage_service import api, database, diagnostics, portal, report_api, web
    from triage_service.audit import chain as audit_chain
    from triage_service.audit import keys as audit_keys
    from triage_service.encryption import fields as field_crypto
    from triage_service.notifications import outbox  # noqa: F401 - registers the outbox's session events
    from triage_service.reports import facts  # noqa: F401 - keeps the monitoring's fact rows in step
    from triage_service.routing import referral_flags
    from triage_service.security import headers, policy, rate_limits

    settings = settings or load_settings()
    app = diagnostics.TriageFlask(__name__, instance_path=str(settings.instance_path), instance_relative_config=False)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # Werkzeug refuses larger declared bodies before a view reads them. One byte more than our
        # limit: a chunked body is cut at this length, and api/io.py must see that extra byte to refuse it.
        MAX_CONTENT_LENGTH=settings.max_request_bytes + 1,
        JSON_SORT_KEYS=False,
    )
    app.extensions["triage.settings"] = settings
    if clock is not None:
        app.extensions["triage.clock"] = clock
    logging.getLogger("triage_service").setLevel(settings.log_level)

    # Column types encrypt personal data with these keys; they must be known before any query.
    field_crypto.configure(field_crypto.load_field_keys(settings.field_keys_path, create=not settings.is_production,
                                                       made_for=settings.env))
    # Every audit entry is hashed with this key as its transaction commits (audit/chain.py).
    audit_keys.configure(audit_keys.load_audit_keys(settings.audit_key_path, create=not settings.is_production,
                                                    made_for=settings.env))
    # After the facts' and the outbox's commit listeners (imported above): the chain's lock is held only
    # around its own append.
    audit_chain.seal_last()
    referral_flags.configure(settings.conversion_rate_cache_seconds)
    diagnostics.init_app(app)
    database.init_app(app, settings)
    policy.init_app(app)
    headers.init_app(app, settings)
    api.init_app(app)
    app.register_blueprint(report_api.bp)
    web.init_app(app, settings)
    portal.init_app(app)  # after web: its pages extend the inbox's base template and share its login
    rate_limits.init_app(app, settings)  # after the blueprints: it wraps their views

    @app.get("/health", endpoint="health.health")
    def health() -> Response:
        return jsonify({"status": "ok"})

    return app
