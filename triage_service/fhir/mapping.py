"""Domain objects to FHIR JSON (the Task, search Bundles, transaction responses)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from triage_service.fhir.dutch import AGB
from triage_service.fhir.notes import agreement_flag_note, callout_note, translated
from triage_service.fhir.overflow_note import overflow_notes
from triage_service.fhir.profiles import CANONICAL_BASE, PROFILE_CONSULT_MESSAGE, PROFILE_CONSULT_TASK, registry
from triage_service.fhir.teams import on_behalf_extension, team_owner
from triage_service.models import Agreement, Consult, ConsultMessage, ConsultTask, ReferralFlag

CS_BUSINESS_STATUS = f"{CANONICAL_BASE}/CodeSystem/triage-business-status"


def instant(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def etag(version: int) -> str:
    return f'W/"{version}"'


def task_to_fhir(task: ConsultTask, letter_id: str | None = None,
                 flag_notes: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The Task as FHIR; ``letter_id`` is the consult's current letter (consults/letters.py), listed in output;
    ``flag_notes`` its flags' notes where a page read them at once (:func:`flag_notes_of`)."""
    consult = task.consult
    focus = {"reference": f"ServiceRequest/{consult.id}"}
    body: dict[str, Any] = {
        "resourceType": "Task",
        "id": task.id,
        "meta": {"versionId": str(task.version_id), "lastUpdated": instant(task.updated_at),
                 "profile": [PROFILE_CONSULT_TASK]},
        "basedOn": [focus],
        "status": task.status.value,
        "businessStatus": {"coding": [{"system": CS_BUSINESS_STATUS, "code": task.business_status,
                                       "display": registry().display(CS_BUSINESS_STATUS, task.business_status)
                                       or task.business_status}]},
        "intent": "order",
        "priority": consult.priority,
        "focus": focus,
        "for": {"reference": f"Patient/{consult.patient_resource_id}"},
        "authoredOn": instant(task.created_at),
        "lastModified": instant(task.updated_at),
        # The requester may have been contained in the ServiceRequest, so it is named by AGB.
        "requester": {"type": "PractitionerRole", "identifier": {"system": AGB, "value": consult.requester_agb}},
    }
    if task.status_reason:
        body["statusReason"] = {"text": task.status_reason}
    if task.owner_agb:
        # Specialists and groups are known to the GP system by AGB, not by a server id of ours.
        body["owner"] = {"type": "PractitionerRole" if task.owner_kind == "practitioner" else "Organization",
                         "identifier": {"system": AGB, "value": task.owner_agb}, "display": task.owner_name}
        session = object_session(task)
        if task.owner_kind == "organisation" and session is not None:
            # An expertise team's queue is owned by the team as a CareTeam (fhir/teams.py).
            body["owner"] = team_owner(session, task.owner_agb) or body["owner"]
    notes = list(flag_notes) if flag_notes is not None else _flag_notes(task)
    if task.urgent:
        notes += [{"time": instant(step.at), **translated(callout_note(step.kind, step.reason))}
                  for step in task.callout_steps]
    notes += overflow_notes(task, instant)
    if notes:
        body["note"] = notes
    if consult.outcome:
        body["output"] = _outputs(consult, letter_id)
    # restriction.period is the period over which fulfilment is sought. While the Task waits on the GP the
    # norm is paused (consults/norm_clock.py) and its end is not known until the GP answers: stating the
    # due time of the moment of pausing would tell the GP system a deadline that no longer holds. So it is
    # left out while paused; status on-hold and businessStatus say why, and it returns, moved, on resuming.
    if task.due_at and task.paused_at is None:
        body["restriction"] = {"period": {"end": instant(task.due_at)}}
    return body


def _flag_notes(task: ConsultTask) -> list[dict[str, Any]]:
    session = object_session(task)
    if not task.flag_note:
        return []
    if session is None:
        return [{"text": line} for line in task.flag_note.splitlines()]
    return flag_notes_of(session, [task])[task.id]


def flag_notes_of(session: Session, tasks: Sequence[ConsultTask]) -> dict[str, list[dict[str, Any]]]:
    """Per flagged Task id, its "likely referral" flags said again from the stored flags in the reader's language
    (fhir/notes.py), for a whole page of Tasks in two queries (a search read them Task by Task: 40 of the 67
    statements of a page of 20).

    ``flag_note`` keeps the English sentence as written at intake; it is shown as written only for a Task whose
    flags were not stored (none since migration 0004)."""
    flagged = [task for task in tasks if task.flag_note]
    if not flagged:
        return {}
    stored: dict[str, list[ReferralFlag]] = defaultdict(list)
    consults = {task.consult_id for task in flagged}
    order = (ReferralFlag.consult_id, ReferralFlag.flagged_at, ReferralFlag.kind != "referral-profile",
             ReferralFlag.rule)
    for flag in session.scalars(select(ReferralFlag).where(ReferralFlag.consult_id.in_(consults)).order_by(*order)):
        stored[flag.consult_id].append(flag)
    wanted = {task.consult.agreement_id for task in flagged if task.consult.agreement_id}
    agreements = {a.id: a for a in session.scalars(select(Agreement).where(Agreement.id.in_(wanted)))} if wanted else {}
    notes: dict[str, list[dict[str, Any]]] = {}
    for task in flagged:
        flags = stored.get(task.consult_id)
        agreement = agreements.get(task.consult.agreement_id) if task.consult.agreement_id else None
        notes[task.id] = [translated(agreement_flag_note(agreement, f.kind, f.rule, f.reason, f.similar_total,
                                                         f.similar_converted)) for f in flags] if flags else [
            {"text": line} for line in (task.flag_note or "").splitlines()]
    return notes


