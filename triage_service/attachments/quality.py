"""Is a huisarts's photo good enough to judge? Most are not: onscherp (camera shake, focus on the background) or
badly lit. This measures a photo so the GP can be told to retake it while the patient is still there.

The browser runs the same measure before sending (portal/static/portal/photo_check.js); both follow the same
steps with the same integer arithmetic, so the GP's warning and the server's verdict agree:

1. Decode, turn upright by EXIF, convert to grey with Pillow's "L" weights (ITU-R 601-2, 16-bit fixed point).
2. Shrink by the whole factor that brings the longest side to at most ANALYSIS_SIZE, averaging each block of
   pixels (Pillow's Image.reduce; JS repeats its rounding). A 12 MP phone photo and a small copy of it are then
   judged at the same scale, and measuring costs the same for both. (A large JPEG is the one difference: the
   server lets libjpeg decode it at 1/2 to 1/8 scale, which averages much like the blocks; measured < 0.1 %.)
3. Sharpness: the variance of the 3x3 Laplacian, the 1-px border left out (Pillow copies it unfiltered).
   Brightness: the mean grey; and the shares of crushed (< 16) and blown-out (> 239) pixels.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

ANALYSIS_SIZE = 512
DARK_BELOW = 16  # grey levels 0-15: black without detail
BRIGHT_ABOVE = 239  # grey levels 240-255: white without detail

# How the limits were set: on the photo-like scenes of tests/test_photo_quality.py (480x360, skin with moles,
# hairs, a ruler's text, sensor noise), in JPEG and PNG. Sharpness: sharp 458-465 on light skin and 79-116 on
# very dark skin (less contrast, so less Laplacian), the light scene after a Gaussian blur of radius 2, 3 and 4
# px only 1.1-3.1. MIN_SHARPNESS is near the geometric middle of 79 and 3.1, a factor 5 from either side.
# Real GP photos should move it, if anything: the test scenes are a model, not a sample.
MIN_SHARPNESS = 15.0
# Exposure: the scene at 1/6 of its exposure has mean grey 25.5, well-lit very dark skin 41.9 (it must not be
# "too dark": the patient's skin is not the photo's fault), so MIN_BRIGHTNESS lies between them; the scene at
# twice the exposure has mean 243 with 81 % blown out, a pale arm in good light 208 with 1 %.
MIN_BRIGHTNESS = 32.0
MAX_BRIGHTNESS = 225.0
# Half the picture black or white without detail: whatever the mean, too much of the skin cannot be seen.
MAX_DARK_FRACTION = 0.5
MAX_BRIGHT_FRACTION = 0.5

# The 4-neighbour Laplacian. In "L" the result is clipped to 0..255, so the offset puts zero at 128: the values
# a blurred photo has (|v| < 128) stay exact, and only a photo far sharper than MIN_SHARPNESS saturates.
_LAPLACIAN = ImageFilter.Kernel((3, 3), [0, 1, 0, 1, -4, 1, 0, 1, 0], scale=1, offset=128)
# The upload types that are photos (attachments.photos.ACCEPTED); a narrower parser surface, too.
_FORMATS = ("JPEG", "PNG")


@dataclass(frozen=True)
class PhotoQuality:
    sharpness: float  # variance of the Laplacian at analysis size
    brightness: float  # mean grey, 0-255
    dark_fraction: float  # share of pixels below DARK_BELOW
    bright_fraction: float  # share of pixels above BRIGHT_ABOVE

    @property
    def problems(self) -> tuple[str, ...]:
        """What to tell the GP, in the order the messages are shown: "blurred", "dark", "bright"."""
        found = []
        if self.sharpness < MIN_SHARPNESS:
            found.append("blurred")
        if self.brightness < MIN_BRIGHTNESS or self.dark_fraction > MAX_DARK_FRACTION:
            found.append("dark")
        if self.brightness > MAX_BRIGHTNESS or self.bright_fraction > MAX_BRIGHT_FRACTION:
            found.append("bright")
        return tuple(found)


def reduction_factor(width: int, height: int) -> int:
    """The whole factor that brings the longest side to at most ANALYSIS_SIZE (1: already small enough)."""
    return max(1, -(-max(width, height) // ANALYSIS_SIZE))


def measure(data: bytes) -> PhotoQuality | None:
    """The photo's quality, or None when the bytes are not a JPEG or PNG that decodes (a PDF, a damaged file).

    The caller has checked the upload's size and pixel count already (attachments.photos.check_file)."""
    try:
        with Image.open(io.BytesIO(data), formats=_FORMATS) as image:
            factor = reduction_factor(*image.size)
            if image.format in ("JPEG", "MPO") and factor > 1:  # MPO: the JPEG of many phones' cameras
                # Let libjpeg decode at 1/2, 1/4 or 1/8 (up to 64x less work and memory): the largest of them
                # that divides the factor, so the analysis size stays the one the browser gets.
                scale = min(factor & -factor, 8)
                image.draft("RGB", (max(1, image.width // scale), max(1, image.height // scale)))
                factor = reduction_factor(*image.size)  # what is left after the draft's own reduction
            ImageOps.exif_transpose(image, in_place=True)
            grey = image.convert("L")
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        return None
    if factor > 1:
        grey = grey.reduce(factor)
    histogram = grey.histogram()
    pixels = grey.width * grey.height
    if grey.width > 2 and grey.height > 2:
        edges = grey.filter(_LAPLACIAN).crop((1, 1, grey.width - 1, grey.height - 1))
        sharpness = float(ImageStat.Stat(edges).var[0])
    else:
        sharpness = 0.0  # no inner pixel to measure: too small to judge, and surely too small to use
    return PhotoQuality(
        sharpness=sharpness,
        brightness=float(ImageStat.Stat(grey).mean[0]),
        dark_fraction=sum(histogram[:DARK_BELOW]) / pixels,
        bright_fraction=sum(histogram[BRIGHT_ABOVE + 1:]) / pixels,
    )


def thresholds() -> dict[str, float]:
    """The limits, for the upload form to render as data attributes: the browser warns by the same numbers."""
    return {
        "min_sharpness": MIN_SHARPNESS,
        "min_brightness": MIN_BRIGHTNESS,
        "max_brightness": MAX_BRIGHTNESS,
        "max_dark_fraction": MAX_DARK_FRACTION,
        "max_bright_fraction": MAX_BRIGHT_FRACTION,
    }
