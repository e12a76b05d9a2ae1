"""The photo quality gate: a blurred or badly lit photo from the GP is recognised, so the GP can retake it.

The photos are made here with Pillow (nothing binary is committed): a skin-coloured scene with moles, hairs,
a ruler's text and a little sensor noise, drawn in relative coordinates so it can be made at any size."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from triage_service.attachments import quality
from triage_service.attachments.quality import PhotoQuality, measure, thresholds

LIGHT_SKIN = (200, 150, 125)
DARK_SKIN = (95, 62, 45)
VERY_DARK_SKIN = (60, 40, 30)
ORIENTATION_TAG = 0x0112


def scene(size: tuple[int, int] = (480, 360), skin: tuple[int, int, int] = LIGHT_SKIN, seed: int = 7) -> Image.Image:
    width, height = size
    rng = random.Random(seed)
    image = Image.new("RGB", size, skin)
    draw = ImageDraw.Draw(image)
    for _ in range(40):  # moles and patches, a little darker or lighter than the skin
        x, y = rng.random() * width, rng.random() * height
        rx, ry = rng.uniform(0.01, 0.08) * width, rng.uniform(0.01, 0.08) * width
        colour = tuple(max(0, min(255, channel + rng.randint(-90, 40))) for channel in skin)
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape((x - rx, y - ry, x + rx, y + ry), fill=colour)
    for _ in range(30):  # hairs
        x, y = rng.random() * width, rng.random() * height
        end = (x + rng.uniform(-0.1, 0.1) * width, y + rng.uniform(-0.1, 0.1) * width)
        draw.line((x, y, *end), fill=(60, 40, 30), width=max(1, width // 300))
    font = ImageFont.load_default(size=max(8, height // 14))
    draw.text((0.05 * width, 0.85 * height), "0 1 2 3 4 5 cm", fill=(20, 20, 20), font=font)
    # Sensor noise (sd ~1.5 grey levels), from the seeded generator: the same photo in every run.
    noise = Image.frombytes("L", size, rng.randbytes(width * height)).convert("RGB")
    return Image.blend(image, noise, 0.02)


def encoded(image: Image.Image, image_format: str = "JPEG", **options: object) -> bytes:
    out = io.BytesIO()
    # PNG at the lowest compression: noise does not compress, and level 6 takes seconds at 12 MP.
    defaults = {"quality": 90} if image_format == "JPEG" else {"compress_level": 1}
    image.save(out, image_format, **defaults | options)
    return out.getvalue()


def exposed(image: Image.Image, factor: float) -> Image.Image:
    """The photo as if taken with `factor` times the exposure (clipped, as a sensor does)."""
    return image.point(lambda value: min(255, round(value * factor)))


def measured(data: bytes) -> PhotoQuality:
    result = measure(data)
    assert result is not None
    return result


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_a_sharp_photo_passes(image_format: str) -> None:
    result = measured(encoded(scene(), image_format))

    assert result.problems == ()
    assert result.sharpness > 3 * quality.MIN_SHARPNESS


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
@pytest.mark.parametrize("radius", [2, 3, 4])
def test_a_blurred_photo_is_warned_about(image_format: str, radius: int) -> None:
    result = measured(encoded(scene().filter(ImageFilter.GaussianBlur(radius)), image_format))

    assert result.problems == ("blurred",)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_a_dark_photo_is_warned_about(image_format: str) -> None:
    result = measured(encoded(exposed(scene(), 1 / 6), image_format))

    # Dark, and only that: the photo is sharp, just underexposed.
    assert result.problems == ("dark",)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG"])
def test_an_overexposed_photo_is_warned_about(image_format: str) -> None:
    result = measured(encoded(exposed(scene(), 2), image_format))

    assert result.problems == ("bright",)
    assert result.bright_fraction > quality.MAX_BRIGHT_FRACTION


@pytest.mark.parametrize("skin", [DARK_SKIN, VERY_DARK_SKIN])
def test_well_lit_dark_skin_is_neither_too_dark_nor_blurred(skin: tuple[int, int, int]) -> None:
    # Dark skin has less contrast and a low mean grey; a good photo of it must not be sent back.
    assert measured(encoded(scene(skin=skin))).problems == ()
    assert measured(encoded(scene(skin=skin).filter(ImageFilter.GaussianBlur(3)))).problems == ("blurred",)


def test_a_pale_arm_in_good_light_is_not_overexposed() -> None:
    assert measured(encoded(scene(skin=(235, 215, 200)))).problems == ()


@pytest.mark.parametrize("data", [
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Count 0/Kids[]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n",
    b"",
    b"\xff\xd8\xff\xe0 not really a JPEG",
], ids=["pdf", "empty", "damaged-jpeg"])
def test_a_pdf_has_no_quality_measure(data: bytes) -> None:
    assert measure(data) is None


def test_a_half_received_jpeg_has_no_quality_measure() -> None:
    photo = encoded(scene())
    assert measure(photo[: len(photo) // 2]) is None


@pytest.fixture(scope="module")
def large() -> Image.Image:
    return scene((4032, 3024))  # 12 MP, as phones take them


def test_a_large_phone_photo_is_judged_like_its_small_copy(large: Image.Image) -> None:
    small = large.resize((504, 378), Image.Resampling.LANCZOS)

    from_phone, copy = measured(encoded(large)), measured(encoded(small))

    assert from_phone.problems == copy.problems == ()
    assert copy.sharpness / 1.25 < from_phone.sharpness < copy.sharpness * 1.25
    assert from_phone.brightness == pytest.approx(copy.brightness, abs=1)
    shaken = large.filter(ImageFilter.GaussianBlur(28))  # 3.5 px at analysis size
    assert measured(encoded(shaken)).problems == ("blurred",)
    assert measured(encoded(shaken.resize((504, 378), Image.Resampling.LANCZOS))).problems == ("blurred",)


def test_a_jpeg_decoded_at_reduced_scale_measures_like_the_full_image(large: Image.Image) -> None:
    # libjpeg's 1/8 decoding (Image.draft) stands in for averaging 8x8 blocks, as the browser does.
    as_jpeg, as_png = measured(encoded(large, quality=95)), measured(encoded(large, "PNG"))

    assert as_jpeg.sharpness == pytest.approx(as_png.sharpness, rel=0.05)
    assert as_jpeg.brightness == pytest.approx(as_png.brightness, abs=1)


def test_a_photo_is_judged_the_way_up_exif_says() -> None:
    photo = scene((1300, 700))
    exif = Image.Exif()
    exif[ORIENTATION_TAG] = 6  # "turn 90 degrees clockwise to show": the camera was held upright
    sideways = photo.transpose(Image.Transpose.ROTATE_90)

    assert measure(encoded(sideways, "PNG", exif=exif.tobytes())) == measure(encoded(photo, "PNG"))


def test_an_image_too_small_to_judge_is_called_blurred() -> None:
    result = measured(encoded(Image.new("RGB", (2, 2), LIGHT_SKIN), "PNG"))

    assert result.sharpness == 0
    assert result.problems == ("blurred",)


def test_the_problems_come_in_the_order_the_gp_reads_them() -> None:
    assert PhotoQuality(sharpness=0, brightness=0, dark_fraction=1, bright_fraction=1).problems == (
        "blurred", "dark", "bright")


def test_the_browser_gets_the_servers_limits() -> None:
    assert thresholds() == {
        "min_sharpness": quality.MIN_SHARPNESS,
        "min_brightness": quality.MIN_BRIGHTNESS,
        "max_brightness": quality.MAX_BRIGHTNESS,
        "max_dark_fraction": quality.MAX_DARK_FRACTION,
        "max_bright_fraction": quality.MAX_BRIGHT_FRACTION,
    }
