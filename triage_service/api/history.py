"""vread: ``GET /fhir/{type}/{id}/_history/{vid}`` (http://hl7.org/fhir/R4/http.html#vread).

Every create and update answers a ``Location`` ending in ``/_history/{version}``, as FHIR asks, so that URL
must answer too. We keep the current version of each resource, not its past ones (the CapabilityStatement
says ``readHistory: false``): a vread of the current version is the read, with its ETag; a vread of an
earlier version is a 404 saying which version is current, so a client holding an old Location learns where
to look. A resource served without an ETag (a Binary, the patient's context sent with a consult) is stored
once and never changed, so its only version is 1.

The vread is the read itself, found by routing the plain read URL: the same scope check, ownership rule,
audit row and answer as ``GET /fhir/{type}/{id}``, with no second copy of any of them to drift apart.
"""

from __future__ import annotations

from typing import cast

from flask import Response, current_app, request
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.exceptions import NotFound as RouteNotFound

from triage_service.api.resources import bp
from triage_service.errors import N_, InvalidInput, NotFound

#: The types with a versionId, as the CapabilityStatement lists them with vread. The conformance resources
#: are not among them: they are identified by canonical url and business version.
VERSIONED = ("AllergyIntolerance", "Appointment", "Binary", "Communication", "Coverage", "DocumentReference",
             "MedicationStatement", "Observation", "Organization", "Patient", "PractitionerRole",
             "QuestionnaireResponse", "ServiceRequest", "Subscription", "Task")


@bp.get(f"/<any({', '.join(VERSIONED)}):rtype>/<rid>/_history/<vid>")
def vread(rtype: str, rid: str, vid: str) -> Response:
    if not vid.isdigit() or vid.startswith("0"):
        raise InvalidInput(N_("A version id is a whole number from 1 (got '%(vid)s')"), params={"vid": vid[:40]})
    adapter = current_app.url_map.bind_to_environ(request.environ)
    try:
        endpoint, args = adapter.match(f"/fhir/{rtype}/{rid}", method="GET")
    except (RouteNotFound, MethodNotAllowed) as exc:
        raise NotFound(N_("%(type)s has no versions to read"), params={"type": rtype[:60]}) from exc
    # Every FHIR read view returns a Response (fhir_response, or the Binary's stream).
    response = cast(Response, current_app.view_functions[endpoint](**args))
    current = response.get_etag()[0] or "1"  # no ETag: stored once, never changed, like a Binary
    if current != vid:
        raise NotFound(N_("Version %(vid)s of %(type)s/%(id)s is not kept; the current version is %(current)s"),
                       params={"vid": vid, "type": rtype, "id": rid, "current": current})
    return response
