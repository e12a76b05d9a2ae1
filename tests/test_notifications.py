"""Webhook notifications: a GP system subscribes (with a real FHIR client library) and a local HTTP
receiver, standing in for its endpoint, gets a signed id-only notification for every change of its
Tasks; a receiver that is down gets them once it is back, and nothing arrives twice."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fhirpy import SyncFHIRClient
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service.attachments.blobs import load_keyring
from triage_service.consults import advice
from triage_service.database import session_scope
from triage_service.fhir.parsing import parse_resource
from triage_service.models import Notification, Subscription, SubscriptionStatus, User
from triage_service.notifications.delivery import DeliveryRun, backoff, deliver_due
from triage_service.notifications.signature import HEADER, verify
from triage_service.notifications.subscriptions import SECRET_EXTENSION
from triage_service.security.web_auth import inbox_user

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
CATEGORY = "https://fhir.triage-service.nl/CodeSystem/triage-message-category"


@dataclasses.dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def bundle(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data

    @property
    def task_reference(self) -> str:
        status = self.bundle["entry"][0]["resource"]
        event = next(p for p in status["parameter"] if p["name"] == "notification-event")
        return str(next(p for p in event["part"] if p["name"] == "focus")["valueReference"]["reference"])

    @property
    def event_number(self) -> int:
        return int(self.headers["X-Triage-Event-Number"])


class Receiver:
    """The GP system's webhook endpoint on a loopback port; it can go down and come back on the same port."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.answer = 200
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/triage"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.answer < 300:
                    receiver.deliveries.append(Delivery(dict(self.headers.items()), body))
                self.send_response(receiver.answer)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()
        self._server = None


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


def later(clock: FrozenClock, gp: GPSystem, fhir: SyncFHIRClient, **delta: float) -> SyncFHIRClient:
    """Time passes; the GP system's short-lived token has expired, so it gets a new one."""
    clock.advance(**delta)
    gp._tokens.clear()
    return SyncFHIRClient(fhir.url, authorization=f"Bearer {gp.token()}",
                          extra_headers={"Content-Type": "application/fhir+json"})


def subscription(endpoint: str, criteria: str = "Task", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resourceType": "Subscription", "status": "requested", "reason": "Keep the HIS up to date",
        "criteria": criteria,
        "channel": {"type": "rest-hook", "endpoint": endpoint, "payload": "application/fhir+json",
                    "header": ["Authorization: Bearer receiver-token-123"]}}
    body.update(changes)
    return body


def subscribe(fhir: SyncFHIRClient, endpoint: str, criteria: str = "Task") -> tuple[str, str]:
    """Subscribes through the FHIR client library; returns (subscription id, signing secret)."""
    created = fhir.execute("Subscription", method="post", data=subscription(endpoint, criteria))
    secret = next(e["valueString"] for e in created["channel"]["extension"] if e["url"] == SECRET_EXTENSION)
    return created["id"], secret


def deliver(app: Flask, clock: FrozenClock) -> DeliveryRun:
    settings = app.extensions["triage.settings"]
    return deliver_due(app.extensions["triage.sessionmaker"], settings, load_keyring(settings), clock)


def _specialist(app: Flask) -> Any:
    with session_scope(app) as session:
        user_id = session.scalar(select(User.id).where(User.username == "dermatoloog"))
        return inbox_user(session, str(user_id))


def _submit(fhir: SyncFHIRClient, consult_request: dict[str, Any]) -> tuple[str, str]:
    body = new_request(consult_request, performer=VISSER)
    body.pop("id")
    consult = fhir.resource("ServiceRequest", **body)
    consult.save()
    task = fhir.resources("Task").search(focus=f"ServiceRequest/{consult.id}").fetch()[0]
    return str(consult.id), str(task.id)


def _reply(consult_id: str, task_id: str, question_id: str) -> dict[str, Any]:
    return {
        "resourceType": "Communication", "status": "completed", "sent": "2026-11-23T10:30:00+01:00",
        "basedOn": [{"reference": f"ServiceRequest/{consult_id}"}], "partOf": [{"reference": f"Task/{task_id}"}],
        "inResponseTo": [{"reference": f"Communication/{question_id}"}],
        "category": [{"coding": [{"system": CATEGORY, "code": "information-provided"}]}],
        "payload": [{"contentString": "Ja, twee keer licht gebloed."}]}


