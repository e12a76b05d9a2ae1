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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from triage_service.attachments.documents import binary_content, create_document_reference, store_attachment
from triage_service.audit.trail import Actor
from triage_service.consults.intake import submit_consult
from triage_service.consults.patient_context import kept_context
from triage_service.errors import N_, InvalidInput, NotSupported, UnprocessableInput
from triage_service.fhir.context import is_context_resource
from triage_service.models import Organisation
from triage_service.models.base import new_id
from triage_service.outcome import Issue
from triage_service.records.resolution import Resolver
from triage_service.records.resources import create_resource
from triage_service.records.supporting import SUPPORTING_TYPES, find_by_identifier, parse_if_none_exist
from triage_service.settings import Settings

#: Supporting resources first, in an order where each only refers to earlier ones. The patient's context
#: (medication, allergies, measurements) is stored with the consult that names it (consults/patient_context.py).
_ORDER = {"Binary": 0, "Organization": 1, "Patient": 2, "PractitionerRole": 3, "Coverage": 4, "DocumentReference": 5,
          "MedicationStatement": 5, "AllergyIntolerance": 5, "Observation": 5, "ServiceRequest": 6}


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
        raise NotSupported(N_("Only Bundles of type 'transaction' can be posted to the base URL"),
                           expression="Bundle.type")
    entries = bundle.get("entry", [])
    if not entries:
        raise InvalidInput(N_("A transaction Bundle needs at least one entry"), expression="Bundle.entry")

    issues: list[Issue] = []
    planned: list[tuple[int, dict[str, Any], tuple[str, str] | None]] = []
    for index, entry in enumerate(entries):
        expr = f"Bundle.entry[{index}]"
        resource = entry.get("resource")
        request = entry.get("request", {})
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if rtype is None:
            issues.append(Issue("required", N_("Each entry of a transaction needs a resource"), f"{expr}.resource"))
            continue
        if rtype not in _ORDER:
            issues.append(Issue("not-supported", N_("Resources of type %(rtype)s cannot be submitted in a "
                                                    "transaction here (supported: %(supported)s)"),
                                f"{expr}.resource", params={"rtype": rtype, "supported": ", ".join(_ORDER)}))
            continue
        if request.get("method") != "POST" or request.get("url") != rtype:
            issues.append(Issue("not-supported", N_("Each entry must be request.method POST to url '%(rtype)s'"),
                                f"{expr}.request", params={"rtype": rtype}))
            continue
        condition = None
        if request.get("ifNoneExist"):
            try:
                condition = parse_if_none_exist(request["ifNoneExist"])
            except (InvalidInput, NotSupported) as exc:
                issues.append(Issue(exc.issue_code, exc.template, f"{expr}.request.ifNoneExist", params=exc.params))
                continue
        planned.append((index, resource, condition))
    if issues:
        raise UnprocessableInput(N_("The transaction cannot be processed"), issues=issues)

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
        raise UnprocessableInput(N_("The transaction has references that point nowhere"), issues=unresolved)
    pending, entry_of = _context_entries(planned, rewritten, ids, entries)

    for index, _resource, condition in sorted(planned, key=lambda p: _ORDER[p[1]["resourceType"]]):
        if index in results:
            continue
        resource = rewritten[index]
        rtype = resource["resourceType"]
        try:
            if rtype == "ServiceRequest":
                submission = submit_consult(session, actor, organisation, client_pk, resource,
                                            Resolver(session, organisation.id, resource, pending), now, condition,
                                            settings.max_attachments_per_consult)
                results[index] = EntryResult(rtype, submission.consult.id, submission.consult.version_id,
                                             submission.created, submission.warnings)
                if not submission.created:
                    # A retry: its context entries are the ones kept the first time, not new resources.
                    _kept_context(session, submission.consult.id, resource, entry_of, results)
            elif is_context_resource(resource):
                # Kept by the intake with the consult that names it (checked there, with the consult's patient).
                rid = ids.get(str(entries[index].get("fullUrl")), "/").split("/")[1]
                results[index] = EntryResult(rtype, rid, 1, True)
            else:
                rid = ids.get(str(entries[index].get("fullUrl")), "/").split("/")[1] or new_id()
                if rtype == "Binary":
                    # Photos in a Bundle take the same path as POST /fhir/Binary: checked, cleaned, encrypted.
                    try:
                        data, declared = binary_content(resource)  # a 422 gets the entry's place below
                    except InvalidInput as exc:  # content that is not base64: a 400, at the same place
                        raise InvalidInput(exc.template, params=exc.params,
                                           expression=_prefix(exc.expression, index)) from exc
                    store_attachment(session, actor, settings, organisation.id, data, declared, now,
                                     attachment_id=rid)
                elif rtype == "DocumentReference":
                    create_document_reference(session, actor, settings, organisation.id, resource, now, rid=rid)
                else:
                    create_resource(session, actor, organisation.id, resource, now, rid=rid)
                results[index] = EntryResult(rtype, rid, 1, True)
        except UnprocessableInput as exc:
            # Point each issue at the entry it belongs to, so the GP system can find it.
            raise type(exc)(exc.template, params=exc.params, issues=[
                replace(i, expression=_prefix(i.expression, index)) for i in exc.issues
            ]) from exc
    return [results[index] for index, _, _ in planned]


