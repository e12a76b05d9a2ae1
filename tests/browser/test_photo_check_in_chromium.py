"""The GP's photo check in a real browser: the warning appears before sending, and the browser's measure is the
server's (triage_service/attachments/quality.py), number for number."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFilter
from playwright.sync_api import expect

from tests.test_photo_quality import ORIENTATION_TAG, encoded, exposed, scene
from triage_service.attachments.quality import measure, thresholds

SCRIPT = Path(__file__).resolve().parents[2] / "triage_service" / "portal" / "static" / "portal" / "photo_check.js"
MAX_BYTES = 5_000_000


def open_form(page: Any, lang: str = "nl") -> None:
    """A bare upload form with the attributes the portal renders, and the script as the portal serves it."""
    limits = " ".join(f'data-{name.replace("_", "-")}="{value}"' for name, value in thresholds().items())
    page.set_content(f"""<!doctype html><html lang="{html.escape(lang)}"><body>
        <label for="photos">Foto's</label>
        <input id="photos" type="file" multiple data-photo-check data-preview="previews"
               data-max-bytes="{MAX_BYTES}" {limits}>
        <div id="previews"></div></body></html>""")
    page.add_script_tag(content=SCRIPT.read_text(encoding="utf-8"))


def choose(page: Any, *files: Path) -> Any:
    """Choose the files and wait until every one has its verdict; the previews' figures."""
    page.set_input_files("#photos", [str(file) for file in files])
    page.wait_for_function(
        "count => document.querySelectorAll('#previews .photo-ok, #previews .photo-warning').length === count",
        arg=len(files), timeout=15_000)
    return page.locator("#previews figure")


def save(path: Path, image: Image.Image) -> Path:
    path.write_bytes(encoded(image, "PNG" if path.suffix == ".png" else "JPEG"))
    return path


def test_the_gp_is_told_a_blurred_photo_is_onscherp_and_a_sharp_one_is_fine(page: Any, tmp_path: Path) -> None:
    sharp = save(tmp_path / "overzicht.jpg", scene())
    blurred = save(tmp_path / "detail.jpg", scene().filter(ImageFilter.GaussianBlur(3)))
    open_form(page)

    figures = choose(page, sharp, blurred)

    assert figures.count() == 2
    assert figures.nth(0).get_attribute("data-quality") == "ok"
    assert figures.nth(0).locator(".photo-ok").inner_text() == "Foto is scherp en goed belicht."
    expect(figures.nth(0).get_by_role("img", name="Voorbeeld van overzicht.jpg")).to_be_visible()
    assert figures.nth(1).get_attribute("data-quality") == "blurred"
    warning = figures.nth(1).get_by_role("status")
    assert warning.inner_text().startswith("Deze foto is onscherp. Maak hem opnieuw")
    assert warning.get_attribute("class") == "photo-warning"
    assert warning.get_attribute("aria-live") == "polite"


def test_dark_and_overexposed_photos_are_warned_about(page: Any, tmp_path: Path) -> None:
    dark = save(tmp_path / "donker.jpg", exposed(scene(), 1 / 6))
    bright = save(tmp_path / "fel.png", exposed(scene(), 2))
    open_form(page)

    figures = choose(page, dark, bright)

    assert figures.nth(0).get_attribute("data-quality") == "dark"
    assert figures.nth(0).locator(".photo-warning").inner_text().startswith("Deze foto is te donker.")
    assert figures.nth(1).get_attribute("data-quality") == "bright"
    assert figures.nth(1).locator(".photo-warning").inner_text().startswith("Deze foto is overbelicht.")


@pytest.mark.parametrize(("name", "size", "blur"), [
    ("klein.jpg", (480, 360), 0),
    ("klein-onscherp.jpg", (480, 360), 3),
    ("klein.png", (480, 360), 0),
    ("klein-onscherp.png", (480, 360), 4),
    ("groot.png", (1600, 1000), 0),  # shrunk by 4: the browser repeats Pillow's reduce exactly
    ("telefoon.jpg", (4032, 3024), 0),  # the server decodes at 1/8 (Image.draft), the browser averages 8x8
])
def test_the_browser_measures_as_the_server_does(
        page: Any, tmp_path: Path, name: str, size: tuple[int, int], blur: int) -> None:
    image = scene(size)
    assert_measured_alike(page, save(tmp_path / name, image.filter(ImageFilter.GaussianBlur(blur)) if blur else image))


def test_the_browser_turns_a_photo_upright_as_the_server_does(page: Any, tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6  # stored sideways, shown turned 90 degrees clockwise
    photo = tmp_path / "gedraaid.jpg"
    photo.write_bytes(encoded(scene((1300, 700)).transpose(Image.Transpose.ROTATE_90), exif=exif.tobytes()))

    assert_measured_alike(page, photo)


def assert_measured_alike(page: Any, photo: Path) -> None:
    server = measure(photo.read_bytes())
    assert server is not None
    open_form(page)

    figure = choose(page, photo).first

    assert float(figure.get_attribute("data-sharpness")) == pytest.approx(server.sharpness, rel=0.02)
    assert float(figure.get_attribute("data-brightness")) == pytest.approx(server.brightness, abs=0.5)
    assert figure.get_attribute("data-quality") == (" ".join(server.problems) or "ok")


def test_a_file_that_is_no_photo_or_pdf_or_too_large_gets_a_message_and_no_preview(
        page: Any, tmp_path: Path) -> None:
    gif = tmp_path / "animatie.gif"
    scene().save(gif, "GIF")
    huge = tmp_path / "groot.png"
    huge.write_bytes(encoded(scene(), "PNG") + bytes(MAX_BYTES))  # trailing bytes: too large, still a PNG
    pdf = tmp_path / "verwijsbrief.pdf"
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    open_form(page)

    page.set_input_files("#photos", [str(gif), str(huge), str(pdf)])
    page.wait_for_function("document.querySelectorAll('#previews .photo-rejected').length === 2", timeout=10_000)

    rejected = page.locator("#previews .photo-rejected")
    assert rejected.nth(0).inner_text().startswith("animatie.gif wordt niet meegestuurd")
    assert "de grens is 4,8 MB" in rejected.nth(1).inner_text()
    assert page.locator("#previews img").count() == 0
    assert page.locator("#previews figure").inner_text() == "verwijsbrief.pdf (PDF-document)"


def test_an_english_page_gets_english_warnings(page: Any, tmp_path: Path) -> None:
    blurred = save(tmp_path / "detail.jpg", scene().filter(ImageFilter.GaussianBlur(3)))
    open_form(page, lang="en-GB")

    figure = choose(page, blurred).first

    assert figure.locator(".photo-warning").inner_text().startswith("This photo is blurred.")
    assert figure.get_by_role("img", name="Preview of detail.jpg").count() == 1
