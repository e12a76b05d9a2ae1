"""Schema-driven fuzzing: schemathesis reads the service's own OpenAPI description (/fhir/openapi.json) and
sends generated requests to every FHIR operation with a valid token. Whatever it sends, the answer is never
a 5xx, and a refusal is a FHIR OperationOutcome without a stack trace.

The operations are walked here rather than through schemathesis's pytest plugin, which does not yet
work with this pytest release."""

from __future__ import annotations

from typing import Any

import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings

from tests.conftest import GPSystem

EXAMPLES = settings(max_examples=12, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _check(case: Any, token: str) -> None:
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    where = f"{case.method} {case.formatted_path}"
    assert response.status_code < 500, f"{where}: {response.text[:300]}"
    if response.status_code >= 400 and response.text:
        assert response.json().get("resourceType") == "OperationOutcome", f"{where}: {response.text[:300]}"
        assert "Traceback" not in response.text


def test_no_generated_request_to_any_operation_gets_a_server_error(app: Flask, gp: GPSystem) -> None:
    schema = schemathesis.openapi.from_wsgi("/fhir/openapi.json", app)
    token = gp.token()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25

    for operation in operations:
        @EXAMPLES
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            _check(case, token)

        run()
