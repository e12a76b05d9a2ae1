"""The country's consults, generated and loaded with COPY for benchmarks/national.py (issue 25, point 3).

Rows are made as the service stores them and loaded with the service's own COPY (``database.append_rows``):
every column passes through its SQLAlchemy type's bind processing (so the patient's resource, the consult, the
advice and the routing reason are encrypted with the instance's field keys, AES-GCM with a fresh nonce each), the
BSN's blind index is the service's, the monitoring's fact row comes from ``reports.facts.fact_values`` and every
audit entry is hashed into the chain with ``audit.chain.entry_digest``
under the instance's audit key, so ``triage-service audit verify`` holds for the generated trail too.

What one consult brings: its consult row (the GP's request as FHIR, encrypted), its HIS identifier, its Task, the
routing decision with three candidates, the monitoring's fact row, the specialist's advice (and for one in five a
question and the GP's answer), a Patient resource for two consults out of three (a third is a patient's second
consult at the same practice), and seven audit entries: the GP system's create of the request and the Task, the
routing, the specialist opening it, the advice, and the GP system reading the Task and the advice.

Consult ``i`` is a pure function of ``i`` and the seed, so two processes can each load a slice, and the audit
entries (one chain, so one process) name the same consults, patients and practices as the slices.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"
OUTCOMES = ["primary-care-advice"] * 6 + ["referral-indicated"] * 2 + ["ecms", "not-suitable"]
FORMS = ["e-consult"] * 6 + ["intercollegial-consult", "video-consult", "ecms"]
ADVICE = ("Beeld past bij een seborroïsche keratose. Geen aanwijzingen voor maligniteit. Uitleg gegeven over het "
          "beloop; bij groei, bloeden of verandering van kleur opnieuw beoordelen of alsnog verwijzen. ") * 3
QUESTION = "Kunt u aangeven sinds wanneer de afwijking bestaat en of deze recent veranderd is?"
ANSWER = "Sinds ongeveer een jaar, de laatste twee maanden iets gegroeid en soms jeukend."
AUDIT_PER_CONSULT = 7


def _uuid(kind: int, n: int) -> str:
    """A stable UUID for the n-th thing of a kind (consult, task, patient...), the same in every process."""
    return str(uuid.UUID(int=(kind << 96) | (0x4000 << 64) | n))


@dataclass(frozen=True)
class World:
    """What the generated consults refer to: made once by national.py, read by every loading process."""

    start: datetime
    end: datetime
    consults: int
    #: (organisation id, AGB) per practice; practice 0 is the demo's De Linde, whose GP system the benchmark uses.
    practices: list[tuple[str, str]]
    #: Per zorggroep: its id and its agreements as (id, specialism, profile id).
    zorggroepen: list[tuple[str, list[tuple[str, str, str]]]]
    #: (AGB, name) per specialist; specialist 0 is the demo's dr. Visser, whose inbox the benchmark opens.
    specialists: list[tuple[str, str]]
    client_pk: str
    #: The last ``burst`` consults are one zorggroep's (zorggroep 0), all for insurer 3311 and answered in
    #: ``burst_month``: the month of 100,000 declaration lines the issue asks to close.
    burst: int
    burst_month: tuple[datetime, datetime]
    seed: int = 25

    def as_json(self) -> str:
        return json.dumps({**self.__dict__, "start": self.start.isoformat(), "end": self.end.isoformat(),
                           "burst_month": [m.isoformat() for m in self.burst_month]})

    @staticmethod
    def from_json(text: str) -> World:
        raw = json.loads(text)
        raw["start"], raw["end"] = datetime.fromisoformat(raw["start"]), datetime.fromisoformat(raw["end"])
        raw["burst_month"] = tuple(datetime.fromisoformat(m) for m in raw["burst_month"])
        raw["practices"] = [tuple(p) for p in raw["practices"]]
        raw["specialists"] = [tuple(s) for s in raw["specialists"]]
        raw["zorggroepen"] = [(z, [tuple(a) for a in agreements]) for z, agreements in raw["zorggroepen"]]
        return World(**raw)

    def patient_of(self, i: int) -> int:
        """Every third consult is the previous consult's patient again (a second question about them)."""
        return i - (i + 1) // 3

    def practice_of_patient(self, n: int) -> int:
        return ((n * 2654435761) >> 16) % len(self.practices)  # scattered, and not by the parity of n

    def created_at(self, i: int) -> datetime:
        if i >= self.consults - self.burst:
            first, last = self.burst_month
            span = (last - first).total_seconds() - 3 * 86400
            return first + timedelta(seconds=span * (i - (self.consults - self.burst)) / max(1, self.burst))
        span = (self.burst_month[0] - self.start).total_seconds()
        return self.start + timedelta(seconds=span * i / max(1, self.consults - self.burst))


