"""Every 500 logs a traceback with the request id and without patient data, on SQLite and PostgreSQL,
and the client gets the request id to quote."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask

from tests.conftest import FrozenClock, GPSystem, new_request
from triage_service.database import get_session
from triage_service.models import ConsultIdentifier

REQUEST_ID = "his-req-0001-abcdef"


def _patient(consult_request: dict[str, Any]) -> tuple[str, str]:
    patient = next(c for c in consult_request["contained"] if c["resourceType"] == "Patient")
    return patient["identifier"][0]["value"], patient["name"][0]["family"]


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    # What any handler would print: the messages and, were exc_info passed, the formatted exception.
    formatter = logging.Formatter()
    return "\n".join(formatter.format(r) for r in caplog.records)


def _fails_with_patient_data(bsn: str, name: str) -> Any:
    def submit(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError(f"cannot handle patient {name} with BSN {bsn}")
    return submit


def _fails_in_the_database(bsn: str, name: str) -> Any:
    """A real constraint violation whose values are the patient's: PostgreSQL and SQLAlchemy quote them."""
    def submit(*_args: Any, **_kwargs: Any) -> Any:
        session = get_session()
        for _ in range(2):
            session.add(ConsultIdentifier(organisation_id="org", consult_id=f"{name}-{bsn}", system=name, value=bsn))
        session.flush()
    return submit


@pytest.mark.parametrize("failure", [_fails_with_patient_data, _fails_in_the_database])
def test_a_500_logs_a_traceback_with_the_request_id_and_no_patient_data(
        gp: GPSystem, consult_request: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, failure: Any) -> None:
    bsn, name = _patient(consult_request)
    monkeypatch.setattr("triage_service.api.resources.submit_consult", failure(bsn, name))

    with caplog.at_level(logging.INFO):
        response = gp.post("/fhir/ServiceRequest", new_request(consult_request), **{"X-Request-ID": REQUEST_ID})

    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == REQUEST_ID
    outcome = response.get_json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert REQUEST_ID in outcome["issue"][0]["diagnostics"]
    logged = _logged(caplog)
    assert "Traceback (most recent call last)" in logged
    assert f"request {REQUEST_ID}" in logged
    assert "submit" in logged  # the frame that failed
    assert bsn not in logged and name not in logged
    assert bsn not in response.get_data(as_text=True) and name not in response.get_data(as_text=True)


def test_a_request_without_an_id_of_its_own_gets_a_new_one(gp: GPSystem, monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("triage_service.api.resources.owned", _fails_with_patient_data("999999990", "Jansen"))

    with caplog.at_level(logging.ERROR):
        response = gp.get("/fhir/Task/1", **{"X-Request-ID": "bad id\twith a tab"})

    assert response.status_code == 500
    generated = response.headers["X-Request-ID"]
    assert generated != "bad id\twith a tab" and len(generated) == 32
    assert f"request {generated}" in _logged(caplog)


def test_every_response_carries_a_request_id(gp: GPSystem, client: Any) -> None:
    assert client.get("/health").headers["X-Request-ID"]
    assert client.get("/fhir/Task").headers["X-Request-ID"]  # a 401


def test_a_failure_inside_an_error_handler_is_logged_the_same_way(gp: GPSystem, monkeypatch: pytest.MonkeyPatch,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("triage_service.api.errors._audit_refusal", _fails_with_patient_data("999999990", "Jansen"))

    with caplog.at_level(logging.ERROR):
        response = gp.get("/fhir/Task/no-such-task")

    assert response.status_code == 500
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert response.headers["X-Request-ID"] in response.get_json()["issue"][0]["diagnostics"]
    logged = _logged(caplog)
    assert "Traceback (most recent call last)" in logged and response.headers["X-Request-ID"] in logged
    assert "Jansen" not in logged and "999999990" not in logged


def test_a_500_in_the_inbox_is_logged_with_its_request_id(app: Flask, clock: FrozenClock,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    from tests.web.test_inbox import log_in

    browser = app.test_client()
    assert log_in(browser, clock).status_code == 302
    monkeypatch.setattr("triage_service.web.inbox_list.inbox_page",
                        _fails_with_patient_data("999999990", "Jansen"))

    with caplog.at_level(logging.ERROR):
        response = browser.get("/inbox")

    assert response.status_code == 500
    logged = _logged(caplog)
    assert "Traceback (most recent call last)" in logged and response.headers["X-Request-ID"] in logged
    assert "Jansen" not in logged
