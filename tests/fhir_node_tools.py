"""Running the Node FHIR tools of tests/fhir_node (installed from its lock by scripts/test): skipped where Node
or the packages are missing, unless TRIAGE_REQUIRE_NODE is set, as .ci/run sets it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).parent / "fhir_node"


def node_or_skip() -> str:
    node = shutil.which("node")
    installed = (NODE_DIR / "node_modules" / "@medplum" / "core").is_dir()
    if node is None or not installed:
        if os.environ.get("TRIAGE_REQUIRE_NODE"):
            pytest.fail("TRIAGE_REQUIRE_NODE is set but node or tests/fhir_node's packages are missing "
                        "(npm ci --prefix tests/fhir_node)")
        pytest.skip("node or tests/fhir_node's packages are missing (npm ci --prefix tests/fhir_node)")
    return node


def run_node(script: str, *args: str, env: dict[str, str] | None = None, timeout: int = 120) -> list[dict[str, Any]]:
    """Run one of tests/fhir_node's scripts; each line it prints is a JSON object."""
    node = node_or_skip()
    result = subprocess.run([node, script, *args], cwd=NODE_DIR, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, **(env or {})}, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
