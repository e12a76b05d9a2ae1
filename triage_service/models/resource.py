"""FHIR resources a GP system posts alongside a consult (Patient, Organization,
PractitionerRole, Coverage), kept as the JSON received, owned by one organisation.

They are readable only by the organisation that created them. A conditional
create on an identifier (``If-None-Exist``) reuses the existing row, so a
patient posted twice by the same practice is one resource.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.encryption.columns import EncryptedJSON
from triage_service.models.base import Base, uuid_pk


class StoredResource(Base):
    __tablename__ = "stored_resources"
    # Not unique: FHIR lets a plain create duplicate a patient; conditional create then
    # reports the ambiguity (412) instead of the database refusing with a 500.
    __table_args__ = (Index("ix_stored_resources_identity", "organisation_id", "resource_type", "identifier_token"),
                      Index("ix_stored_resources_patient_ref", "patient_ref"),
                      # The NEN 7513 look-up finds a patient in every practice by the BSN's token (migration 0043).
                      Index("ix_stored_resources_token", "identifier_token"))

    id: Mapped[str] = uuid_pk()
    resource_type: Mapped[str] = mapped_column(String(40))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    #: Blind index (encryption/fields.py) of the identifier used for matching and conditional create.
    identifier_token: Mapped[str | None] = mapped_column(String(300))
    #: The Patient (an id in this table) a DocumentReference or Coverage concerns, a Patient its own id:
    #: the audit trail names the patient in every entry about the resource (NEN 7513).
    patient_ref: Mapped[str | None] = mapped_column(String(36))
    version_id: Mapped[int] = mapped_column(Integer, default=1)
    #: Encrypted at rest: a Patient carries BSN, name and address.
    resource: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("stored_resources.resource"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(default=clock.now, index=True)
