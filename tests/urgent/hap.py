"""The out-of-hours post (HAP) as the tests drive it: its GP system and its consult requests."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service.database import session_scope
from triage_service.models import OnCallShift, Organisation, Practitioner

AGB = "http://fhir.nl/fhir/NamingSystem/agb-z"
HAP_AGB, HAP_GP_AGB = "04010001", "01045678"
MULDER, KOK = "03200001", "03200002"
#: Huisartsenpraktijk De Linde: the patient's own practice.
OWN_PRACTICE = "03012345"


def hap_system(app: Flask, clock: FrozenClock) -> GPSystem:
    """The GP system of Huisartsenpost Rijnmond (the demo's third client)."""
    demo = next(c for c in app.extensions["test.demo_clients"] if c.client_id.endswith(HAP_AGB))
    return GPSystem(app.test_client(), demo, clock)


def hap_request(consult_request: dict[str, Any], *, priority: str = "urgent", specialism: str = "0320",
                icpc: str = "K77", own_practice: str | None = OWN_PRACTICE, **changes: Any) -> dict[str, Any]:
    """A consult request as the post's GP sends it: the post as requester, the patient's own practice named."""
    text = json.dumps(consult_request).replace('"03012345"', f'"{HAP_AGB}"').replace('"01012345"', f'"{HAP_GP_AGB}"')
    body = new_request(json.loads(text), priority=priority, **changes)
    body["performerType"] = {"coding": [{"system": "urn:oid:2.16.840.1.113883.2.4.6.7", "code": specialism}]}
    body["reasonCode"] = [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": icpc}]}]
    patient = next(c for c in body["contained"] if c["resourceType"] == "Patient")
    if own_practice is not None:
        patient["generalPractitioner"] = [{"type": "Organization",
                                           "identifier": {"system": AGB, "value": own_practice}}]
    return body


def put_on_call(app: Flask, starts: datetime, ends: datetime, on_call: str = MULDER, backup: str = KOK,
                specialism: str = "0320") -> None:
    """A shift of Ziekenhuis Rivierenland's rota (the rota's own import is tested in tests/test_rota*)."""
    with session_scope(app) as session:
        hospital = session.scalar(select(Organisation).where(Organisation.agb == "06010001"))
        duty = session.scalar(select(Practitioner).where(Practitioner.agb == on_call))
        second = session.scalar(select(Practitioner).where(Practitioner.agb == backup))
        assert hospital is not None and duty is not None and second is not None
        session.add(OnCallShift(organisation_id=hospital.id, specialism=specialism, practitioner_id=duty.id,
                                backup_practitioner_id=second.id, starts_at=starts, ends_at=ends, source="inbox"))
