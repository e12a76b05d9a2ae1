"""Webhook delivery with several workers at once: every event is POSTed exactly once, however long a pass
takes, and each POST is signed at the moment it is sent.

What was seen before: two workers sent 10 of 56 events twice. A worker claimed all due subscriptions for a
fixed 5 minutes and never renewed the claim, so the subscriptions it had not reached yet were taken over by
another worker; a worker that finished cleared whatever claim a row carried (the other's included); and
the signature carried the start of the pass, so late POSTs arrived more than 300 s old.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import START, FrozenClock, GPSystem, new_request
from tests.test_notifications import VISSER, subscription
from triage_service import clock as triage_clock
from triage_service.attachments.blobs import load_keyring
from triage_service.clock import Clock
from triage_service.database import session_scope
from triage_service.models import ConsultTask, Notification
from triage_service.notifications.delivery import deliver_due
from triage_service.notifications.outbox import record_notifications
from triage_service.notifications.signature import HEADER, verify
from triage_service.notifications.subscriptions import SECRET_EXTENSION


@dataclasses.dataclass
class Arrival:
    path: str
    event_number: int
    signed_at: int
    body: bytes
    signature: str
    arrived_at: datetime


class CountingReceiver:
    """GP systems' endpoints on one loopback port: counts every POST per (endpoint path, event number).

    ``slow(event_number)`` says how many real seconds to take before answering; ``clock`` is read on arrival,
    and ``on_arrival`` may move a frozen clock on (time a slow receiver takes)."""

    def __init__(self, clock: Clock, slow: Any = None, on_arrival: Any = None) -> None:
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                number = int(self.headers["X-Triage-Event-Number"])
                signature = self.headers[HEADER]
                arrival = Arrival(self.path, number, int(signature.split(",")[0].removeprefix("t=")), body,
                                  signature, clock())
                with receiver._lock:
                    receiver.arrivals.append(arrival)
                if slow is not None and slow(number):
                    time.sleep(slow(number))
                if on_arrival is not None:
                    on_arrival()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/{name}"

    def counts(self) -> Counter[tuple[str, int]]:
        with self._lock:
            return Counter((a.path, a.event_number) for a in self.arrivals)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FastClock:
    """The workers' clock, running SPEED times faster than real time from START: minutes of claim pass in
    seconds, while the receiver's slowness and the POSTs stay real."""

    SPEED = 100

    def __init__(self) -> None:
        self._started = triage_clock.monotonic()

    def __call__(self) -> datetime:
        return START + timedelta(seconds=(triage_clock.monotonic() - self._started) * self.SPEED)


def _subscribe(gp: GPSystem, endpoint: str) -> str:
    """Subscribes; returns the signing secret (shown once)."""
    created = gp.post("/fhir/Subscription", subscription(endpoint))
    assert created.status_code == 201, created.get_json()
    extensions = created.get_json()["channel"]["extension"]
    return str(next(e["valueString"] for e in extensions if e["url"] == SECRET_EXTENSION))


def _queue_events(app: Flask, gp: GPSystem, consult_request: dict[str, Any], per_subscription: int) -> int:
    """One consult, then the outbox records further changes of its Task (as each step of the loop would);
    returns the number of events owed in all."""
    created = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER))
    assert created.status_code == 201, created.get_json()
    with session_scope(app) as session:
        task = session.scalars(select(ConsultTask)).one()
        for _ in range(per_subscription - 1):
            record_notifications(session, [task], START)
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(Notification)) or 0)


def _undelivered(app: Flask) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(Notification)
                                  .where(Notification.delivered_at.is_(None))) or 0)


@pytest.fixture
def postgresql(app: Flask) -> None:
    if app.extensions["triage.engine"].dialect.name != "postgresql":
        pytest.skip("workers side by side run on PostgreSQL (SQLite has one writer at a time); scripts/test "
                    "runs this there")


@pytest.fixture
def stop_receivers() -> Iterator[list[CountingReceiver]]:
    receivers: list[CountingReceiver] = []
    yield receivers
    for receiver in receivers:
        receiver.stop()


WORKERS = 4
SUBSCRIPTIONS = 3
EVENTS = 20  # per subscription
SLOW_SECONDS = 0.4  # every third event: a pass over one subscription takes ~3 s, longer than a 2 s claim


@pytest.mark.usefixtures("postgresql")
def test_several_workers_post_every_event_exactly_once_even_when_a_pass_outlasts_the_claim(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], stop_receivers: list[CountingReceiver]) -> None:
    fast = FastClock()
    receiver = CountingReceiver(fast, slow=lambda number: SLOW_SECONDS if number % 3 == 0 else 0)
    stop_receivers.append(receiver)
    for index in range(SUBSCRIPTIONS):
        _subscribe(gp, receiver.url(str(index)))
    owed = _queue_events(app, gp, consult_request, EVENTS)
    assert owed == SUBSCRIPTIONS * EVENTS
    # A claim of 200 s on the fast clock is 2 real seconds: far longer than one POST (at most 0.4 s), much
    # shorter than a pass over one subscription (~3 s) or over all of them.
    settings = dataclasses.replace(app.extensions["triage.settings"], notification_claim_seconds=200)
    factory, ring = app.extensions["triage.sessionmaker"], load_keyring(settings)
    finished = threading.Event()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while not finished.is_set():
                if deliver_due(factory, settings, ring, fast).delivered == 0:
                    time.sleep(0.05)  # the worker command's pause between passes, shortened
        except BaseException as exc:  # the test thread reports it
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 120
    while _undelivered(app) and time.monotonic() < deadline and not errors:
        time.sleep(0.2)
    time.sleep(1)  # a second POST of anything would come now
    finished.set()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    counts = receiver.counts()
    expected = {(f"/hooks/{i}", n) for i in range(SUBSCRIPTIONS) for n in range(1, EVENTS + 1)}
    assert set(counts) == expected
    assert {key: count for key, count in counts.items() if count != 1} == {}  # each event exactly once
    # Per subscription in event order, as one receiver needs them.
    for index in range(SUBSCRIPTIONS):
        numbers = [a.event_number for a in receiver.arrivals if a.path == f"/hooks/{index}"]
        assert numbers == sorted(numbers)


def test_the_signature_is_made_at_the_moment_of_sending_however_long_the_pass(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict[str, Any],
        stop_receivers: list[CountingReceiver]) -> None:
    # Each POST takes the receiver two minutes: the ten events of one pass take twenty, four times the claim.
    receiver = CountingReceiver(clock, on_arrival=lambda: clock.advance(minutes=2))
    stop_receivers.append(receiver)
    secret = _subscribe(gp, receiver.url("his"))
    _queue_events(app, gp, consult_request, 10)
    settings = app.extensions["triage.settings"]
    began = clock.now

    run = deliver_due(app.extensions["triage.sessionmaker"], settings, load_keyring(settings), clock)

    assert run.delivered == 10  # in one pass: the claim was renewed before each POST
    assert clock.now - began == timedelta(minutes=20)
    for arrival in receiver.arrivals:
        assert abs(arrival.signed_at - arrival.arrived_at.timestamp()) <= 2
        assert verify(secret, arrival.body, arrival.signature, int(arrival.arrived_at.timestamp()))
