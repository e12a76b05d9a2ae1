"""Organisations and practitioners known to the service (master data).

Loaded from the demo data and the collaboration agreements, not from GP
requests: a request's practice AGB must match a registered organisation.
"""

from __future__ import annotations

import enum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from triage_service.models.base import Base, uuid_pk


class OrganisationKind(enum.StrEnum):
    ZORGGROEP = "zorggroep"
    GP_PRACTICE = "gp-practice"
    SPECIALIST_ORGANISATION = "specialist-organisation"
    INSURER = "insurer"
    #: A huisartsenpost (HAP): GPs on an out-of-hours shift, whose patients belong to other practices.
    OUT_OF_HOURS_POST = "out-of-hours-post"


#: The organisations whose GPs ask consults (the requesters an agreement may admit).
REQUESTER_KINDS = (OrganisationKind.GP_PRACTICE, OrganisationKind.OUT_OF_HOURS_POST)


class PractitionerRoleKind(enum.StrEnum):
    GP = "gp"
    SPECIALIST = "specialist"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[str] = uuid_pk()
    kind: Mapped[OrganisationKind] = mapped_column(Enum(OrganisationKind, native_enum=False, length=32))
    name: Mapped[str] = mapped_column(String(200))
    #: AGB code (8 digits) for care providers; None for insurers.
    agb: Mapped[str | None] = mapped_column(String(8), unique=True)
    #: UZOVI code (4 digits) for insurers only.
    uzovi: Mapped[str | None] = mapped_column(String(4), unique=True)

    practitioners: Mapped[list[Practitioner]] = relationship(back_populates="organisation")


class Practitioner(Base):
    __tablename__ = "practitioners"

    id: Mapped[str] = uuid_pk()
    agb: Mapped[str] = mapped_column(String(8), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[PractitionerRoleKind] = mapped_column(Enum(PractitionerRoleKind, native_enum=False, length=32))
    #: Vektis COD016 code or a first-line specialism code (None for GPs).
    specialism: Mapped[str | None] = mapped_column(String(64))
    organisation_id: Mapped[str] = mapped_column(ForeignKey("organisations.id"), index=True)

    organisation: Mapped[Organisation] = relationship(back_populates="practitioners")
