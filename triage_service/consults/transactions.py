"""Transaction Bundles: Patient, Organization, PractitionerRole, Coverage and
ServiceRequest submitted atomically (http://hl7.org/fhir/R4/http.html#transaction).

All entries succeed or none is stored: any domain error propagates and the
request boundary rolls the whole session back. ``urn:uuid`` references are
replaced by the server ids assigned (or matched by ``ifNoneExist``) before any
resource is validated, so each resource is checked exactly as if it had been
posted on its own.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from triage_service.attachments.documents import binary_content, create_document_reference, store_attachment
from triage_service.audit.trail import Actor
from triage_service.consults.intake import submit_consult
from triage_service.errors import InvalidInput, NotSupported, UnprocessableInput
from triage_service.models import Organisation
from triage_service.models.base import new_id
from triage_service.outcome import Issue
from triage_service.records.resolution import Resolver
from triage_service.records.resources import create_resource
from triage_service.records.supporting import SUPPORTING_TYPES, find_by_identifier, parse_if_none_exist
from triage_service.settings import Settings

#: Supporting resources first, in an order where each only refers to earlier ones.
_ORDER = {"Binary": 0, "Organization": 1, "Patient": 2, "PractitionerRole": 3, "Coverage": 4, "DocumentReference": 5,
          "ServiceRequest": 6}


@dataclass
class EntryResult:
    resource_type: str
    id: str
    version: int
    created: bool
    warnings: tuple[Issue, ...] = ()


def process_transaction(session: Session, actor: Actor, organisation: Organisation, client_pk: str | None,
                        bundle: dict[str, Any], now: datetime, settings: Settings) -> list[EntryResult]:
    if bundle.get("type") != "transaction":
        raise NotSupported("Only Bundles of type 'transaction' can be posted to the base URL",
                           expression="Bundle.type")
    entries = bundle.get("entry", [])
    if not entries:
        raise InvalidInput("A transaction Bundle needs at least one entry", expression="Bundle.entry")

    issues: list[Issue] = []
    planned: list[tuple[int, dict[str, Any], tuple[str, str] | None]] = []
    for index, entry in enumerate(entries):
        expr = f"Bundle.entry[{index}]"
        resource = entry.get("resource")
        request = entry.get("request", {})
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if rtype is None:
            issues.append(Issue("required", "Each entry of a transaction needs a resource", f"{expr}.resource"))
            continue
        if rtype not in _ORDER:
            issues.append(Issue("not-supported", f"Resources of type {rtype} cannot be submitted in a "
                                "transaction here (supported: " + ", ".join(_ORDER) + ")", f"{expr}.resource"))
            continue
        if request.get("method") != "POST" or request.get("url") != rtype:
            issues.append(Issue("not-supported", f"Each entry must be request.method POST to url '{rtype}'",
                                f"{expr}.request"))
            continue
        condition = None
        if request.get("ifNoneExist"):
            try:
                condition = parse_if_none_exist(request["ifNoneExist"])
            except (InvalidInput, NotSupported) as exc:
                issues.append(Issue(exc.issue_code, exc.message, f"{expr}.request.ifNoneExist"))
                continue
        planned.append((index, resource, condition))
    if issues:
        raise UnprocessableInput("The transaction cannot be processed", issues=issues)

    # Assign (or match) an id for every entry, then rewrite urn:uuid references everywhere.
    ids: dict[str, str] = {}
    results: dict[int, EntryResult] = {}
    for index, resource, condition in planned:
        rtype = resource["resourceType"]
        matched = None
        if condition is not None and rtype in SUPPORTING_TYPES:
            matched = find_by_identifier(session, organisation.id, rtype, *condition)
        rid = matched.id if matched is not None else new_id()
        full_url = entries[index].get("fullUrl")
        if isinstance(full_url, str):
            ids[full_url] = f"{rtype}/{rid}"
        if matched is not None:
            results[index] = EntryResult(rtype, matched.id, matched.version_id, created=False)

    unresolved: list[Issue] = []
    rewritten = {index: _rewrite(resource, ids, f"Bundle.entry[{index}].resource", unresolved)
                 for index, resource, _ in planned}
    if unresolved:
        raise UnprocessableInput("The transaction has references that point nowhere", issues=unresolved)

    for index, _resource, condition in sorted(planned, key=lambda p: _ORDER[p[1]["resourceType"]]):
        if index in results:
            continue
        resource = rewritten[index]
        rtype = resource["resourceType"]
        try:
            if rtype == "ServiceRequest":
                submission = submit_consult(session, actor, organisation, client_pk, resource,
                                            Resolver(session, organisation.id, resource), now, condition,
                                            settings.max_attachments_per_consult)
                results[index] = EntryResult(rtype, submission.consult.id, submission.consult.version_id,
                                             submission.created, submission.warnings)
            else:
                rid = ids.get(str(entries[index].get("fullUrl")), "/").split("/")[1] or new_id()
                if rtype == "Binary":
                    # Photos in a Bundle take the same path as POST /fhir/Binary: checked, cleaned, encrypted.
                    try:
                        data, declared = binary_content(resource)  # a 422 gets the entry's place below
                    except InvalidInput as exc:  # content that is not base64: a 400, at the same place
                        raise InvalidInput(exc.message, expression=_prefix(exc.expression, index)) from exc
                    store_attachment(session, actor, settings, organisation.id, data, declared, now,
                                     attachment_id=rid)
                elif rtype == "DocumentReference":
                    create_document_reference(session, actor, settings, organisation.id, resource, now, rid=rid)
                else:
                    create_resource(session, actor, organisation.id, resource, now, rid=rid)
                results[index] = EntryResult(rtype, rid, 1, True)
        except UnprocessableInput as exc:
            # Point each issue at the entry it belongs to, so the GP system can find it.
            raise type(exc)(exc.message, issues=[
                Issue(i.code, i.diagnostics, _prefix(i.expression, index), i.severity) for i in exc.issues
            ]) from exc
    return [results[index] for index, _, _ in planned]


def _prefix(expression: str | None, index: int) -> str:
    return f"Bundle.entry[{index}].resource" + ("." + expression.split(".", 1)[1]
                                                 if expression and "." in expression else "")


def _rewrite(resource: dict[str, Any], ids: dict[str, str], expr: str, unresolved: list[Issue]) -> dict[str, Any]:
    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                # References, and an Attachment's url naming a Binary entry of the same transaction.
                if key in ("reference", "url") and isinstance(value, str) and value.startswith("urn:uuid:") \
                        and (key == "reference" or value in ids):
                    if value not in ids:
                        unresolved.append(Issue("not-found", "This reference names no entry of the "
                                                "transaction (no entry has that fullUrl)", f"{path}.reference"))
                    out[key] = ids.get(value, value)
                else:
                    out[key] = walk(value, f"{path}.{key}")
            return out
        if isinstance(node, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(node)]
        return node

    result: dict[str, Any] = walk(copy.deepcopy(resource), expr)
    return result