CS_OUTCOME = f"{CANONICAL_BASE}/CodeSystem/triage-consult-outcome"
CS_MESSAGE_CATEGORY = f"{CANONICAL_BASE}/CodeSystem/triage-message-category"


def message_to_fhir(message: ConsultMessage, task_id: str) -> dict[str, Any]:
    """A thread message as a Communication (profile triage-consult-message)."""
    # The patient's own photos (consults/patient_photos.py) come from the patient, not a practitioner.
    party: dict[str, Any] = {"type": "Patient" if message.sender_role == "patient" else "PractitionerRole",
                             "display": message.sender_name}
    if message.sender_agb:
        party["identifier"] = {"system": AGB, "value": message.sender_agb}
    body: dict[str, Any] = {
        "resourceType": "Communication",
        "id": message.id,
        "meta": {"versionId": "1", "lastUpdated": instant(message.sent_at), "profile": [PROFILE_CONSULT_MESSAGE]},
        "basedOn": [{"reference": f"ServiceRequest/{message.consult_id}"}],
        "partOf": [{"reference": f"Task/{task_id}"}],
        "status": "completed",
        "category": [{"coding": [{"system": CS_MESSAGE_CATEGORY, "code": message.category.value,
                                  "display": registry().display(CS_MESSAGE_CATEGORY, message.category.value)
                                  or message.category.value}]}],
        "sent": instant(message.sent_at),
        "sender": party,
        "payload": ([{"contentString": message.text}] if message.text else [])
        + [{"contentReference": {"reference": f"DocumentReference/{d}"}} for d in message.document_ids or []],
    }
    if message.in_response_to_id:
        body["inResponseTo"] = [{"reference": f"Communication/{message.in_response_to_id}"}]
    session = object_session(message)
    behalf = on_behalf_extension(session, message.id) if session is not None and message.category.value == "advice" \
        else None
    if behalf is not None:
        body["extension"] = [behalf]  # sent by the member on behalf of the expertise team (fhir/teams.py)
    return body


def _outputs(consult: Consult, letter_id: str | None) -> list[dict[str, Any]]:
    """The answer as Task.output (FHIR.md: advice, outcome code, whether it became a referral)."""
    outputs: list[dict[str, Any]] = [
        {"type": {"text": "outcome"}, "valueCodeableConcept": {"coding": [
            {"system": CS_OUTCOME, "code": consult.outcome,
             "display": registry().display(CS_OUTCOME, consult.outcome or "") or consult.outcome}]}},
        # True only once there is a referral: the GP's own referral accepted in triage, or a consult the GP
        # authorised to convert; a proposal the GP has yet to decide on is not one (fhir/referral.py).
        {"type": {"text": "converted-to-referral"}, "valueBoolean": bool(consult.converted_to_referral) and (
            consult.is_referral_for_triage or bool(consult.conversion_authorised))},
    ]
    advice = next((m for m in reversed(consult.messages) if m.category.value == "advice"), None)
    if advice is not None:
        outputs.append({"type": {"text": "advice"}, "valueString": advice.text})
        outputs.append({"type": {"text": "advice-message"},
                        "valueReference": {"reference": f"Communication/{advice.id}"}})
    if consult.referral_specialism:
        outputs.append({"type": {"text": "referral-specialism"}, "valueString": consult.referral_specialism})
    if consult.referral_urgency:
        outputs.append({"type": {"text": "referral-urgency"}, "valueCode": consult.referral_urgency})
    if consult.converted_to_referral:
        # A meekijkconsult that became a referral has a referral ServiceRequest derived from it
        # (fhir/referral.py). A referral sent for triage and accepted already *is* the referral: its own
        # ServiceRequest stays active for the hospital to perform, so pointing at a derived copy (with the
        # same business identifier) would make the GP system see two referrals for one patient.
        target = consult.id if consult.is_referral_for_triage else f"{consult.id}-referral"
        outputs.append({"type": {"text": "referral-request"},
                        "valueReference": {"reference": f"ServiceRequest/{target}"}})
    if letter_id:
        # The letter for the patient's record (a PDF DocumentReference); only the current version: a replaced
        # one is reached through the current one's relatesTo.
        outputs.append({"type": {"text": "consult-report"},
                        "valueReference": {"reference": f"DocumentReference/{letter_id}"}})
    return outputs


def searchset(entries: list[dict[str, Any]], total: int | None, self_url: str, next_url: str | None,
              base_url: str, included: list[dict[str, Any]] | None = None,
              outcome: dict[str, Any] | None = None) -> dict[str, Any]:
    """A search result Bundle; without a total when the client asked _total=none, and with an OperationOutcome
    entry (search.mode outcome) when the search left something out."""
    links = [{"relation": "self", "url": self_url}]
    if next_url:
        links.append({"relation": "next", "url": next_url})
    rendered = [{"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r,
                 "search": {"mode": "match"}} for r in entries]
    rendered += [{"fullUrl": f"{base_url}/{r['resourceType']}/{r['id']}", "resource": r,
                  "search": {"mode": "include"}} for r in included or []]
    if outcome is not None:
        rendered.append({"resource": outcome, "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if total is not None:
        bundle["total"] = total
    if rendered:
        bundle["entry"] = rendered  # FHIR forbids empty arrays
    return bundle
