"""An OpenAPI 3.0 description of the FHIR API, at ``GET /fhir/openapi.json``.

FHIR's own description of the API is the CapabilityStatement; this one exists so that generic
HTTP tooling (API gateways, schema-driven fuzzers such as schemathesis, which runs against it in
the tests) can drive every operation. Bodies are described as FHIR JSON objects: their structure
is defined by the StructureDefinitions, not repeated here.
"""

from __future__ import annotations

from typing import Any

from flask import Response

from triage_service.api.io import fhir_response
from triage_service.api.resources import bp

FHIR_JSON = "application/fhir+json"
_OUTCOME = {"description": "An OperationOutcome explaining the refusal",
            "content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Resource"}}}}
_RESOURCE = {"content": {FHIR_JSON: {"schema": {"$ref": "#/components/schemas/Resource"}}}}


def _params(names: list[str]) -> list[dict[str, Any]]:
    return [{"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names]


def _id() -> list[dict[str, Any]]:
    return [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]


def _operation(summary: str, *, body: bool = False, params: list[dict[str, Any]] | None = None,
               success: str = "200") -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "security": [{"smart": []}],
                                 "responses": {success: {"description": "Success", **_RESOURCE}, "default": _OUTCOME}}
    if body:
        operation["requestBody"] = {"required": True, **_RESOURCE}
    if params:
        operation["parameters"] = params
    return operation


_PAGING = ["_count", "_offset"]
_SEARCH = {
    "ServiceRequest": ["identifier", "patient", "status"],
    "Task": ["status", "business-status", "requester", "owner", "focus", "patient", "code", "_lastUpdated"],
    "Communication": ["based-on", "part-of", "category", "sent"],
    "Subscription": ["status"],
    "Appointment": ["based-on", "status", "date", "_lastUpdated", "_sort"],
    "QuestionnaireResponse": ["based-on"],
}


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/fhir/metadata": {"get": {"summary": "CapabilityStatement", "responses": {"200": {
            "description": "The CapabilityStatement", **_RESOURCE}}}},
        "/fhir": {"post": _operation("Transaction Bundle (consult with its resources, all or nothing)", body=True)},
        "/fhir/ServiceRequest/$validate": {"post": _operation("Check a consult request; nothing stored",
                                                              body=True)},
        "/fhir/ServiceRequest/{id}/$patient-photo-link": {"post": _operation(
            "A one-time link (72 hours) for the patient to upload photos into this open consult", params=_id())},
        "/fhir/Task/{id}": {"get": _operation("Read a Task", params=_id()),
                            "put": _operation("Cancel the consult or acknowledge the advice", body=True,
                                              params=_id())},
        "/fhir/Appointment/{id}": {"get": _operation("Read an Appointment (or, with Accept: text/calendar, its "
                                                     "iCalendar file)", params=_id()),
                                   "put": _operation("Book a proposed appointment or cancel one", body=True,
                                                     params=_id())},
        "/fhir/CareTeam/{id}": {"get": _operation("Read an expertise team (the owner of a Task in its queue)",
                                                  params=_id())},
        "/fhir/Subscription/{id}": {"get": _operation("Read a Subscription", params=_id()),
                                    "put": _operation("Change, pause or resume a Subscription", body=True,
                                                      params=_id()),
                                    "delete": _operation("Delete a Subscription", params=_id(), success="204")},
        "/fhir/Binary": {"post": {"summary": "Upload a photo or document as raw bytes", "security": [{"smart": []}],
                                  "requestBody": {"required": True, "content": {
                                      "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                                      "image/png": {"schema": {"type": "string", "format": "binary"}},
                                      "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
                                  "responses": {"201": {"description": "Created", **_RESOURCE},
                                                "default": _OUTCOME}}},
        "/fhir/Binary/{id}": {"get": {"summary": "Download a photo or document", "security": [{"smart": []}],
                                      "parameters": _id(), "responses": {"200": {"description": "The bytes"},
                                                                          "default": _OUTCOME}}},
    }
    for rtype, names in _SEARCH.items():
        paths[f"/fhir/{rtype}"] = {"get": _operation(f"Search {rtype}", params=_params(names + _PAGING))}
        if rtype not in ("Task", "Appointment"):  # created by the service, not by the GP system
            paths[f"/fhir/{rtype}"]["post"] = _operation(f"Create a {rtype}", body=True, success="201")
    for rtype in ("ServiceRequest", "Communication", "QuestionnaireResponse"):
        paths[f"/fhir/{rtype}/{{id}}"] = {"get": _operation(f"Read a {rtype}", params=_id())}
    for rtype in ("Patient", "Organization", "PractitionerRole", "Coverage", "DocumentReference"):
        paths[f"/fhir/{rtype}"] = {"post": _operation(f"Create a {rtype}", body=True, success="201")}
        paths[f"/fhir/{rtype}/{{id}}"] = {"get": _operation(f"Read a {rtype}", params=_id())}
    return {
        "openapi": "3.0.3",
        "info": {"title": "triage_service FHIR API", "version": "1.0.0",
                 "description": "FHIR R4 JSON; the CapabilityStatement at /fhir/metadata is authoritative."},
        "paths": paths,
        "components": {
            "schemas": {"Resource": {"type": "object", "required": ["resourceType"],
                                     "properties": {"resourceType": {"type": "string"}}}},
            "securitySchemes": {"smart": {"type": "http", "scheme": "bearer",
                                          "description": "SMART Backend Services token from /oauth/token"}},
        },
    }


@bp.get("/openapi.json")
def openapi() -> Response:
    response = fhir_response(openapi_document())
    response.mimetype = "application/json"
    return response
