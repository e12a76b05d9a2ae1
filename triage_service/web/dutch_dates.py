"""Dates and months typed on the zorggroep's screens, in the Dutch way.

Why text fields and not ``<input type="date">`` / ``type="month"``: those show the date in the format of the
browser's own language, and a Dutch practice's browsers are often set to English (the dashboard showed
11/30/2026). A text field shows exactly what the server wrote, dd-mm-jjjj (30-11-2026) and mm-jjjj (11-2026),
whatever the browser; the field's hint says the format and the server parses it with a clear error beside the
field. The ISO forms (2026-11-30, 2026-11) are accepted too: bookmarks, the reporting API's parameters and the
links between the pages use them.
"""

from __future__ import annotations

import re
from datetime import date

from triage_service.reports.periods import Month

_DAY = re.compile(r"^(\d{1,2})[-./](\d{1,2})[-./](\d{4})$")
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_MONTH = re.compile(r"^(\d{1,2})[-./](\d{4})$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_day(text: str) -> date | None:
    """30-11-2026 (or 30/11/2026, 2026-11-30); None when it is not a date that exists."""
    text = text.strip()
    found = _DAY.match(text)
    parts = (found.group(3), found.group(2), found.group(1)) if found else None
    if parts is None and (iso := _ISO_DAY.match(text)):
        parts = (iso.group(1), iso.group(2), iso.group(3))
    if parts is None:
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def parse_month(text: str) -> Month | None:
    """11-2026 (or 2026-11); None when it is not a month."""
    text = text.strip()
    found = _MONTH.match(text)
    parts = (found.group(2), found.group(1)) if found else None
    if parts is None and (iso := _ISO_MONTH.match(text)):
        parts = (iso.group(1), iso.group(2))
    if parts is None or not 1 <= int(parts[1]) <= 12 or int(parts[0]) < 1900:
        return None
    return Month(int(parts[0]), int(parts[1]))


def day_text(day: date) -> str:
    return f"{day:%d-%m-%Y}"


def month_text(month: Month) -> str:
    return f"{month.month:02d}-{month.year:04d}"
