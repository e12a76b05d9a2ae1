"""The FHIR REST API for GP systems and the SMART Backend Services endpoints."""

from __future__ import annotations

from flask import Flask

# Importing conformance and search registers their routes on the FHIR blueprint.
from triage_service.api import (  # noqa: F401
    appointments,
    binary,
    care_teams,
    conformance,
    context,
    errors,
    history,
    ids,
    oauth,
    openapi,
    patient_photos,
    resources,
    search,
    subscriptions,
    thread,
    verdicts,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(resources.bp)
    app.register_blueprint(oauth.bp)
    errors.init_app(app)
