"""The consult page calls a consult late by the rule the monitoring counts "within norm" by (reports/facts.py):
an open consult past its due time is "Te laat", an answer after the due time is "Na de termijn beantwoord", and a
consult answered in time is never late, however long after its due time the page is opened.

Submitted Monday 23 November 2026 10:00 (Dutch time) for dr. Visser; its norm of two working days ends Wednesday
25 November 10:00."""

from __future__ import annotations

from datetime import datetime

from flask import Flask

from tests.conftest import FrozenClock, GPSystem
from tests.test_first_line import ACCOUNTS, answer_as
from tests.test_overflow import AMS, submit
from tests.web.test_inbox import log_in

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
LATER = datetime(2026, 12, 2, 9, 0, tzinfo=AMS)


def _due_line(app: Flask, clock: FrozenClock, consult_id: str) -> str:
    client = app.test_client()
    _, _, _, secret = ACCOUNTS["dermatoloog"]
    assert log_in(client, clock, username="dermatoloog", secret=secret).status_code == 302
    page = client.get(f"/consults/{consult_id}").get_data(as_text=True)
    start = page.index("Antwoord uiterlijk")
    return page[start:page.index("</dd>", start)]


def test_a_consult_answered_in_time_is_not_late_when_read_a_week_later(
        app: Flask, gp: GPSystem, clock: FrozenClock, consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request, performer=VISSER)
    clock.now = datetime(2026, 11, 24, 15, 0, tzinfo=AMS)
    assert answer_as(app, clock, "dermatoloog", consult_id).status_code == 302
    clock.now = LATER

    line = _due_line(app, clock, consult_id)

    assert "wo 25 nov 2026 10:00" in line
    assert "Te laat" not in line and "Na de termijn" not in line


def test_an_answer_after_the_due_time_says_so(app: Flask, gp: GPSystem, clock: FrozenClock,
                                              consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request, performer=VISSER)
    clock.now = datetime(2026, 11, 25, 10, 1, tzinfo=AMS)
    assert answer_as(app, clock, "dermatoloog", consult_id).status_code == 302
    clock.now = LATER

    assert "Na de termijn beantwoord" in _due_line(app, clock, consult_id)


def test_an_open_consult_past_its_due_time_is_late(app: Flask, gp: GPSystem, clock: FrozenClock,
                                                   consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request, performer=VISSER)
    clock.now = datetime(2026, 11, 25, 9, 59, tzinfo=AMS)
    assert "Te laat" not in _due_line(app, clock, consult_id)
    clock.now = datetime(2026, 11, 25, 10, 1, tzinfo=AMS)
    assert "Te laat" in _due_line(app, clock, consult_id)
