"""Real headless Chromium (Debian's package) driven by Playwright, against the service on a loopback port."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("TRIAGE_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
#: axe-core as `npm ci --prefix tests/browser` installs it from package-lock.json (scripts/test does this).
AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"


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


#: The two widths every screen is checked at: a phone (390 px, touch) and a desktop.
SCREENS: dict[str, dict[str, Any]] = {
    "telefoon": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
                 "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1280, "height": 900}}}


@contextmanager
def open_screen(chromium: Any, screen: str) -> Iterator[Any]:
    """A page at one of SCREENS in a browser context of its own (its own cookies: its own login)."""
    context = chromium.new_context(locale="nl-NL", **SCREENS[screen])
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(params=list(SCREENS))
def screen(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def on_screen(chromium: Any, screen: str) -> Iterator[Any]:
    """A page on the phone and, in a second run, on a desktop."""
    with open_screen(chromium, screen) as page:
        yield page


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


def axe_violations(page: object) -> list[dict[str, Any]]:
    """The page's serious and critical accessibility violations as axe-core finds them (WCAG rules and best
    practices), each with its rule id, help text and the offending elements."""
    if not AXE.exists():
        if os.environ.get("TRIAGE_REQUIRE_BROWSER"):
            pytest.fail(f"TRIAGE_REQUIRE_BROWSER is set but {AXE} does not exist (npm ci --prefix tests/browser)")
        pytest.skip("axe-core is not installed (npm ci --prefix tests/browser; scripts/test does this when npm is "
                    "present)")
    # Evaluated rather than added as a <script> (page.add_script_tag): the service's Content-Security-Policy
    # (default-src 'none', its own scripts only) rightly blocks an injected script, and bypassing CSP for the
    # whole context would hide a page that breaks under it. Playwright's evaluate is not subject to the page's CSP.
    # Measured once the page has loaded, as assert_no_horizontal_scroll does: under load a stylesheet can still
    # be on its way, and colours half-applied read as a contrast failure (a shifted-clock CI run saw one).
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    page.evaluate(AXE.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    violations: list[dict[str, Any]] = page.evaluate(  # type: ignore[attr-defined]
        "async () => (await axe.run(document)).violations")
    return [violation for violation in violations if violation.get("impact") in ("serious", "critical")]


def assert_no_horizontal_scroll(page: object) -> None:
    """Nothing sticks out sideways: the page is no wider than the window, so a phone scrolls only down.

    A mobile context (is_mobile) widens its layout viewport to the content instead of scrolling, as a phone zooms
    out on a page that is too wide; so the window must also still be as wide as the screen asked for.

    Measured only once the page has loaded: a click that navigates returns before the stylesheets have come
    back (a 304 still in flight), and an unstyled page is wider than the styled one; CI caught exactly that."""
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    width = page.evaluate(  # type: ignore[attr-defined]
        "({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth})")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), width  # type: ignore[attr-defined]
    assert width["innerWidth"] <= page.viewport_size["width"], width  # type: ignore[attr-defined]


def assert_stays_inside(page: object, selector: str) -> None:
    """Every element matching the selector holds its content: nothing runs out of its box sideways.

    A page can be exactly as wide as the window while a card's text runs over its neighbour (a grid column of
    max-content inside a narrower card did so on the dashboard), which the page's own width does not show."""
    page.wait_for_load_state("load")  # type: ignore[attr-defined]
    boxes = page.evaluate("""s => [...document.querySelectorAll(s)].map(
        e => ({text: e.innerText.slice(0, 40), scroll: e.scrollWidth, client: e.clientWidth}))""",  # type: ignore[attr-defined]
                          selector)
    assert boxes, f"nothing matches {selector}"
    assert [b for b in boxes if b["scroll"] > b["client"] + 1] == []
