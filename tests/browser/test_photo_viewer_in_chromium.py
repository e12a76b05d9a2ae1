"""The specialist's photo viewer in a real browser (issue 21, point 3): full screen, zoom and pan, next and previous
by keys, buttons and swipes, an overview strip, Esc back to the thumbnail; on a phone and a desktop."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import SCREENS, assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_inbox_in_chromium import log_in, photo_consult
from tests.conftest import FrozenClock, GPSystem


def scale_of(page: Any) -> float:
    transform = page.locator("dialog.photo-viewer img.pv-image").evaluate("img => img.style.transform")
    match = re.search(r"scale\(([\d.]+)\)", transform)
    assert match, transform
    return float(match.group(1))


def offset_of(page: Any) -> tuple[float, float]:
    transform = page.locator("dialog.photo-viewer img.pv-image").evaluate("img => img.style.transform")
    match = re.search(r"translate\((-?[\d.]+)px, (-?[\d.]+)px\)", transform)
    assert match, transform
    return float(match.group(1)), float(match.group(2))


def wait_for_photo(page: Any) -> None:
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=page.locator("dialog.photo-viewer img.pv-image").element_handle(), timeout=10_000)


def touches(page: Any, paths: list[list[tuple[float, float]]]) -> None:
    """Fingers moving along the given paths at once, as the phone's touch screen sends them (Chrome DevTools
    Protocol): Playwright itself only taps."""
    cdp = page.context.new_cdp_session(page)

    def send(kind: str, step: int) -> None:
        points = [] if kind == "touchEnd" else [{"x": path[step][0], "y": path[step][1], "id": finger}
                                                for finger, path in enumerate(paths)]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    send("touchStart", 0)
    for step in range(1, len(paths[0])):
        send("touchMove", step)
    send("touchEnd", 0)
    cdp.detach()


def line(start: tuple[float, float], end: tuple[float, float], steps: int = 8) -> list[tuple[float, float]]:
    return [(start[0] + (end[0] - start[0]) * i / steps, start[1] + (end[1] - start[1]) * i / steps)
            for i in range(steps + 1)]


def test_the_viewer_zooms_moves_between_photos_and_gives_focus_back(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    page = on_screen
    consult_id = photo_consult(gp, consult_request)
    log_in(page, live_server, clock)
    page.goto(f"{live_server}/consults/{consult_id}")
    first = page.locator("a[data-viewer-full]").first
    full_url = first.get_attribute("data-viewer-full")

    with page.expect_response(lambda r: r.url.endswith(full_url)) as fetched:
        first.click()
    viewer = page.locator("dialog.photo-viewer")
    expect(viewer).to_be_visible()
    # The photo is the service's own no-store URL, not a blob: copy the page could keep.
    assert fetched.value.headers["cache-control"] == "no-store"
    assert viewer.locator("img.pv-image").get_attribute("src") == full_url
    wait_for_photo(page)
    assert viewer.get_by_role("heading").inner_text() == "overzichtsfoto"
    assert viewer.locator(".pv-count").inner_text() == "1 van 2"
    assert viewer.get_by_role("button", name="Sluiten").evaluate("b => b === document.activeElement")
    # Full screen: the dialog covers the window, and nothing of the page scrolls sideways.
    box = viewer.bounding_box()
    window = SCREENS[screen]["viewport"]
    assert (box["width"], box["height"]) == (window["width"], window["height"])
    assert_no_horizontal_scroll(page)
    strip = viewer.locator(".pv-strip button")
    assert strip.count() == 2 and strip.first.get_attribute("aria-current") == "true"
    # Desktop: the overview beside the photo; phone: below it.
    strip_box, stage_box = strip.first.bounding_box(), viewer.locator(".pv-stage").bounding_box()
    if screen == "desktop":
        assert strip_box["x"] + strip_box["width"] <= stage_box["x"]
    else:
        assert strip_box["y"] >= stage_box["y"] + stage_box["height"]
    screenshot(page, f"photo-viewer-{screen}")
    assert axe_violations(page) == []

    # Zoom by button and keys; 0 fits again.
    viewer.get_by_role("button", name="Inzoomen").click()
    assert scale_of(page) == 1.5
    page.keyboard.type("+")
    assert scale_of(page) == 2.25
    page.keyboard.press("Minus")
    assert scale_of(page) == 1.5
    if screen == "desktop":
        # Drag a zoomed photo with the mouse, zoom with the wheel.
        stage = viewer.locator(".pv-stage").bounding_box()
        centre = (stage["x"] + stage["width"] / 2, stage["y"] + stage["height"] / 2)
        page.mouse.move(*centre)
        page.mouse.down()
        page.mouse.move(centre[0] + 60, centre[1] + 40, steps=5)
        page.mouse.up()
        assert offset_of(page) != (0, 0)
        page.mouse.wheel(0, -300)
        page.wait_for_function("() => /scale\\(([2-9]|1\\.[6-9])/.test("
                               "document.querySelector('dialog.photo-viewer img.pv-image').style.transform)")
    page.keyboard.press("Digit0")
    assert scale_of(page) == 1 and offset_of(page) == (0, 0)

    # Next with the keyboard: the second photo, its thumbnail marked in the overview.
    page.keyboard.press("ArrowRight")
    assert viewer.locator(".pv-count").inner_text() == "2 van 2"
    assert strip.nth(1).get_attribute("aria-current") == "true"
    wait_for_photo(page)
    viewer.get_by_role("button", name="Vorige foto").click()
    assert viewer.locator(".pv-count").inner_text() == "1 van 2"

    if screen == "telefoon":
        stage = viewer.locator(".pv-stage").bounding_box()
        middle_y = stage["y"] + stage["height"] / 2
        # Swipe to the left: the next photo; to the right: back.
        # Away from the previous and next buttons: Chrome gives a touch near a button to the button.
        centre_x = stage["x"] + stage["width"] / 2
        touches(page, [line((centre_x + 110, middle_y), (centre_x - 110, middle_y))])
        assert viewer.locator(".pv-count").inner_text() == "2 van 2"
        touches(page, [line((centre_x - 110, middle_y), (centre_x + 110, middle_y))])
        assert viewer.locator(".pv-count").inner_text() == "1 van 2"
        wait_for_photo(page)
        # Pinch open with two fingers: zoomed in, and not a swipe.
        touches(page, [line((centre_x - 30, middle_y), (centre_x - 120, middle_y)),
                       line((centre_x + 30, middle_y), (centre_x + 120, middle_y))])
        assert scale_of(page) > 2 and viewer.locator(".pv-count").inner_text() == "1 van 2"
        # A double tap fits it again.
        viewer.locator(".pv-stage").tap(position={"x": stage["width"] / 2, "y": stage["height"] / 2})
        viewer.locator(".pv-stage").tap(position={"x": stage["width"] / 2, "y": stage["height"] / 2})
        assert scale_of(page) == 1
        assert_no_horizontal_scroll(page)

    # Esc closes the viewer and gives the focus back to the thumbnail it was opened from.
    page.keyboard.press("Escape")
    assert not viewer.is_visible()
    assert first.evaluate("a => a === document.activeElement")
    # The photo is let go in the dialog's close event, which the browser queues as a task after Esc:
    # wait for it rather than read the attribute in the same instant.
    page.wait_for_function("() => !document.querySelector('dialog.photo-viewer img.pv-image').hasAttribute('src')")
    assert_no_horizontal_scroll(page)
    # The close button does the same.
    page.locator("a[data-viewer-full]").nth(1).click()
    assert viewer.locator(".pv-count").inner_text() == "2 van 2"
    viewer.get_by_role("button", name="Sluiten").click()
    assert not viewer.is_visible()
    assert page.locator("a[data-viewer-full]").nth(1).evaluate("a => a === document.activeElement")


def test_without_script_a_thumbnail_opens_the_photos_own_page_with_the_way_back(
        chromium: Any, live_server: str, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    consult_id = photo_consult(gp, consult_request)
    context = chromium.new_context(locale="nl-NL", **SCREENS["telefoon"])
    try:
        page = context.new_page()
        log_in(page, live_server, clock)
        # The same login in a browser without script: the thumbnail is a plain link to the photo's page.
        script_free = chromium.new_context(locale="nl-NL", java_script_enabled=False,
                                           storage_state=context.storage_state(), **SCREENS["telefoon"])
        try:
            bare = script_free.new_page()
            bare.set_default_timeout(15_000)
            bare.goto(f"{live_server}/consults/{consult_id}")
            bare.locator("a[data-viewer-full]").first.click()
            bare.wait_for_url(re.compile(r"/bekijken$"))
            photo_page = bare.url
        finally:
            script_free.close()
        # The page itself, checked where axe can run.
        page.goto(photo_page)
        expect(page.get_by_role("heading", name="overzichtsfoto (1 van 2)")).to_be_visible()
        page.wait_for_function("() => document.querySelector('figure.photo-page img').naturalWidth > 0")
        assert_no_horizontal_scroll(page)
        assert axe_violations(page) == []
        page.get_by_role("link", name="Volgende foto").click()
        expect(page.get_by_role("heading", name="overzichtsfoto (2 van 2)")).to_be_visible()
        page.get_by_role("link", name="Terug naar het consult").click()
        page.wait_for_url(f"{live_server}/consults/{consult_id}#photos")
    finally:
        context.close()
