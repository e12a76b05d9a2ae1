"""A second opinion pool for the answer norm (issue 23, point 4): dermatologie.yaml names Ziekenhuis Maasstad-Zuid
(dr. M. de Wit, fee 60,00) as its backup; a routine consult overflows there when none of Rivierenland's
dermatologists is available, or when half its norm passed and nobody took it.

By hand: submitted Monday 23 November 2026 10:00 (Dutch time), the norm of two working days ends Wednesday 10:00;
that window holds 18 working hours (Monday 7, Tuesday 9, Wednesday 2). Half of it is left at Tuesday 10:00
(Tuesday 7 + Wednesday 2 = 9 hours): the consult overflows from that moment, not a minute before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_agreements import _import, _line_of
from tests.test_first_line import answer_as
from tests.web.test_inbox import log_in
from triage_service.agreements.absences import add_absence
from triage_service.agreements.importer import import_agreements
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_scope
from triage_service.demo import DEMO_PRACTICE_USERS
from triage_service.models import Agreement, AuditEntry, DeadlineEvent, Organisation, Overflow
from triage_service.reports import declarations
from triage_service.reports.periods import Month
from triage_service.reports.statements import statement, statements
from triage_service.routing.deadlines import run_deadline_jobs

AMS = ZoneInfo("Europe/Amsterdam")
SUBMITTED = datetime(2026, 11, 23, 10, 0, tzinfo=AMS)
HALF_NORM = datetime(2026, 11, 24, 10, 0, tzinfo=AMS)
DE_WIT, MAASSTAD = "03100031", "06030001"
AGREEMENTS = Path(__file__).resolve().parent.parent / "config" / "agreements"
DERMATOLOGY = (AGREEMENTS / "dermatologie.yaml").read_text(encoding="utf-8")


def submit(gp: GPSystem, clock: FrozenClock, request: dict[str, Any], at: datetime = SUBMITTED, **changes: Any
           ) -> str:
    clock.now = at
    gp._tokens.clear()
    response = gp.post("/fhir/ServiceRequest", new_request(request, authoredOn=at.isoformat(), **changes))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def run(app: Flask, clock: FrozenClock, at: datetime) -> int:
    clock.now = at
    with session_scope(app) as session:
        return run_deadline_jobs(session, at.astimezone(UTC)).overflowed


def task_of(gp: GPSystem, consult_id: str, language: str = "nl") -> dict[str, Any]:
    gp._tokens.clear()
    found: dict[str, Any] = gp.get(f"/fhir/Task?focus={consult_id}", **{"Accept-Language": language}
                                   ).get_json()["entry"][0]["resource"]
    return found


def test_a_routine_consult_overflows_to_the_backup_once_half_its_norm_passed_untaken(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request)
    local_owner = task_of(gp, consult_id)["owner"]["identifier"]["value"]

    assert run(app, clock, HALF_NORM - timedelta(minutes=1)) == 0
    assert run(app, clock, HALF_NORM) == 1
    assert run(app, clock, HALF_NORM + timedelta(hours=1)) == 0  # once

    task = task_of(gp, consult_id, "en")
    assert task["owner"]["identifier"]["value"] == DE_WIT
    assert task["status"] == "accepted"  # the owner changed, not the status: no statusReason
    assert "statusReason" not in task
    note = next(n for n in task["note"] if n["text"].startswith("Backup"))
    assert note["text"] == ("Backup: the consult went to dr. M. de Wit (dermatoloog) of Ziekenhuis Maasstad-Zuid "
                            "because 50% of the answer norm passed and the own specialists had not taken the "
                            "consult.")
    assert note["authorReference"]["identifier"]["value"] == MAASSTAD
    from triage_service.fhir.profiles import PROFILE_CONSULT_TASK, registry

    assert registry().validate(task, PROFILE_CONSULT_TASK) == []
    assert task_of(gp, consult_id)["note"][-1]["text"].startswith(
        "Achtervang: het consult ging naar dr. M. de Wit (dermatoloog) van Ziekenhuis Maasstad-Zuid omdat 50% van de "
        "antwoordnorm verstreken was")
    with session_scope(app) as session:
        overflow = session.scalars(select(Overflow)).one()
        assert (overflow.reason, overflow.share_percent, overflow.from_owner_agb, overflow.fee_cents) == (
            "norm-share-passed", 50, local_owner, 6000)
        event = session.scalars(select(DeadlineEvent).where(DeadlineEvent.kind == "overflow")).one()
        assert (event.from_owner_agb, event.to_owner_agb) == (local_owner, DE_WIT)
        audit = session.scalars(select(AuditEntry).where(AuditEntry.event == "routing.overflow")).one()
        assert f"to=practitioner:{DE_WIT}" in (audit.detail or "")


def test_the_backup_specialist_reads_in_the_inbox_why_the_consult_came_to_them(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    from tests.test_first_line import ACCOUNTS

    consult_id = submit(gp, clock, consult_request)
    run(app, clock, HALF_NORM)
    client = app.test_client()
    username, _, _, secret = ACCOUNTS["dermatoloog-maasstad"]
    assert log_in(client, clock, username=username, secret=secret).status_code == 302

    page = client.get(f"/consults/{consult_id}").get_data(as_text=True)

    assert ("Overgedragen aan dr. M. de Wit (dermatoloog) van Ziekenhuis Maasstad-Zuid, de achtervang van afspraak "
            "MKC-DERM: 50% van de antwoordnorm is verstreken en niemand heeft het consult van") in page


def test_a_consult_a_specialist_took_does_not_overflow(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    from triage_service.consults.specialist import take
    from triage_service.models import ConsultTask, User
    from triage_service.security.web_auth import inbox_user

    consult_id = submit(gp, clock, consult_request, performer=[{"identifier": {
        "system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}])
    with session_scope(app) as session:
        visser = inbox_user(session, session.scalars(select(User.id).where(User.username == "dermatoloog")).one())
        assert visser is not None
        take(session.scalars(select(ConsultTask)).one(), visser, SUBMITTED + timedelta(hours=1))

    assert run(app, clock, HALF_NORM + timedelta(hours=3)) == 0
    assert task_of(gp, consult_id)["owner"]["identifier"]["value"] == "03100001"


def test_an_urgent_consult_never_overflows(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request, priority="urgent")
    assert run(app, clock, SUBMITTED + timedelta(hours=5)) == 0
    assert task_of(gp, consult_id)["owner"]["identifier"]["value"] != DE_WIT


def test_a_consult_overflows_at_once_when_none_of_the_own_specialists_is_available(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    with session_scope(app) as session:
        for agb in ("03100001", "03100002"):
            add_absence(session, CLI_ACTOR, agb=agb, starts_at=SUBMITTED - timedelta(days=1), ends_at=None)
    consult_id = submit(gp, clock, consult_request)
    assert task_of(gp, consult_id)["owner"]["identifier"]["value"] == "06010001"  # Rivierenland's queue

    assert run(app, clock, SUBMITTED + timedelta(minutes=1)) == 1

    assert task_of(gp, consult_id)["owner"]["identifier"]["value"] == DE_WIT
    with session_scope(app) as session:
        assert session.scalars(select(Overflow.reason)).one() == "nobody-available"


def test_an_overflowed_consult_past_its_due_time_stays_with_the_backup(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request)
    run(app, clock, HALF_NORM)
    clock.now = datetime(2026, 11, 25, 10, 1, tzinfo=AMS)
    with session_scope(app) as session:
        assert run_deadline_jobs(session, clock.now.astimezone(UTC)).escalated == 1
    # Dr. de Wit is Maasstad-Zuid's only backup dermatologist: it goes to Maasstad-Zuid's queue, not back.
    assert task_of(gp, consult_id)["owner"]["identifier"]["value"] == MAASSTAD


def test_the_backup_specialist_answers_and_the_gp_sees_who_and_why(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request)
    run(app, clock, HALF_NORM)

    assert answer_as(app, clock, "dermatoloog-maasstad", consult_id).status_code == 302

    portal = app.test_client()
    user = DEMO_PRACTICE_USERS[0]
    log_in(portal, clock, username=user[0], secret=user[4])
    page = portal.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)
    assert ("Beantwoord door dr. M. de Wit (dermatoloog) van Ziekenhuis Maasstad-Zuid (achtervang: de eigen "
            "specialisten konden de norm niet halen), omdat 50% van de antwoordnorm") in page
    assert "<dt>Achtervang</dt>" in page


@pytest.fixture
def payee_subcontractor(app: Flask) -> Any:
    """MKC-DERM declared by the zorggroep with the subcontractor as payee, for one test (then as the file says)."""
    with session_scope(app) as session:
        agreement = session.scalars(select(Agreement).where(Agreement.code == "MKC-DERM")).one()
        before = agreement.declaration
        agreement.declaration = {"declarant": "zorggroep", "payee": "subcontractor", "kind": "S3",
                                 "attestations": []}
    yield
    with session_scope(app) as session:
        session.scalars(select(Agreement).where(Agreement.code == "MKC-DERM")).one().declaration = before


def test_the_backup_organisation_is_paid_for_the_consult_it_answered_not_the_local_one(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict, payee_subcontractor: Any) -> None:
    overflowed = submit(gp, clock, consult_request)
    run(app, clock, HALF_NORM)
    local = submit(gp, clock, consult_request, at=HALF_NORM + timedelta(minutes=5), performer=[{"identifier": {
        "system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}])
    clock.now = HALF_NORM + timedelta(hours=2)
    assert answer_as(app, clock, "dermatoloog-maasstad", overflowed).status_code == 302
    assert answer_as(app, clock, "dermatoloog", local).status_code == 302
    clock.now = datetime(2026, 12, 1, 10, 0, tzinfo=AMS)

    with session_scope(app) as session:
        zorggroep = session.scalars(select(Organisation).where(Organisation.agb == "07300001")).one()
        paid = {s["subcontractor_agb"]: (s["consults"], s["total_cents"])
                for s in statements(session, zorggroep.id, Month(2026, 11))}
        lines = statement(session, zorggroep.id, Month(2026, 11), MAASSTAD).lines
        batch = declarations.close_month(session, CLI_ACTOR, "test", zorggroep.id, "3311", Month(2026, 11),
                                         clock.now)
        payees = {line.consult_id: (line.declarant_agb, line.payee_agb, line.amount_cents) for line in batch.lines}

    # Maasstad-Zuid 60,00 for its one consult; Rivierenland 55,00 for its own, nothing for the overflowed one.
    assert paid == {MAASSTAD: (1, 6000), "06010001": (1, 5500)}
    assert [(line.consult_id, line.specialist_agb, line.fee_cents) for line in lines] == [(overflowed, DE_WIT, 6000)]
    # The zorggroep still declares its tariff; the payee is the organisation that did the work.
    assert payees == {overflowed: ("07300001", MAASSTAD, 7500), local: ("07300001", "06010001", 7500)}


@pytest.mark.parametrize(("change", "needle", "field", "message"), [
    (("na_aandeel_norm_procent: 50", "na_aandeel_norm_procent: 150"), "na_aandeel_norm_procent",
     "achtervang.overloop.na_aandeel_norm_procent", "een percentage van de norm in hele procenten"),
    (("na_aandeel_norm_procent: 50", "na_aandeel_procent: 50"), "na_aandeel_procent",
     "achtervang.overloop.na_aandeel_procent", "Unknown field"),
    (("vergoeding_per_consult_cents: 6000", "vergoeding_per_consult_cents: 60.00"), "vergoeding_per_consult_cents",
     "achtervang.vergoeding_per_consult_cents", "de vergoeding per consult in hele centen"),
    (("bij_niemand_beschikbaar: true\n    na_aandeel_norm_procent: 50", "bij_niemand_beschikbaar: false"),
     "overloop:", "achtervang.overloop", "noem wanneer een consult overloopt"),
    (('{agb: "06030001", name: Ziekenhuis Maasstad-Zuid}', '{agb: "06010001", name: Ziekenhuis Maasstad-Zuid}'),
     "organisatie:", "achtervang.organisatie.agb", "een andere organisatie dan de onderaannemer"),
    (('{agb: "03100031", name: dr. M. de Wit (dermatoloog), specialism: "0310"}',
      '{agb: "03100031", name: dr. M. de Wit (dermatoloog), specialism: "0320"}'),
     'specialism: "0320"', "achtervang.specialisten.0.specialism", "geen profiel van de afspraak vraagt om 0320"),
    (('{agb: "03100031", name: dr. M. de Wit', '{agb: "03100001", name: dr. M. de Wit'),
     '{agb: "03100001", name: dr. M. de Wit', "achtervang.specialisten.0.agb", "antwoordt al onder de afspraak"),
])
def test_a_bad_backup_block_is_refused_with_its_line(app: Flask, tmp_path: Path, change: tuple[str, str],
                                                     needle: str, field: str, message: str) -> None:
    old, new = change
    assert old in DERMATOLOGY
    text = DERMATOLOGY.replace(old, new)
    error = _import(app, tmp_path, text)
    assert [(e.line, e.field) for e in error.errors] == [(_line_of(text, needle), field)]
    assert message in error.errors[0].message


def test_adding_a_backup_to_an_agreement_in_use_keeps_its_version_and_consults(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict, tmp_path: Path) -> None:
    consult_id = submit(gp, clock, consult_request)
    start, end = DERMATOLOGY.index("achtervang:"), DERMATOLOGY.index("specialists:")
    without = DERMATOLOGY[:start] + DERMATOLOGY[end:]
    file = tmp_path / "dermatologie.yaml"
    try:
        for text in (without, DERMATOLOGY):
            file.write_text(text, encoding="utf-8")
            with session_scope(app) as session:
                import_agreements(session, file)
                agreement = session.scalars(select(Agreement).where(Agreement.code == "MKC-DERM")).one()
                assert bool(agreement.backup) is (text == DERMATOLOGY)
    finally:
        file.write_text(DERMATOLOGY, encoding="utf-8")
        with session_scope(app) as session:
            import_agreements(session, file)
    with session_scope(app) as session:
        from triage_service.models import Consult

        consult = session.get(Consult, consult_id)
        assert consult is not None and consult.agreement_id == agreement.id
