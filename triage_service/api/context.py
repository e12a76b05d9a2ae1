"""Request-scoped helpers for the FHIR API: the clock and the public base URL."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, request

from triage_service import clock as time_source
from triage_service.settings import Settings


def clock() -> datetime:
    """Now, from the one clock (triage_service/clock.py)."""
    return time_source.now()


def base_url() -> str:
    """The FHIR base URL as clients see it (settings win over the Host header, which a client controls)."""
    configured: str = current_app.extensions["triage.settings"].public_base_url
    root = configured.rstrip("/") if configured else request.host_url.rstrip("/")
    return f"{root}/fhir"


def token_url() -> str:
    return base_url().removesuffix("/fhir") + "/oauth/token"


def settings() -> Settings:
    configured: Settings = current_app.extensions["triage.settings"]
    return configured
