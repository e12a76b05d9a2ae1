"""The patient's upload link as a QR code, for the GP to show or print (consults/patient_photos.py)."""

from __future__ import annotations

import segno
from flask_babel import gettext as _


def qr_svg(url: str) -> str:
    """The link as a QR code, an SVG drawn into the page (nothing loaded from elsewhere), to print or show the
    patient; medium error correction survives a creased printout."""
    label = _("QR code of the link for the patient")
    svg: str = segno.make(url, error="m").svg_inline(scale=4, title=label)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1)
