"""An independent validator (Medplum's, in Node) checks our canonical examples against our published profiles,
which carry snapshots for it (tests/fhir_node/snapshots.mjs): 0 errors for the examples, and a broken example
is rejected for the rule it breaks (issue 24)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.fhir_node_tools import run_node
from triage_service.fhir.profiles import PROFILES_DIR

EXAMPLES = sorted((PROFILES_DIR / "examples").glob("*.json"))


def structure_definitions() -> list[Path]:
    return sorted(PROFILES_DIR.glob("StructureDefinition-*.json"))


@pytest.mark.parametrize("path", structure_definitions(), ids=lambda p: p.stem)
def test_every_profile_carries_a_snapshot_made_from_its_current_differential(path: Path) -> None:
    sd = json.loads(path.read_text(encoding="utf-8"))
    snapshot = {e["id"]: e for e in sd.get("snapshot", {}).get("element", [])}
    assert snapshot, f"{path.name} has no snapshot: npm run snapshots --prefix tests/fhir_node"
    for element in sd["differential"]["element"]:
        generated = snapshot.get(element["id"])
        assert generated is not None, f"{element['id']} is not in the snapshot: regenerate it"
        for key in ("min", "max"):
            if key in element:
                assert generated[key] == element[key], f"{element['id']}.{key}: regenerate the snapshot"
        for constraint in element.get("constraint", []):
            assert constraint["expression"] in [c.get("expression") for c in generated.get("constraint", [])], \
                f"{element['id']} {constraint['key']}: regenerate the snapshot"


def validate(*paths: Path) -> dict[str, list[str]]:
    return {r["file"]: r["errors"] for r in run_node("validate.mjs", str(PROFILES_DIR), *map(str, paths))}


def test_the_canonical_examples_validate_against_our_profiles_with_no_errors() -> None:
    results = validate(*EXAMPLES)

    assert set(results) == {p.name for p in EXAMPLES}
    assert results == {p.name: [] for p in EXAMPLES}


def broken(name: str, change: Any, tmp_path: Path) -> Path:
    resource = copy.deepcopy(json.loads((PROFILES_DIR / "examples" / name).read_text(encoding="utf-8")))
    change(resource)
    path = tmp_path / f"broken-{name}"
    path.write_text(json.dumps(resource), encoding="utf-8")
    return path


def test_broken_examples_are_rejected_for_the_rule_they_break(tmp_path: Path) -> None:
    request = "ServiceRequest-example-dermatology-contained.json"
    for folder in ("a", "b", "c"):
        (tmp_path / folder).mkdir()
    cases = {
        "no question": (broken(request, lambda r: r.update(note=[{"text": "  "}]), tmp_path / "a"), "tsr-2"),
        "no ICPC": (broken(request, lambda r: r["reasonCode"][0]["coding"][0].update(
            system="http://snomed.info/sct"), tmp_path / "b"), "tsr-5"),
        "no status": (broken("Task-example-received.json", lambda r: r.pop("status"), tmp_path / "c"), "status"),
    }

    for case, (path, expected) in cases.items():
        errors = validate(path)[path.name]
        assert any(expected in error for error in errors), (case, errors)
