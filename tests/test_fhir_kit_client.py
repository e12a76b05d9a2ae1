"""A Node GP system with fhir-kit-client runs the consult loop against the service on a loopback port:
capabilities, create, search, vread, update with If-Match, and a refusal it can read (issue 24)."""

from __future__ import annotations

import uuid

from tests.conftest import EXAMPLES, GPSystem
from tests.fhir_node_tools import run_node


def test_a_node_gp_system_runs_the_consult_loop_with_fhir_kit_client(live_server: str, gp: GPSystem) -> None:
    steps = {line["step"]: line for line in run_node(
        "consult_loop.mjs", str(EXAMPLES / "ServiceRequest-example-dermatology-contained.json"),
        env={"FHIR_BASE": f"{live_server}/fhir", "TOKEN": gp.token(), "IDENTIFIER": f"HIS-{uuid.uuid4()}"})}

    assert steps["capabilities"]["fhirVersion"] == "4.0.1"
    assert steps["created"]["version"] == "1"
    assert (steps["task"]["total"], steps["task"]["status"]) == (1, "accepted")
    assert steps["vread"]["id"] == steps["created"]["id"]
    assert steps["cancelled"]["status"] == "cancelled"
    assert steps["refused"] == {"step": "refused", "status": 422, "outcome": "OperationOutcome"}