def _context_entries(planned: list[tuple[int, dict[str, Any], tuple[str, str] | None]],
                     rewritten: dict[int, dict[str, Any]], ids: dict[str, str],
                     entries: list[dict[str, Any]]) -> tuple[dict[str, tuple[dict[str, Any], str]], dict[str, int]]:
    """The patient's context among the entries, by the reference the ServiceRequest names it with (with where it
    is, for the Resolver, and its entry's index); an entry that no ServiceRequest of the transaction names would be
    stored with no consult, so it is refused."""
    named = {str(ref.get("reference")) for resource in rewritten.values()
             if resource.get("resourceType") == "ServiceRequest"
             for ref in resource.get("supportingInfo", []) if isinstance(ref, dict)}
    pending: dict[str, tuple[dict[str, Any], str]] = {}
    entry_of: dict[str, int] = {}
    issues = []
    for index, resource, _condition in planned:
        if not is_context_resource(resource):
            continue
        reference = ids.get(str(entries[index].get("fullUrl")))
        if reference is None or reference not in named:
            issues.append(Issue("business-rule", N_("This entry is the patient's context (medication, allergies or "
                                                    "a measurement) but no ServiceRequest of the transaction names "
                                                    "it in supportingInfo"), f"Bundle.entry[{index}].fullUrl"))
            continue
        pending[reference] = (rewritten[index], f"Bundle.entry[{index}].resource")
        entry_of[reference] = index
    if issues:
        raise UnprocessableInput(N_("The transaction cannot be processed"), issues=issues)
    return pending, entry_of


def _kept_context(session: Session, consult_id: str, request: dict[str, Any], entry_of: dict[str, int],
                  results: dict[int, EntryResult]) -> None:
    """The entries of a retried transaction answered with the context rows the consult already has, matched by
    their place in supportingInfo (a retry sends the same request)."""
    kept = kept_context(session, consult_id)
    for position, reference in enumerate(request.get("supportingInfo", [])):
        index = entry_of.get(str(reference.get("reference"))) if isinstance(reference, dict) else None
        row = kept.get(position)
        if index is not None and row is not None:
            results[index] = EntryResult(row.resource_type, row.id, 1, created=False)


def _prefix(expression: str | None, index: int) -> str:
    if expression and expression.startswith("Bundle."):
        return expression  # it already names its own entry (a context entry the ServiceRequest points at)
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
                        unresolved.append(Issue("not-found", N_("This reference names no entry of the transaction (no "
                                                                "entry has that fullUrl)"), f"{path}.reference"))
                    out[key] = ids.get(value, value)
                else:
                    out[key] = walk(value, f"{path}.{key}")
            return out
        if isinstance(node, list):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(node)]
        return node

    result: dict[str, Any] = walk(copy.deepcopy(resource), expr)
    return result
