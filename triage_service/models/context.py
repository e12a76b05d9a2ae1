"""The patient's context sent with a consult (issue 23, point 5): medication, allergies, measurements.

One row per resource the GP system sent as ``ServiceRequest.supportingInfo`` (fhir/context.py says which
resources are context), kept as the JSON received: clinical data, so encrypted at rest like the request
itself. A resource that came contained in the request keeps its local id (``contained_id``) and is read with
the ServiceRequest; one that came as an entry of the transaction Bundle is its own FHIR resource, readable at
``/fhir/{resource_type}/{id}``. Never changed after intake: the context is what the GP sent then.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from triage_service import clock
from triage_service.encryption.columns import EncryptedJSON
from triage_service.models.base import Base, uuid_pk


class ConsultContextItem(Base):
    __tablename__ = "consult_context_items"

    #: Also the FHIR logical id of a resource sent as a Bundle entry.
    id: Mapped[str] = uuid_pk()
    consult_id: Mapped[str] = mapped_column(ForeignKey("consults.id", ondelete="CASCADE"), index=True)
    #: The requesting practice: only its GP systems may read the resource.
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"))
    resource_type: Mapped[str] = mapped_column(String(40))
    #: What it is (fhir/context.py KINDS): "medication", "allergies", "blood-pressure", "hba1c", ...
    kind: Mapped[str] = mapped_column(String(40))
    #: The order in ServiceRequest.supportingInfo, so the tables keep the GP system's order.
    position: Mapped[int] = mapped_column(Integer)
    #: The local id of a contained resource ("bp"); None for one sent as its own Bundle entry.
    contained_id: Mapped[str | None] = mapped_column(String(64))
    #: Encrypted at rest: medication, allergies and measurements are clinical data.
    resource: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON("consult_context_items.resource"))
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