class GPInbox:
    """The GP system's side of the webhook: on each notification it reads the Task it names."""

    def __init__(self, app: Flask, clock: FrozenClock, fhir: SyncFHIRClient, receiver: Receiver):
        self.app, self.clock, self.fhir, self.receiver = app, clock, fhir, receiver
        self.seen: list[tuple[str, str]] = []

    def deliver_and_read(self) -> None:
        already = len(self.seen)
        deliver(self.app, self.clock)
        for delivery in self.receiver.deliveries[already:]:
            task = self.fhir.execute(delivery.task_reference.split("/fhir/", 1)[1], method="get")
            assert delivery.bundle["entry"][1]["response"]["etag"] == f'W/"{task["meta"]["versionId"]}"'
            self.seen.append((task["status"], task["businessStatus"]["coding"][0]["code"]))


def test_the_gp_system_is_notified_of_every_step_of_the_loop(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict) -> None:
    subscription_id, secret = subscribe(fhir, receiver.url)
    his = GPInbox(app, clock, fhir, receiver)

    consult_id, task_id = _submit(fhir, consult_request)
    his.deliver_and_read()
    with session_scope(app) as session:
        question = advice.ask_gp(session, _specialist(app), consult_id, "Is de laesie gebloed?", clock.now)
        question_id = question.id
    his.deliver_and_read()
    fhir.execute("Communication", method="post", data=_reply(consult_id, task_id, question_id))
    his.deliver_and_read()
    with session_scope(app) as session:
        advice.record_advice(session, _specialist(app), consult_id,
                             advice.Advice("Excisie in de eerste lijn.", "primary-care-advice"), clock.now)
    his.deliver_and_read()
    task = fhir.reference("Task", task_id).to_resource()
    task["businessStatus"]["coding"][0]["code"] = "advice-acknowledged"
    fhir.execute(f"Task/{task_id}", method="put", data=task.serialize())
    his.deliver_and_read()

    assert his.seen == [
        ("accepted", "likely-referral"), ("on-hold", "awaiting-gp-information"),
        ("in-progress", "information-received"), ("completed", "advice-given"), ("completed", "advice-acknowledged")]
    assert [d.event_number for d in receiver.deliveries] == [1, 2, 3, 4, 5]
    for delivery in receiver.deliveries:
        assert verify(secret, delivery.body, delivery.headers[HEADER], int(clock.now.timestamp()))
        assert delivery.headers["Authorization"] == "Bearer receiver-token-123"
        assert delivery.headers["X-Triage-Subscription"] == subscription_id
        assert delivery.task_reference.endswith(f"/fhir/Task/{task_id}")


def test_the_gp_system_hears_that_its_consult_became_a_referral_and_fetches_it(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict) -> None:
    subscribe(fhir, receiver.url, "Task?status=completed")
    consult_id, _ = _submit(fhir, consult_request)
    with session_scope(app) as session:
        advice.record_advice(session, _specialist(app), consult_id, advice.Advice(
            "Verdacht voor melanoom: excisie in het ziekenhuis.", "referral-indicated", "0310", "urgent"), clock.now)
    deliver(app, clock)

    [delivery] = receiver.deliveries
    task = fhir.execute(delivery.task_reference.split("/fhir/", 1)[1], method="get")
    assert task["businessStatus"]["coding"][0]["code"] == "converted-to-referral"
    reference = next(o for o in task["output"] if o["type"]["text"] == "referral-request")["valueReference"]
    referral = fhir.execute(reference["reference"], method="get")
    assert referral["basedOn"] == [{"reference": f"ServiceRequest/{consult_id}"}]
    assert referral["priority"] == "urgent"


@pytest.mark.parametrize(("decision", "business_status"), [("accept", "referral-accepted"),
                                                      ("return", "referral-returned")])
