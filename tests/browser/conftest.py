"""Real headless Chromium (Debian's package) driven by Playwright, against the service on a loopback port."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("TRIAGE_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("TRIAGE_REQUIRE_BROWSER"):
            pytest.fail(f"TRIAGE_REQUIRE_BROWSER is set but {CHROMIUM} does not exist")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does this)")
    from playwright.sync_api import sync_playwright

    # CI also runs the suite with the machine's clock moved by libfaketime (LD_PRELOAD). That is about the
    # service's time; Chromium and Playwright's driver hang or crash under it, so they start without it and
    # keep the real time (the pages shown come from the service, whose clock the tests control).
    shifted = {name: os.environ.pop(name) for name in ("LD_PRELOAD", "FAKETIME") if name in os.environ}
    try:
        playwright = sync_playwright().start()
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
    finally:
        os.environ.update(shifted)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def page(chromium: object) -> Iterator[object]:
    context = chromium.new_context(locale="nl-NL", viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    yield page
    context.close()


def screenshot(page: object, name: str) -> None:
    """Saved for reviewers as a test artefact (not committed)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
