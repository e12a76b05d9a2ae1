"""Our published conformance resources, read-only and public: the CapabilityStatement,
StructureDefinitions, CodeSystems, ValueSets and Questionnaires from ``fhir_profiles/``."""

from __future__ import annotations

import copy

from flask import Response, request

from triage_service.api.io import fhir_response
from triage_service.api.resources import bp
from triage_service.errors import N_, NotFound
from triage_service.fhir.mapping import searchset
from triage_service.fhir.profiles import registry
from triage_service.request_context import base_url

_KINDS = "StructureDefinition, CodeSystem, ValueSet, Questionnaire"


@bp.get("/metadata")
def metadata() -> Response:
    statement = copy.deepcopy(registry().resources[("CapabilityStatement", "triage-service")])
    # The statement names the token endpoint and implementation URL as seen by this deployment.
    text = fhir_json_replace(statement, "{base-url}", base_url().removesuffix("/fhir"))
    return fhir_response(text)


def fhir_json_replace(node: object, old: str, new: str) -> dict[str, object]:
    def walk(value: object) -> object:
        if isinstance(value, str):
            return value.replace(old, new)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    result = walk(node)
    assert isinstance(result, dict)
    return result


@bp.get(f"/<any({_KINDS}):rtype>/<rid>")
def conformance_read(rtype: str, rid: str) -> Response:
    resource = registry().resources.get((rtype, rid))
    if resource is None:
        raise NotFound(N_("%(rtype)s/%(rid)s is not published by this service"), params={"rtype": rtype, "rid": rid})
    return fhir_response(resource)


@bp.get(f"/<any({_KINDS}):rtype>")
def conformance_search(rtype: str) -> Response:
    url = request.args.get("url")
    found = [r for (t, _), r in sorted(registry().resources.items()) if t == rtype and (url is None or
                                                                                        r.get("url") == url)]
    return fhir_response(searchset(found, len(found), request.url, None, base_url()))