def test_the_gp_system_follows_the_triage_of_its_referral(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict,
        decision: str, business_status: str) -> None:
    from tests.test_referral_triage import referral_request

    subscribe(fhir, receiver.url)
    his = GPInbox(app, clock, fhir, receiver)
    body = referral_request(consult_request)
    body.pop("id")
    referral = fhir.resource("ServiceRequest", **body)
    referral.save()
    his.deliver_and_read()
    with session_scope(app) as session:
        if decision == "accept":
            advice.accept_referral(session, _specialist(app), str(referral.id),
                                   advice.ReferralAcceptance("urgent", "Graag binnen twee weken."), clock.now)
        else:
            advice.return_referral(session, _specialist(app), str(referral.id),
                                   advice.ReferralReturn("Lokale therapie intensiveren.", 5), clock.now)
    his.deliver_and_read()
    task = fhir.execute(receiver.deliveries[-1].task_reference.split("/fhir/", 1)[1], method="get")
    task["businessStatus"]["coding"][0]["code"] = "advice-acknowledged"
    fhir.execute(f"Task/{task['id']}", method="put", data=task)
    his.deliver_and_read()

    assert his.seen == [("accepted", "assigned"), ("completed", business_status),
                        ("completed", "advice-acknowledged")]
    messages = fhir.resources("Communication").search(**{"based-on": f"ServiceRequest/{referral.id}"}).fetch()
    assert len(messages) == 1  # the note or the advice, for the GP to read


def test_a_notification_is_an_id_only_history_bundle_that_is_valid_fhir(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict) -> None:
    subscribe(fhir, receiver.url)
    _submit(fhir, consult_request)
    deliver(app, clock)

    bundle = receiver.deliveries[0].bundle
    assert bundle["type"] == "history"
    assert not [i for i in parse_resource(bundle, "Bundle").issues if i.is_error]
    assert "resource" not in bundle["entry"][1]  # id-only: no Task content, let alone patient data
    assert "Patient" not in receiver.deliveries[0].body.decode()


def test_a_tampered_or_replayed_notification_fails_verification(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict) -> None:
    _, secret = subscribe(fhir, receiver.url)
    _submit(fhir, consult_request)
    deliver(app, clock)
    delivery = receiver.deliveries[0]
    now = int(clock.now.timestamp())

    assert verify(secret, delivery.body, delivery.headers[HEADER], now)
    assert not verify(secret, delivery.body + b" ", delivery.headers[HEADER], now)
    assert not verify("another-secret", delivery.body, delivery.headers[HEADER], now)
    assert not verify(secret, delivery.body, delivery.headers[HEADER], now + 3600)  # replayed an hour later


def test_a_receiver_that_is_down_gets_everything_once_it_is_back_and_nothing_twice(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict) -> None:
    subscribe(fhir, receiver.url)
    receiver.stop()
    consult_id, _ = _submit(fhir, consult_request)
    with session_scope(app) as session:
        advice.ask_gp(session, _specialist(app), consult_id, "Is de laesie gebloed?", clock.now)

    run = deliver(app, clock)
    assert (run.delivered, run.failed) == (0, 1)
    assert deliver(app, clock).failed == 0  # backing off: no new attempt before the retry time
    clock.advance(seconds=11)
    assert deliver(app, clock).failed == 1

    receiver.start()  # back, on the same port
    clock.advance(seconds=21)
    assert deliver(app, clock).delivered == 2
    clock.advance(hours=2)
    assert deliver(app, clock).delivered == 0
    assert [d.event_number for d in receiver.deliveries] == [1, 2]


