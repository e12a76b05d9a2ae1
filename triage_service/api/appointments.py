"""Appointments over FHIR: read (also as iCalendar), search, and the GP system's update (book or cancel)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Response, request
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import selectinload

from triage_service.api.io import fhir_response, read_resource_for_update
from triage_service.api.search_params import (
    check_params,
    date_clause,
    page_of,
    reference_id,
    search_bundle,
    split_values,
)
from triage_service.audit.trail import record
from triage_service.consults.appointments import update_by_gp
from triage_service.database import get_session
from triage_service.errors import N_, InvalidInput
from triage_service.fhir.appointment import appointment_ics, appointment_to_fhir
from triage_service.models import Appointment, AppointmentStatus, AuditAction
from triage_service.request_context import base_url, clock
from triage_service.security.policy import request_actor, require_scope

from triage_service.api.resources import bp, owned  # isort: skip - the blueprint these routes hang on

#: The iCalendar representation of an Appointment, by content negotiation (api/resources.py lets it through).
CALENDAR = "text/calendar"


def wants_calendar() -> bool:
    """Only a client that prefers text/calendar gets it: ``*/*`` (curl, browsers) and ``_format`` mean FHIR JSON,
    because on a tie the first of the offered types wins."""
    if "_format" in request.args:
        return False
    accept = request.accept_mimetypes
    return bool(accept) and accept.best_match(["application/fhir+json", "application/json", CALENDAR]) == CALENDAR


@bp.get("/Appointment/<rid>")
def read_appointment(rid: str) -> Response:
    access = require_scope("Appointment", "read")
    appointment = owned(Appointment, rid, access.organisation_id)
    consult, calendar = appointment.consult, wants_calendar()
    record(get_session(), request_actor(), event="fhir.read", action=AuditAction.READ, resource_type="Appointment",
           resource_id=rid, patient_ref=consult.patient_resource_id, at=clock(),
           detail="format=ics" if calendar else None)
    if calendar:
        # For the GP's agenda, in Dutch (the GP systems are Dutch); never the patient's name.
        title = ("Videoconsult" if appointment.video else "Eenmalig consult medisch specialist (ECMS)") + \
            f" met {appointment.practitioner_name}"
        description = f"Meekijkconsult ServiceRequest/{consult.id}. Patiëntgegevens staan in het HIS."
        body = appointment_ics(appointment, title, description, urlsplit(base_url()).hostname or "localhost",
                               clock())
        return Response(body, 200, mimetype=CALENDAR, headers={
            "Content-Disposition": f'attachment; filename="afspraak-{appointment.id}.ics"',
            "ETag": f'W/"{appointment.version_id}"'})
    return fhir_response(appointment_to_fhir(appointment, consult), 200, appointment.version_id)


@bp.put("/Appointment/<rid>")
def update_appointment(rid: str) -> Response:
    access = require_scope("Appointment", "update")
    submitted = read_resource_for_update("Appointment", rid)
    appointment = owned(Appointment, rid, access.organisation_id)
    update_by_gp(get_session(), request_actor(), appointment, submitted, request.headers.get("If-Match"), clock())
    return fhir_response(appointment_to_fhir(appointment, appointment.consult), 200, appointment.version_id)


@bp.get("/Appointment")
def search_appointments() -> Response:
    access = require_scope("Appointment", "search")
    check_params({"based-on", "status", "date", "_lastUpdated", "_sort"})
    where: list[ColumnElement[bool]] = [Appointment.organisation_id == access.organisation_id]
    args = request.args
    for raw in args.getlist("based-on"):
        where.append(Appointment.consult_id.in_([reference_id(v, "ServiceRequest") for v in split_values(raw)]))
    for raw in args.getlist("status"):
        statuses = split_values(raw)
        unknown = [s for s in statuses if s not in {m.value for m in AppointmentStatus}]
        if unknown:
            raise InvalidInput(N_("Unknown appointment status: %(unknown)s"), expression="status",
                               params={"unknown": ', '.join(unknown)})
        where.append(Appointment.status.in_(statuses))
    for raw in args.getlist("date"):
        where.append(date_clause(Appointment.start, raw, "date"))
    for raw in args.getlist("_lastUpdated"):
        where.append(date_clause(Appointment.updated_at, raw))
    # Each row needs its consult (basedOn, form, patient): loaded in one more query, not one per row.
    query = (select(Appointment).options(selectinload(Appointment.consult)).where(*where)
             .order_by(*_order(args.get("_sort", "date")), Appointment.id))
    rows, total, count, offset = page_of(query, select(func.count()).select_from(Appointment).where(*where))
    return search_bundle("Appointment", [appointment_to_fhir(a, a.consult) for a in rows],
                    [a.consult.patient_resource_id for a in rows], total, count, offset)


_SORTS = {"date": Appointment.start, "_lastUpdated": Appointment.updated_at}


def _order(raw: str) -> list[Any]:
    """``_sort`` by date (the start) or _lastUpdated, ascending or with ``-`` descending."""
    order = []
    for key in split_values(raw):
        column = _SORTS.get(key.removeprefix("-"))
        if column is None:
            raise InvalidInput(N_("_sort supports %(supported)s (with '-' for descending), not '%(key)s'"),
                               expression="_sort", params={"supported": ', '.join(sorted(_SORTS)), "key": key})
        order.append(column.desc() if key.startswith("-") else column.asc())
    return order
