"""An appointment as FHIR R4 Appointment JSON, and as an iCalendar event (RFC 5545).

Participants are the patient (by the Patient resource the GP system sent), the specialist (by AGB: GP
systems know specialists by AGB, not by our ids) and, when the GP joins a video consult, the requesting GP
(also by AGB: the requester may have been contained in the ServiceRequest). R4 has no field for a video
link (R5's ``virtualService``), so the link travels in the ``triage-ext-meeting-url`` extension.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from triage_service.fhir.dutch import AGB, VEKTIS_SPECIALISM
from triage_service.fhir.mapping import instant
from triage_service.fhir.profiles import CANONICAL_BASE, PROFILE_CONSULT_APPOINTMENT, registry
from triage_service.models import Appointment, AppointmentStatus, Consult

EXT_MEETING_URL = f"{CANONICAL_BASE}/StructureDefinition/triage-ext-meeting-url"
CS_CONSULT_FORM = f"{CANONICAL_BASE}/CodeSystem/triage-consult-form"
CS_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
CS_CANCELLATION = "http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason"
#: Who cancelled, as appointment-cancellation-reason codes: the patient (via the GP) or the provider.
_CANCELLED_BY = {"gp": ("pat", "Patient"), "specialist": ("prov", "Provider"), "service": ("prov", "Provider")}


def _participant_status(appointment: Appointment, role: str) -> str:
    status = appointment.status
    if status is AppointmentStatus.PROPOSED:
        return "accepted" if role == "specialist" else "needs-action"
    if status is AppointmentStatus.CANCELLED:
        declined_by_patient = appointment.cancelled_by == "gp"
        if role == "specialist":
            return "accepted" if declined_by_patient else "declined"
        return "declined" if declined_by_patient else "needs-action"
    return "accepted"  # booked, fulfilled, noshow: everyone had agreed to the time


def appointment_to_fhir(appointment: Appointment, consult: Consult) -> dict[str, Any]:
    form_display = registry().display(CS_CONSULT_FORM, consult.consult_form) or consult.consult_form
    patient: dict[str, Any] = {"actor": {"reference": f"Patient/{consult.patient_resource_id}"}} \
        if consult.patient_resource_id else {"type": [{"coding": [{"system": CS_PARTICIPATION, "code": "SBJ"}]}]}
    participants = [
        {**patient, "required": "required", "status": _participant_status(appointment, "patient")},
        {"type": [{"coding": [{"system": CS_PARTICIPATION, "code": "PPRF", "display": "primary performer"}]}],
         "actor": {"type": "PractitionerRole", "identifier": {"system": AGB, "value": appointment.practitioner_agb},
                   "display": appointment.practitioner_name},
         "required": "required", "status": _participant_status(appointment, "specialist")},
    ]
    if appointment.gp_joins:
        participants.append({
            "type": [{"coding": [{"system": CS_PARTICIPATION, "code": "PART", "display": "Participation"}]}],
            "actor": {"type": "PractitionerRole", "identifier": {"system": AGB, "value": consult.requester_agb}},
            "required": "required", "status": _participant_status(appointment, "gp")})
    body: dict[str, Any] = {
        "resourceType": "Appointment",
        "id": appointment.id,
        "meta": {"versionId": str(appointment.version_id), "lastUpdated": instant(appointment.updated_at),
                 "profile": [PROFILE_CONSULT_APPOINTMENT]},
        "status": appointment.status.value,
        "serviceType": [{"coding": [{"system": CS_CONSULT_FORM, "code": consult.consult_form,
                                     "display": form_display}]}],
        "specialty": [{"coding": [{"system": VEKTIS_SPECIALISM, "code": consult.specialism}]}],
        # No patient data: the title is what a shared agenda may show.
        "description": form_display,
        "start": instant(appointment.start),
        "end": instant(appointment.end),
        "minutesDuration": int((appointment.end - appointment.start).total_seconds() // 60),
        "created": instant(appointment.created_at),
        "basedOn": [{"reference": f"ServiceRequest/{consult.id}"}],
        "participant": participants,
    }
    if appointment.video and appointment.meeting_url:
        body["extension"] = [{"url": EXT_MEETING_URL, "valueUrl": appointment.meeting_url}]
    if appointment.instructions:
        body["patientInstruction"] = appointment.instructions
    if appointment.status is AppointmentStatus.CANCELLED and appointment.cancelled_by:
        code, display = _CANCELLED_BY.get(appointment.cancelled_by, ("oth", "Other"))
        reason: dict[str, Any] = {"coding": [{"system": CS_CANCELLATION, "code": code, "display": display}]}
        if appointment.cancellation_reason:
            reason["text"] = appointment.cancellation_reason
        body["cancelationReason"] = reason
    return body


# -- iCalendar ------------------------------------------------------------------------------------

_ICS_STATUS = {AppointmentStatus.PROPOSED: "TENTATIVE", AppointmentStatus.BOOKED: "CONFIRMED",
               AppointmentStatus.FULFILLED: "CONFIRMED", AppointmentStatus.NOSHOW: "CONFIRMED",
               AppointmentStatus.CANCELLED: "CANCELLED"}


def _ics_text(value: str) -> str:
    """TEXT escaping of RFC 5545 section 3.3.11."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n") \
        .replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Lines longer than 75 octets are folded (RFC 5545 section 3.1), never inside a UTF-8 sequence."""
    out: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        if size + width > (75 if not out else 74):
            out.append(current)
            current, size = "", 0
        current += char
        size += width
    out.append(current)
    return [out[0], *(" " + part for part in out[1:])]


def _ics_time(value: datetime) -> str:
    return value.strftime("%Y%m%dT%H%M%SZ")


def appointment_ics(appointment: Appointment, title: str, description: str, host: str, now: datetime) -> bytes:
    """One VEVENT. The title and description come from the caller in the reader's language and never name
    the patient: a calendar is synchronised to phones and shared with secretaries."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//triage_service//Appointments//NL", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", "BEGIN:VEVENT", f"UID:{appointment.id}@{host}", f"DTSTAMP:{_ics_time(now)}",
             f"DTSTART:{_ics_time(appointment.start)}", f"DTEND:{_ics_time(appointment.end)}",
             # The version: a calendar replaces the event it has when a higher sequence arrives.
             f"SEQUENCE:{appointment.version_id - 1}", f"STATUS:{_ICS_STATUS[appointment.status]}",
             f"SUMMARY:{_ics_text(title)}", f"DESCRIPTION:{_ics_text(description)}"]
    if appointment.video and appointment.meeting_url:
        lines += [f"LOCATION:{_ics_text(appointment.meeting_url)}", f"URL:{appointment.meeting_url}"]
    elif appointment.instructions:
        lines.append(f"LOCATION:{_ics_text(appointment.instructions)}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return ("\r\n".join(folded for line in lines for folded in _fold(line)) + "\r\n").encode()