def _patient(bsn: str, n: int, rng: random.Random) -> dict[str, Any]:
    return {"resourceType": "Patient",
            "identifier": [{"system": "http://fhir.nl/fhir/NamingSystem/bsn", "value": bsn}],
            "name": [{"family": f"Achternaam{n % 9973}", "given": [rng.choice(["Anna", "Jan", "Fatima", "Daan"])]}],
            "gender": rng.choice(["female", "male"]), "birthDate": f"{1940 + n % 70}-0{1 + n % 9}-1{n % 10}",
            "address": [{"postalCode": f"{1000 + n % 8999}AB", "city": "Utrecht"}]}


def bsn_of(n: int) -> str:
    """A BSN that passes the eleven-test, distinct per patient number (the last digit balances the sum)."""
    digits = [int(d) for d in f"{100000000 + n * 7 % 800000000:09d}"[:8]]
    total = sum(d * w for d, w in zip(digits, range(9, 1, -1), strict=True))
    for last in range(10):
        if (total - last) % 11 == 0:
            return "".join(map(str, digits)) + str(last)
    return bsn_of(n + 1_000_000_007)  # no digit balances this prefix: take another number


def consult_rows(world: World, i: int, template: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every table's rows for consult ``i`` (as Python values; Copier binds them)."""
    from triage_service.encryption.fields import blind_index
    from triage_service.models import TaskStatus
    from triage_service.reports.facts import fact_values

    rng = random.Random(world.seed * 1_000_003 + i)
    patient_n = world.patient_of(i)
    practice_id, practice_agb = world.practices[world.practice_of_patient(patient_n)]
    burst = i >= world.consults - world.burst
    zorggroep_id, agreements = world.zorggroepen[0 if burst else world.practice_of_patient(patient_n)
                                                 % len(world.zorggroepen)]
    agreement_id, specialism, profile_id = agreements[rng.randrange(len(agreements))]
    owner_agb, owner_name = world.specialists[(i * 7919) % len(world.specialists)]
    created = world.created_at(i)
    open_now = created > world.end - timedelta(days=3)
    declined = not open_now and rng.random() < 0.03
    completed = None if open_now or declined else created + timedelta(hours=min(140.0, rng.expovariate(1 / 20)))
    if burst:
        completed = created + timedelta(hours=rng.uniform(1, 48))
    status = TaskStatus.REJECTED if declined else (TaskStatus.COMPLETED if completed else TaskStatus.ACCEPTED)
    cid, tid, pid = _uuid(1, i), _uuid(2, i), _uuid(3, patient_n)
    bsn = bsn_of(patient_n)
    rows: dict[str, list[dict[str, Any]]] = {}
    if patient_n != world.patient_of(i - 1) or i == 0:  # the patient's first consult brings the Patient
        rows["stored_resources"] = [{
            "id": pid, "resource_type": "Patient", "organisation_id": practice_id,
            "identifier_token": blind_index("http://fhir.nl/fhir/NamingSystem/bsn", bsn), "version_id": 1,
            "resource": {**_patient(bsn, patient_n, rng), "id": pid, "meta": {"versionId": "1"}},
            "created_at": created, "updated_at": created}]
    resource = copy.copy(template)  # shallow: only the top-level fields below differ per consult
    resource.update(id=cid, identifier=[{"system": "urn:oid:2.16.840.1.113883.2.4.6.1.99", "value": f"HIS-{i}"}],
                    authoredOn=created.isoformat(), subject={"reference": f"Patient/{pid}"})
    priority = "urgent" if rng.random() < 0.08 else "routine"
    outcome = None if not completed else ("not-suitable" if declined else rng.choice(OUTCOMES))
    consult = SimpleNamespace(
        id=cid, organisation_id=practice_id, client_pk=world.client_pk,
        status="completed" if completed else "active", category="meekijkconsult", consult_form=rng.choice(FORMS),
        specialism=specialism, priority=priority, authored_at=created, gp_intent=rng.choice(
            ["would-refer", "would-not-refer", "unsure"]), conversion_authorised=True, icpc_codes=["S82"],
        primary_icpc="S82", patient_resource_id=pid, patient_birth_date=datetime(1940 + patient_n % 70, 1, 1).date(),
        patient_gender="female", patient_postcode=None, insurer_uzovi="3311" if burst else rng.choice(
            ["3311", "3311", "3343", "3361", "7029"]), requester_agb=f"01{practice_agb[2:]}",
        patient_practice_agb=None, photo_count=0, agreement_id=agreement_id, profile_id=profile_id, outcome=outcome,
        converted_to_referral=(outcome == "referral-indicated") if completed else None, completed_at=completed,
        appointment_offered_at=None, referral_specialism=None, referral_urgency=None, time_spent_minutes=None,
        answered_by_agb=owner_agb if completed else None, attestations={}, version_id=2 if completed else 1,
        resource=resource, created_at=created, updated_at=completed or created)
    task = SimpleNamespace(
        id=tid, consult_id=cid, organisation_id=practice_id, status=status,
        business_status="advice-given" if completed else ("declined" if declined else "assigned"),
        status_reason=None, owner_kind="practitioner", owner_agb=owner_agb, owner_name=owner_name,
        due_at=created + timedelta(days=2), paused_at=None, urgent=priority == "urgent",
        likely_referral=rng.random() < 0.15, flag_note=None, near_due_flagged_at=None, escalated_at=None,
        overflowed_at=None, version_id=3 if completed else 1, created_at=created, updated_at=completed or created)
    rows["consults"] = [vars(consult)]
    rows["consult_identifiers"] = [{"consult_id": cid, "organisation_id": practice_id,
                                    "system": "urn:oid:2.16.840.1.113883.2.4.6.1.99", "value": f"HIS-{i}"}]
    rows["consult_tasks"] = [vars(task)]
    rows["consult_facts"] = [fact_values(consult, task, zorggroep_id)]  # type: ignore[arg-type]
    candidates = [{"kind": "practitioner", "agb": agb, "name": name, "available": True, "open": rng.randint(0, 9),
                   "urgent_open": 0, "profile": "Volwassenen", "agreement": "MKC", "chosen": agb == owner_agb}
                  for agb, name in (world.specialists[(i * 7919 + k) % len(world.specialists)] for k in range(3))]
    rows["routing_decisions"] = [{
        "id": _uuid(4, i), "consult_id": cid, "agreement_id": agreement_id, "profile_id": profile_id,
        "owner_kind": "practitioner", "owner_agb": owner_agb, "candidates": candidates, "decided_at": created,
        "reason": f"Profile 'Volwassenen' admits the request. Assigned to {owner_name}: fewest open consults."}]
    messages: list[dict[str, Any]] = []
    if completed:
        if rng.random() < 0.2:
            asked = created + (completed - created) / 3
            messages += [
                {"id": _uuid(5, i), "consult_id": cid, "category": "request-for-information",
                 "sender_role": "specialist", "sender_agb": owner_agb, "sender_name": owner_name, "text": QUESTION,
                 "in_response_to_id": None, "document_ids": [], "sent_at": asked},
                {"id": _uuid(6, i), "consult_id": cid, "category": "information-provided", "sender_role": "gp",
                 "sender_agb": None, "sender_name": "huisarts", "text": ANSWER, "in_response_to_id": _uuid(5, i),
                 "document_ids": [], "sent_at": asked + (completed - asked) / 2}]
        messages.append({"id": _uuid(7, i), "consult_id": cid, "category": "advice", "sender_role": "specialist",
                         "sender_agb": owner_agb, "sender_name": owner_name, "text": ADVICE,
                         "in_response_to_id": None, "document_ids": [], "sent_at": completed})
    rows["consult_messages"] = messages
    return rows


def audit_rows(world: World, i: int) -> Iterator[dict[str, Any]]:
    """Consult ``i``'s seven audit entries (without their place in the chain, which the caller gives)."""
    from triage_service.models import AuditAction, AuditOutcome

    rng = random.Random(world.seed * 7_000_003 + i)
    patient_n = world.patient_of(i)
    practice_id, _ = world.practices[world.practice_of_patient(patient_n)]
    created = world.created_at(i)
    cid, tid, pid = _uuid(1, i), _uuid(2, i), _uuid(3, patient_n)
    owner_agb, _ = world.specialists[(i * 7919) % len(world.specialists)]
    later = created + timedelta(hours=rng.uniform(1, 40))
    gp = {"actor_kind": "client", "actor_id": f"his-{practice_id[:8]}", "organisation_id": practice_id,
          "on_behalf_of": f"Organization/{practice_id}", "source_ip": "10.20.30.40"}
    specialist = {"actor_kind": "user", "actor_id": f"spec-{owner_agb}", "organisation_id": None,
                  "on_behalf_of": f"Practitioner/{owner_agb}", "source_ip": "10.50.60.70"}
    entries: list[tuple[Any, ...]] = [
        (created, "fhir.create", AuditAction.CREATE, "ServiceRequest", cid, gp, None),
        (created, "fhir.create", AuditAction.CREATE, "Task", tid, gp, None),
        (created, "routing.assign", AuditAction.EXECUTE, "Task", tid, gp, f"agreement=MKC; owner=practitioner:"
                                                                          f"{owner_agb}"),
        (later - timedelta(minutes=20), "web.consult.view", AuditAction.READ, "ServiceRequest", cid, specialist,
         None),
        (later, "web.advice.give", AuditAction.CREATE, "Communication", _uuid(7, i), specialist, None),
        (later + timedelta(minutes=5), "fhir.read", AuditAction.READ, "Task", tid, gp, None),
        (later + timedelta(minutes=6), "fhir.read", AuditAction.READ, "Communication", _uuid(7, i), gp, None),
    ]
    for at, event, action, rtype, rid, actor, detail in entries:
        yield {"occurred_at": at.astimezone(UTC), "event": event, "action": action, "outcome": AuditOutcome.SUCCESS,
               **actor, "resource_type": rtype, "resource_id": rid, "patient_ref": pid, "detail": detail}
