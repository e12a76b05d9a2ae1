"""Request-scoped helpers for the FHIR API: the clock and the public base URL."""

from __future__ import annotations

import re
from datetime import datetime

from flask import current_app, request

from triage_service import clock as time_source
from triage_service.errors import N_, InvalidInput
from triage_service.settings import Settings


def clock() -> datetime:
    """Now, from the one clock (triage_service/clock.py)."""
    return time_source.now()


#: A host name or address with an optional port: what a Host header may be before we build URLs from it.
_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")


def base_url() -> str:
    """The FHIR base URL as clients see it (settings win over the Host header, which a client controls).

    Without a configured base URL, an odd or huge Host header is refused: it would end up in Location
    headers and in a Subscription's stored base (whose column it overflowed on PostgreSQL, a 500)."""
    configured: str = current_app.extensions["triage.settings"].public_base_url
    if configured:
        return f"{configured.rstrip('/')}/fhir"
    if not _HOST.fullmatch(request.host):
        raise InvalidInput(N_("The Host header is not a host name with an optional port"))
    return f"{request.host_url.rstrip('/')}/fhir"


def token_url() -> str:
    return base_url().removesuffix("/fhir") + "/oauth/token"


def launch_url() -> str:
    """Where a GP system sends the browser to open the portal with context (security/his_launch.py)."""
    return base_url().removesuffix("/fhir") + "/huisarts/launch"


def settings() -> Settings:
    configured: Settings = current_app.extensions["triage.settings"]
    return configured
