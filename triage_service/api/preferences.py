"""The client's ``Prefer`` header (RFC 7240), as FHIR R4 uses it (http.html#ops and #search).

``return=minimal`` on a create or update asks for no body: the status, ``Location``, ``ETag`` and
``Last-Modified`` say everything. ``return=OperationOutcome`` asks for an OperationOutcome instead of the
resource (with any warnings; the consult create adds its own, api/resources.py). ``return=representation``
is what we do without the header. The preference is applied once, in api/io.fhir_response, to every
create and update, so no endpoint can forget it. A transaction's response Bundle never carries the
resources (only each entry's location, etag and outcome), so it is answered as it is.

``handling=strict|lenient`` (http.html#search) decides what a search does with a parameter it does not know:
strict (our default, so a typo never silently widens a search) refuses it; lenient leaves it out and says
so in the Bundle (api/search.py).
"""

from __future__ import annotations

from typing import Any

from flask import request

from triage_service.errors import N_
from triage_service.outcome import Issue, operation_outcome

_ANSWERED_AS_IS = ("OperationOutcome", "Bundle", "Parameters")


def preference(name: str) -> str | None:
    """The value the client gave a preference (lowercased), or None; the first one counts (RFC 7240)."""
    for header in request.headers.getlist("Prefer"):
        for token in header.split(","):
            key, _, value = token.split(";")[0].strip().partition("=")
            if key.strip().lower() == name:
                return value.strip().strip('"').lower()
    return None


def preferred_body(body: dict[str, Any], status: int) -> dict[str, Any] | None:
    """The body to send for a create or update the client asked ``return=`` of: None for minimal, an
    OperationOutcome saying what was done, or the resource itself."""
    if request.method not in ("POST", "PUT") or status not in (200, 201) \
            or body.get("resourceType") in _ANSWERED_AS_IS:
        return body
    wanted = preference("return")
    if wanted == "minimal":
        return None
    if wanted == "operationoutcome":
        params = {"reference": f"{body.get('resourceType')}/{body.get('id')}"}
        if status == 201:
            text = N_("Created %(reference)s")
        elif request.method == "PUT":
            text = N_("Updated %(reference)s")
        else:  # a conditional create that found the resource (If-None-Exist)
            text = N_("%(reference)s already exists; nothing was created")
        return operation_outcome([Issue("informational", text, severity="information", params=params)])
    return body