def test_a_subscription_that_keeps_failing_goes_to_error_and_resumes_without_losing_events(
        app: Flask, gp: GPSystem, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    subscription_id, _ = subscribe(fhir, receiver.url)
    receiver.answer = 503
    _submit(fhir, consult_request)
    max_failures = app.extensions["triage.settings"].notification_max_failures
    for _ in range(max_failures):
        deliver(app, clock)
        fhir = later(clock, gp, fhir, hours=1)
    stored = fhir.reference("Subscription", subscription_id).to_resource()
    assert stored["status"] == "error"
    assert "HTTP 503" in stored["error"]
    _submit(fhir, consult_request)  # events keep being kept while in error
    assert deliver(app, clock).failed == 0  # nothing is attempted while in error

    receiver.answer = 200
    stored["status"] = "requested"
    resumed = fhir.execute(f"Subscription/{subscription_id}", method="put", data=stored.serialize())
    assert resumed["status"] == "active" and "error" not in resumed
    assert deliver(app, clock).delivered == 2
    assert [d.event_number for d in receiver.deliveries] == [1, 2]


def test_two_workers_at_once_deliver_each_notification_once(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict) -> None:
    subscribe(fhir, receiver.url)
    for _ in range(4):
        _submit(fhir, consult_request)
    runs: list[DeliveryRun] = []
    workers = [threading.Thread(target=lambda: runs.append(deliver(app, clock))) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert sorted(d.event_number for d in receiver.deliveries) == [1, 2, 3, 4]
    assert sum(r.delivered for r in runs) == 4


def test_criteria_choose_which_changes_are_notified(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock, consult_request: dict) -> None:
    subscribe(fhir, receiver.url, "Task?status=on-hold,completed")
    his = GPInbox(app, clock, fhir, receiver)
    consult_id, _ = _submit(fhir, consult_request)
    with session_scope(app) as session:
        advice.ask_gp(session, _specialist(app), consult_id, "Is de laesie gebloed?", clock.now)
    his.deliver_and_read()

    assert his.seen == [("on-hold", "awaiting-gp-information")]


def test_another_practice_hears_nothing_of_these_tasks(
        app: Flask, fhir: SyncFHIRClient, other_gp: GPSystem, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    response = other_gp.post("/fhir/Subscription", subscription(receiver.url))
    assert response.status_code == 201
    _submit(fhir, consult_request)
    deliver(app, clock)

    assert receiver.deliveries == []


def test_a_rolled_back_change_announces_nothing(
        app: Flask, gp: GPSystem, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    subscribe(fhir, receiver.url)
    bad = new_request(consult_request)
    bad["reasonCode"][0]["coding"][0]["code"] = "X99"  # no agreement covers it: refused, nothing stored
    assert gp.post("/fhir/ServiceRequest", bad).status_code == 422
    deliver(app, clock)

    assert receiver.deliveries == []
    with session_scope(app) as session:
        assert session.scalars(select(Notification)).all() == []


def test_a_subscription_without_payload_gets_an_empty_signed_post(
        app: Flask, gp: GPSystem, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    body = subscription(receiver.url)
    del body["channel"]["payload"]
    created = gp.post("/fhir/Subscription", body).get_json()
    secret = created["channel"]["extension"][0]["valueString"]
    _submit(fhir, consult_request)
    deliver(app, clock)

    delivery = receiver.deliveries[0]
    assert delivery.body == b""
    assert verify(secret, b"", delivery.headers[HEADER], int(clock.now.timestamp()))


def test_reading_a_subscription_never_shows_its_secret_or_header_values(gp: GPSystem, receiver: Receiver) -> None:
    created = gp.post("/fhir/Subscription", subscription(receiver.url)).get_json()
    read = gp.get(f"/fhir/Subscription/{created['id']}").get_json()

    assert "extension" not in read["channel"]
    assert read["channel"]["header"] == ["Authorization: ***"]
    assert read["status"] == "active"
    listed = gp.get("/fhir/Subscription?status=active").get_json()
    assert [e["resource"]["id"] for e in listed["entry"]] == [created["id"]]


def test_an_update_that_sends_the_masked_header_back_keeps_its_value(
        app: Flask, gp: GPSystem, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    created = gp.post("/fhir/Subscription", subscription(receiver.url)).get_json()
    read = gp.get(f"/fhir/Subscription/{created['id']}").get_json()
    read["reason"] = "Updated reason"
    assert gp.put(f"/fhir/Subscription/{created['id']}", read, **{"If-Match": 'W/"1"'}).status_code == 200
    _submit(fhir, consult_request)
    deliver(app, clock)

    assert receiver.deliveries[0].headers["Authorization"] == "Bearer receiver-token-123"


def test_the_signing_secret_is_stored_encrypted(app: Flask, gp: GPSystem, receiver: Receiver) -> None:
    created = gp.post("/fhir/Subscription", subscription(receiver.url)).get_json()
    secret = created["channel"]["extension"][0]["valueString"]
    with session_scope(app) as session:
        stored = session.get(Subscription, created["id"])
        assert stored is not None
        assert secret.encode() not in stored.secrets_wrapped
        assert b"receiver-token-123" not in stored.secrets_wrapped


def test_a_deleted_subscription_is_gone_with_what_it_was_owed(
        app: Flask, gp: GPSystem, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    created = gp.post("/fhir/Subscription", subscription(receiver.url)).get_json()
    _submit(fhir, consult_request)
    assert gp.http.delete(f"/fhir/Subscription/{created['id']}", headers=gp.headers()).status_code == 204
    deliver(app, clock)

    assert receiver.deliveries == []
    assert gp.get(f"/fhir/Subscription/{created['id']}").status_code == 404


def test_a_subscription_past_its_end_stops(
        app: Flask, gp: GPSystem, fhir: SyncFHIRClient, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    created = gp.post("/fhir/Subscription", subscription(receiver.url, end="2026-11-23T10:00:00Z")).get_json()
    fhir = later(clock, gp, fhir, hours=2)
    _submit(fhir, consult_request)
    deliver(app, clock)

    assert receiver.deliveries == []
    assert gp.get(f"/fhir/Subscription/{created['id']}").get_json()["status"] == "off"


def test_retries_back_off_exponentially_up_to_an_hour() -> None:
    assert [backoff(n, 10).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert backoff(30, 10) == timedelta(hours=1)


# -- bad input ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "status", "expression"), [
    ({"criteria": "Patient?name=Jansen"}, 422, "Subscription.criteria"),
    ({"criteria": "Task?subject=Patient/1"}, 422, "Subscription.criteria"),
    ({"criteria": "Task?status=bogus"}, 422, "Subscription.criteria"),
    ({"criteria": "Task?status"}, 422, "Subscription.criteria"),
    ({"criteria": "Task?owner=http://example.org|123"}, 422, "Subscription.criteria"),
    ({"status": "error"}, 422, "Subscription.status"),
    ({"status": "off"}, 422, "Subscription.status"),
    ({"end": "2020-01-01T00:00:00Z"}, 422, "Subscription.end"),
    ({"end": "2027-01-01T00:00:00"}, 400, "Subscription.end"),
    ({"channel": {"type": "email", "endpoint": "mailto:huisarts@example.nl"}}, 422, "Subscription.channel.type"),
    ({"channel": {"type": "rest-hook"}}, 422, "Subscription.channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "ftp://example.nl/x"}}, 422, "Subscription.channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://user:pw@example.nl/x"}}, 422,
     "Subscription.channel.endpoint"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://example.nl/x", "payload": "application/xml"}}, 422,
     "Subscription.channel.payload"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://example.nl/x", "payload": "application/fhir+json",
                  "_payload": {"extension": [{"url": "http://hl7.org/fhir/uv/subscriptions-backport/"
                                              "StructureDefinition/backport-payload-content",
                                              "valueCode": "full-resource"}]}}}, 422, "Subscription.channel.payload"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://example.nl/x", "header": ["no colon here"]}}, 422,
     "Subscription.channel.header[0]"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://example.nl/x", "header": ["X-Triage-Signature: x"]}},
     422, "Subscription.channel.header[0]"),
    ({"channel": {"type": "rest-hook", "endpoint": "https://example.nl/x", "header": ["Authorization: ***"]}},
     422, "Subscription.channel.header[0]"),
])
def test_a_bad_subscription_is_refused_with_the_reason(app: Flask, gp: GPSystem, change: dict, status: int,
                                                        expression: str) -> None:
    response = gp.post("/fhir/Subscription", subscription("https://his.example.nl/hooks", **change))

    assert response.status_code == status, response.get_json()
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["expression"] == [expression]
    with session_scope(app) as session:
        assert session.scalars(select(Subscription)).all() == []


def test_a_subscription_without_a_reason_is_not_valid_fhir(gp: GPSystem) -> None:
    body = subscription("https://his.example.nl/hooks")
    del body["reason"]

    assert gp.post("/fhir/Subscription", body).status_code == 400


def test_a_subscription_to_another_organisations_consult_is_forbidden(
        gp: GPSystem, other_gp: GPSystem, consult_request: dict) -> None:
    theirs = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()["id"]
    response = other_gp.post("/fhir/Subscription", subscription("https://his.example.nl/hooks",
                                                                 f"Task?focus=ServiceRequest/{theirs}"))

    assert response.status_code == 403
    assert response.get_json()["issue"][0]["code"] == "forbidden"


def test_a_non_https_endpoint_is_refused_in_production(app: Flask, gp: GPSystem) -> None:
    settings = app.extensions["triage.settings"]
    gp.token()  # the token is issued under the test settings; only the subscription is checked as in production
    app.extensions["triage.settings"] = dataclasses.replace(settings, env="production")
    try:
        response = gp.post("/fhir/Subscription", subscription("http://his.example.nl/hooks"))
    finally:
        app.extensions["triage.settings"] = settings

    assert response.status_code == 422
    assert "https" in response.get_json()["issue"][0]["diagnostics"]


def test_another_organisations_subscription_cannot_be_read_changed_or_deleted(
        gp: GPSystem, other_gp: GPSystem) -> None:
    created = gp.post("/fhir/Subscription", subscription("https://his.example.nl/hooks")).get_json()
    path = f"/fhir/Subscription/{created['id']}"

    assert other_gp.get(path).status_code == 404
    assert other_gp.put(path, {**created, "status": "off"}).status_code == 404
    assert other_gp.http.delete(path, headers=other_gp.headers()).status_code == 404


def test_a_stale_update_is_refused(gp: GPSystem) -> None:
    created = gp.post("/fhir/Subscription", subscription("https://his.example.nl/hooks")).get_json()
    created["channel"].pop("extension")
    path = f"/fhir/Subscription/{created['id']}"
    assert gp.put(path, {**created, "status": "off"}, **{"If-Match": 'W/"1"'}).status_code == 200

    assert gp.put(path, {**created, "status": "requested"}, **{"If-Match": 'W/"1"'}).status_code == 412


def test_a_token_without_subscription_scope_cannot_subscribe(gp: GPSystem) -> None:
    response = gp.http.post("/fhir/Subscription", data=json.dumps(subscription("https://his.example.nl/hooks")),
                            headers=gp.headers("system/Task.read"))

    assert response.status_code == 403


def test_status_error_is_refused_in_an_update_too(gp: GPSystem) -> None:
    created = gp.post("/fhir/Subscription", subscription("https://his.example.nl/hooks")).get_json()
    response = gp.put(f"/fhir/Subscription/{created['id']}", {**created, "status": "error"})

    assert response.status_code == 422
    assert SubscriptionStatus.ERROR.value in response.get_json()["issue"][0]["diagnostics"]


def test_the_worker_command_delivers_the_notifications(
        app: Flask, fhir: SyncFHIRClient, receiver: Receiver, consult_request: dict,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from triage_service import cli

    monkeypatch.setattr(cli, "_app", lambda: app)
    subscribe(fhir, receiver.url)
    _submit(fhir, consult_request)
    result = CliRunner().invoke(cli.main, ["worker", "--once"])

    assert result.exit_code == 0, result.output
    assert "notifications: 1 delivered, 0 failed" in result.output
    assert len(receiver.deliveries) == 1


def test_the_gp_system_is_notified_of_every_appointment_change(
        app: Flask, fhir: SyncFHIRClient, gp: GPSystem, receiver: Receiver, clock: FrozenClock,
        consult_request: dict) -> None:
    from datetime import timedelta

    from tests.test_appointments import ecms_request
    from triage_service.consults import appointments

    subscribe(fhir, receiver.url)
    his = GPInbox(app, clock, fhir, receiver)
    body = ecms_request(consult_request)
    body.pop("id")
    consult = fhir.resource("ServiceRequest", **body)
    consult.save()
    his.deliver_and_read()
    visser = _specialist(app)
    with session_scope(app) as session:
        proposal = appointments.Proposal((clock.now + timedelta(days=2), clock.now + timedelta(days=3)), 20, None,
                                         "Polikliniek dermatologie", False)
        appointments.propose(session, visser, str(consult.id), proposal, clock.now)
    his.deliver_and_read()
    chosen = fhir.resources("Appointment").search(**{"based-on": f"ServiceRequest/{consult.id}"}).first()
    chosen["status"] = "booked"
    chosen.save()
    his.deliver_and_read()
    his.fhir = later(clock, gp, fhir, days=2, minutes=30)  # the time of the appointment
    with session_scope(app) as session:
        appointments.mark(session, visser, str(consult.id), str(chosen.id), "noshow", "", clock.now)
    his.deliver_and_read()

    assert his.seen[1:] == [("in-progress", "appointment-proposed"), ("in-progress", "appointment-booked"),
                            ("on-hold", "appointment-no-show")]
