"""Property-based fuzzing of the FHIR API with hypothesis: whatever arrives, the answer is a 2xx or a 4xx
OperationOutcome, never a 500 and never a stack trace, and a refused request stores nothing."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import EXAMPLES, GPSystem, new_request
from triage_service.database import session_scope
from triage_service.models import Consult

EXAMPLE = json.loads((EXAMPLES / "ServiceRequest-example-dermatology-contained.json").read_text(encoding="utf-8"))
RUNS = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = _paths(EXAMPLE)
_SLOTS = itertools.count()


def _replace(document: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    node: Any = changed
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return changed


def _consults(app: Flask) -> int:
    with session_scope(app) as session:
        return int(session.scalar(select(func.count()).select_from(Consult)) or 0)


def _check(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if response.status_code >= 400:
        body = response.get_json()
        assert body["resourceType"] == "OperationOutcome"
        assert "Traceback" not in response.get_data(as_text=True)


@RUNS
@given(path=st.sampled_from(PATHS), value=json_values)
def test_any_element_replaced_by_any_json_gets_a_clear_answer(app: Flask, gp: GPSystem, path: tuple[Any, ...],
                                                              value: Any) -> None:
    before = _consults(app)
    response = gp.post("/fhir/ServiceRequest", _replace(new_request(EXAMPLE), path, value))

    _check(response)
    if response.status_code >= 400:
        assert _consults(app) == before  # nothing half-stored


@RUNS
@given(body=json_values)
def test_any_json_body_gets_a_clear_answer_on_every_create(gp: GPSystem, body: Any) -> None:
    for path in ("/fhir/ServiceRequest", "/fhir", "/fhir/Communication", "/fhir/Subscription",
                 "/fhir/ServiceRequest/$validate", "/fhir/Patient", "/fhir/DocumentReference"):
        _check(gp.post(path, json.dumps(body)))


@RUNS
@given(raw=st.binary(max_size=300))
def test_any_bytes_get_a_clear_answer(gp: GPSystem, raw: bytes) -> None:
    _check(gp.post("/fhir/ServiceRequest", raw))


@RUNS
@given(name=st.sampled_from(["status", "business-status", "focus", "owner", "requester", "_lastUpdated", "_count",
                             "_offset", "identifier", "patient", "based-on", "category", "sent"]),
       value=st.text(max_size=60))
def test_any_search_parameter_value_gets_a_clear_answer(gp: GPSystem, name: str, value: str) -> None:
    for resource in ("Task", "ServiceRequest", "Communication"):
        response = gp.http.get(f"/fhir/{resource}", query_string={name: value}, headers=gp.headers())
        _check(response)


@RUNS
@given(value=json_values, which=st.integers(0, 10_000))
def test_any_change_to_an_appointment_gets_a_clear_answer(app: Flask, gp: GPSystem, consult_request: dict,
                                                          value: Any, which: int) -> None:
    """A GP system's PUT of a proposed appointment with any element replaced: a 2xx or a 4xx, never a 500."""
    from datetime import timedelta

    from tests.conftest import START
    from tests.test_appointments import ecms_request
    from triage_service.consults import appointments
    from triage_service.models import User
    from triage_service.security.web_auth import inbox_user

    consult_id = gp.post("/fhir/ServiceRequest", ecms_request(consult_request)).get_json()["id"]
    with session_scope(app) as session:
        visser = inbox_user(session, str(session.scalar(select(User.id).where(User.username == "dermatoloog"))))
        assert visser is not None
        # Each example gets its own time: the examples share the specialist's agenda.
        proposal = appointments.Proposal((START + timedelta(days=2, minutes=30 * next(_SLOTS)),), 20, None, None,
                                         False)
        appointment_id = appointments.propose(session, visser, consult_id, proposal, START)[0].id
    served = gp.get(f"/fhir/Appointment/{appointment_id}").get_json()
    paths = _paths(served)
    changed = _replace(served, paths[which % len(paths)], value)

    _check(gp.put(f"/fhir/Appointment/{appointment_id}", changed))
