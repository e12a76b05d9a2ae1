"""The house the code lives in (README "Layout"): layers that only look down, no import circle, no module
that reaches into another's private names, no module too long to read.

The layer contract itself is in pyproject.toml ([tool.importlinter]); these tests show that it holds today
and that it does fail when a wrong import is added to a copy of the package.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "triage_service"
MAX_LINES = 400

# The editable install finds triage_service in this checkout whatever sys.path says; without its finder, the
# copy on sys.path is the package import-linter reads.
_LINT = """
import sys
sys.meta_path[:] = [finder for finder in sys.meta_path if "editable" not in repr(finder).lower()]
sys.path.insert(0, sys.argv[1])
from importlinter.cli import lint_imports
sys.exit(lint_imports(config_filename=sys.argv[2], no_cache=True))
"""


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _LINT, str(tree), str(ROOT / "pyproject.toml")],
                          capture_output=True, text=True, cwd=tree, timeout=120, check=False)


@pytest.fixture
def copy_of_the_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "triage_service", ignore=shutil.ignore_patterns("__pycache__", "*.mo"))
    return tmp_path


def add_import(tree: Path, module: str, line: str) -> None:
    path = tree / "triage_service" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa\n")


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts)


def test_the_layers_and_the_absence_of_circles_hold_today() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 kept, 0 broken" in result.stdout


def test_a_model_that_imports_a_screen_breaks_the_layers(copy_of_the_package: Path) -> None:
    add_import(copy_of_the_package, "models/base.py", "from triage_service.web import views")
    result = lint_imports(copy_of_the_package)
    assert result.returncode != 0
    assert "triage_service.models.base -> triage_service.web.views" in result.stdout


def test_the_fhir_api_that_imports_the_inbox_breaks_the_independence_of_the_interfaces(
        copy_of_the_package: Path) -> None:
    add_import(copy_of_the_package, "api/binary.py", "from triage_service.web import inbox")
    result = lint_imports(copy_of_the_package)
    assert result.returncode != 0
    assert "triage_service.api.binary -> triage_service.web.inbox" in result.stdout


def test_a_circle_between_two_modules_of_one_package_breaks_the_contract(copy_of_the_package: Path) -> None:
    # advice imports the state machine; the state machine importing advice closes a circle inside consults/.
    add_import(copy_of_the_package, "consults/task_states.py", "import triage_service.consults.advice")
    result = lint_imports(copy_of_the_package)
    assert result.returncode != 0
    assert "No import circle" in result.stdout and "BROKEN" in result.stdout


def test_no_module_imports_a_private_name_of_another_module() -> None:
    found = []
    for path in modules():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("triage_service"):
                found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert found == []


def test_no_module_reaches_into_an_imported_module_for_a_private_name() -> None:
    found = []
    for path in modules():
        tree = ast.parse(path.read_text(), str(path))
        imported = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                    and (node.module or "").startswith("triage_service") for alias in node.names}
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}" for node in ast.walk(tree)
                  if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                  and node.value.id in imported and node.attr.startswith("_") and not node.attr.startswith("__")]
    assert found == []


def test_no_module_is_longer_than_four_hundred_lines() -> None:
    long = {str(p.relative_to(ROOT)): n for p in modules() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
