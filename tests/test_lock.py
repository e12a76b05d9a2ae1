"""The locks of exact versions still satisfy pyproject.toml: a dependency added, removed or re-ranged there
without running scripts/lock fails here (and so in CI) instead of on someone's fresh machine."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)(?:\s*;\s*([^\\]+?))?\s*\\?$")


def _locked(name: str) -> dict[str, list[tuple[str, str | None]]]:
    """Each locked package's versions (a package may be pinned per Python version) and whether it has hashes."""
    pins: dict[str, list[tuple[str, str | None]]] = {}
    lines = (ROOT / "requirements" / name).read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if match:
            assert lines[number + 1].strip().startswith("--hash=sha256:"), f"{name}: {line} has no hash"
            pins.setdefault(canonicalize_name(match[1]), []).append((match[2], match[3]))
    return pins


def _unmet(requirements: list[str], pins: dict[str, list[tuple[str, str | None]]]) -> list[str]:
    unmet = []
    for text in requirements:
        wanted = Requirement(text)
        if wanted.marker is not None and not wanted.marker.evaluate():
            continue
        versions = pins.get(canonicalize_name(wanted.name), [])
        if not versions or not all(wanted.specifier.contains(v, prereleases=True) for v, _ in versions):
            unmet.append(f"{text} (locked: {', '.join(v for v, _ in versions) or 'nothing'})")
        for extra in sorted(wanted.extras):  # e.g. psycopg[binary]: the extra's packages are locked too
            if extra == "binary" and canonicalize_name(wanted.name) == "psycopg" and "psycopg-binary" not in pins:
                unmet.append(f"{text}: psycopg-binary is not locked")
    return unmet


def test_the_service_lock_satisfies_every_dependency_in_pyproject() -> None:
    assert _unmet(PROJECT["dependencies"], _locked("service.txt")) == [], "run scripts/lock"


def test_the_test_lock_satisfies_every_dependency_and_test_dependency_in_pyproject() -> None:
    wanted = PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]
    assert _unmet(wanted, _locked("test.txt")) == [], "run scripts/lock"


def test_the_tests_run_on_the_same_versions_the_service_is_installed_with() -> None:
    service, tests = _locked("service.txt"), _locked("test.txt")
    versions = {name: sorted(v for v, _ in pins) for name, pins in tests.items()}
    differ = {name: pins for name, pins in service.items() if versions.get(name) != sorted(v for v, _ in pins)}
    assert differ == {}


def test_the_locks_build_the_project_with_a_setuptools_that_pyproject_accepts() -> None:
    build = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["build-system"]["requires"]
    for name in ("service.txt", "test.txt"):
        assert _unmet(build, _locked(name)) == [], f"{name}: run scripts/lock"
