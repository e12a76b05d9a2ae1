"""Resolving references inside a submitted consult request.

A GP system may send the Patient, PractitionerRole, Organization and Coverage
contained in the ServiceRequest (``#id``), as server resources it created
earlier (``Patient/{id}``), or as entries of the same transaction Bundle
(``urn:uuid:...``, rewritten to ``Type/{id}`` before we get here). Server
resources resolve only within the caller's own organisation: another
practice's Patient id is "not found", never someone else's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.fhir.profiles import literal_type
from triage_service.models import StoredResource


@dataclass(frozen=True)
class Resolved:
    resource: dict[str, Any]
    stored: StoredResource | None  # None for contained resources
    #: Where a contained resource sits ("ServiceRequest.contained[0]"), for error expressions.
    location: str | None = None


class Resolver:
    def __init__(self, session: Session, organisation_id: str, container: dict[str, Any],
                 pending: dict[str, tuple[dict[str, Any], str]] | None = None):
        self.session = session
        #: Entries of the same transaction that are stored with the consult, not before it (the patient's
        #: context, consults/patient_context.py): "Observation/{id}" -> (resource, "Bundle.entry[n].resource").
        self.pending = pending or {}
        self.organisation_id = organisation_id
        self.root = str(container.get("resourceType", "Resource"))
        self.contained = {c.get("id"): (i, c) for i, c in enumerate(container.get("contained", []))
                          if isinstance(c, dict)}
        self._cache: dict[str, Resolved | None] = {}

    def resolve(self, reference: Any) -> Resolved | None:
        if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
            return None
        ref: str = reference["reference"]
        if ref not in self._cache:
            self._cache[ref] = self._lookup(ref)
        return self._cache[ref]

    def _lookup(self, ref: str) -> Resolved | None:
        if ref.startswith("#"):
            found = self.contained.get(ref[1:])
            if found is None:
                return None
            index, resource = found
            return Resolved(resource, None, f"{self.root}.contained[{index}]")
        if ref in self.pending:
            resource, location = self.pending[ref]
            return Resolved(resource, None, location)
        rtype = literal_type(ref)
        if rtype is None or ref.startswith("http"):
            return None  # absolute references to other servers are not followed
        rid = ref.split("/")[1]
        stored = self.session.scalar(
            select(StoredResource).where(StoredResource.id == rid, StoredResource.resource_type == rtype,
                                         StoredResource.organisation_id == self.organisation_id))
        return Resolved(stored.resource, stored) if stored is not None else None

    def reference_type(self, ref: str, _value: dict[str, Any]) -> str | None:
        """For the profile validator: the type a reference points at, or None if unresolvable."""
        resolved = self.resolve({"reference": ref})
        return str(resolved.resource.get("resourceType")) if resolved else None
