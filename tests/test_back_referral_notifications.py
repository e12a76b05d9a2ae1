"""Back-referral notifications (issue 23): De Linde's GP system, subscribed to its Tasks, hears through its webhook
that a specialist handed a patient back to the practice and that the specialist answered its question, as it hears
of its consults' Tasks: the same signed id-only Bundle from the same worker, event numbers running on, the focus
naming the back-referral's Task, which it then reads with its own token. Another practice hears nothing of it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fhirpy import SyncFHIRClient
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from tests.conftest import FrozenClock, GPSystem
from tests.test_back_referral import CARDIOLOGIST_AGB, DE_LINDE_AGB, HET_ANKER_AGB, cardiologist, form
from tests.test_notifications import Receiver, deliver, subscribe, subscription
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import back_referrals
from triage_service.database import session_scope
from triage_service.fhir.parsing import parse_resource
from triage_service.models import BackReferral, Notification, Subscription
from triage_service.notifications.criteria import parse_criteria
from triage_service.notifications.signature import HEADER, verify


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    if receiver._server is not None:
        receiver.stop()


@pytest.fixture
def fhir(live_server: str, gp: GPSystem) -> SyncFHIRClient:
    return SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}",
                          extra_headers={"Content-Type": "application/fhir+json"})


def _send(app: Flask, clock: FrozenClock, practice_agb: str = DE_LINDE_AGB) -> tuple[str, str]:
    """The cardiologist hands a patient back; returns (back-referral id, the Task's logical id)."""
    with session_scope(app) as session:
        back = back_referrals.send(session, cardiologist(session), form(practice_agb=practice_agb), CLI_ACTOR,
                                   clock.now)
        session.flush()
        return back.id, f"terugverwijzing-{back.task_id}"


def _answer(app: Flask, clock: FrozenClock, back_id: str) -> None:
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        back_referrals.answer(session, back, "dr. P. Mulder", "Systolisch onder 130 mmHg.", CLI_ACTOR, clock.now)


def _read_focus(fhir: SyncFHIRClient, reference: str) -> tuple[str, str]:
    """What the GP system does on a notification: read the Task it names; (status, business status)."""
    task = fhir.execute(reference.split("/fhir/", 1)[1], method="get")
    return str(task["status"]), str(task["businessStatus"]["coding"][0]["code"])


def test_the_practice_system_hears_of_the_back_referral_and_of_the_specialists_answer(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock) -> None:
    subscription_id, secret = subscribe(fhir, receiver.url)

    back_id, task_id = _send(app, clock)
    deliver(app, clock)
    question = fhir.resource("Communication", status="completed", partOf=[{"reference": f"Task/{task_id}"}],
                             payload=[{"contentString": "Streefwaarde bloeddruk bij deze patiënt?"}])
    question.save()
    deliver(app, clock)
    _answer(app, clock, back_id)
    deliver(app, clock)

    assert all(d.task_reference.endswith(f"/fhir/Task/{task_id}") for d in receiver.deliveries)
    assert [d.event_number for d in receiver.deliveries] == [1, 2, 3]
    assert [d.bundle["entry"][1]["response"]["etag"] for d in receiver.deliveries] == ['W/"1"', 'W/"2"', 'W/"3"']
    # The practice's own question is announced too, as a consult Task's change by the GP system itself is.
    assert _read_focus(fhir, receiver.deliveries[-1].task_reference) == ("requested", "awaiting-practice")
    for delivery in receiver.deliveries:
        assert verify(secret, delivery.body, delivery.headers[HEADER], int(clock.now.timestamp()))
        assert delivery.headers["X-Triage-Subscription"] == subscription_id
        assert delivery.headers["Authorization"] == "Bearer receiver-token-123"


def test_the_notification_is_the_same_valid_id_only_bundle_as_for_a_consult(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock) -> None:
    subscribe(fhir, receiver.url)
    _, task_id = _send(app, clock)
    deliver(app, clock)

    [delivery] = receiver.deliveries
    bundle = delivery.bundle
    assert bundle["type"] == "history"
    assert not [i for i in parse_resource(bundle, "Bundle").issues if i.is_error]
    assert bundle["entry"][1]["request"] == {"method": "PUT", "url": f"Task/{task_id}"}
    assert "resource" not in bundle["entry"][1]  # id-only: no patient data in the push
    assert "999911120" not in delivery.body.decode()
    assert _read_focus(fhir, delivery.task_reference) == ("requested", "awaiting-practice")


def test_a_subscription_without_payload_gets_an_empty_signed_post_for_a_back_referral(
        app: Flask, gp: GPSystem, receiver: Receiver, clock: FrozenClock) -> None:
    body = subscription(receiver.url)
    del body["channel"]["payload"]
    created = gp.post("/fhir/Subscription", body).get_json()
    secret = created["channel"]["extension"][0]["valueString"]
    _send(app, clock)
    deliver(app, clock)

    [delivery] = receiver.deliveries
    assert delivery.body == b""
    assert verify(secret, b"", delivery.headers[HEADER], int(clock.now.timestamp()))


def test_another_practice_hears_only_of_the_back_referral_sent_to_it(
        app: Flask, other_gp: GPSystem, receiver: Receiver, clock: FrozenClock) -> None:
    assert other_gp.post("/fhir/Subscription", subscription(receiver.url)).status_code == 201
    back_id, _ = _send(app, clock)
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        back_referrals.ask(session, back, "dr. A. Jansen", "Welke streefwaarde?", CLI_ACTOR, clock.now)
    _answer(app, clock, back_id)
    deliver(app, clock)
    assert receiver.deliveries == []

    _, het_ankers_task = _send(app, clock, HET_ANKER_AGB)
    deliver(app, clock)
    assert [d.task_reference.rsplit("/", 1)[1] for d in receiver.deliveries] == [het_ankers_task]


def test_criteria_are_matched_on_what_the_back_referral_task_says(app: Flask, clock: FrozenClock) -> None:
    back_id, _ = _send(app, clock)
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        # The owner is the practice and the requester the specialist, as the Task shows them.
        for criteria, matches in [("Task", True), (f"Task?owner={DE_LINDE_AGB}", True),
                                  (f"Task?owner=http://fhir.nl/fhir/NamingSystem/agb-z|{DE_LINDE_AGB}", True),
                                  (f"Task?owner={CARDIOLOGIST_AGB}", False),
                                  (f"Task?requester={CARDIOLOGIST_AGB}", True),
                                  (f"Task?requester={DE_LINDE_AGB}", False),
                                  ("Task?status=requested", True), ("Task?status=on-hold,completed", False),
                                  ("Task?business-status=awaiting-practice", True),
                                  ("Task?business-status=advice-given", False),
                                  # A focus names a consult's ServiceRequest: never a back-referral's Task.
                                  ("Task?focus=ServiceRequest/3f1c2d4e-0000-4000-8000-000000000001", False)]:
            assert parse_criteria(criteria).matches(back) is matches, criteria


def test_a_change_the_task_does_not_show_announces_nothing(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock) -> None:
    subscribe(fhir, receiver.url)
    back_id, _ = _send(app, clock)
    with session_scope(app) as session:
        back = session.get(BackReferral, back_id)
        assert back is not None
        back.accepted_by_name = "dr. A. Jansen"  # no move: the Task's version stays as it was
    with session_scope(app) as session:
        events = session.scalars(select(Notification.task_version).where(Notification.back_referral_id == back_id))
        assert list(events) == [1]


def test_an_outbox_row_names_exactly_one_task(app: Flask, fhir: SyncFHIRClient, receiver: Receiver,
                                              clock: FrozenClock) -> None:
    subscription_id, _ = subscribe(fhir, receiver.url)
    back_id, _ = _send(app, clock)
    with session_scope(app) as session:
        assert session.get(Subscription, subscription_id) is not None
        queued = session.scalars(select(Notification)).one()
        assert (queued.back_referral_id, queued.task_id) == (back_id, None)
    with pytest.raises(IntegrityError), session_scope(app) as session:
        session.add(Notification(subscription_id=subscription_id, event_number=99, task_version=1,
                                 created_at=clock.now))
