"""The inbox is Dutch by default: every message in the code and templates has a Dutch translation,
and the compiled catalogue the service loads matches its source."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "triage_service" / "web" / "translations" / "nl" / "LC_MESSAGES"
METHODS = [("triage_service/**.py", "python"), ("triage_service/web/templates/**.html", "jinja2")]


def _catalog() -> object:
    with (TRANSLATIONS / "messages.po").open("rb") as handle:
        return read_po(handle, locale="nl")


def test_every_message_in_code_and_templates_has_a_dutch_translation() -> None:
    catalog = _catalog()
    found = {message[2] if isinstance(message[2], str) else message[2][0]
             for message in extract_from_dir(str(ROOT), METHODS, keywords={**DEFAULT_KEYWORDS, "N_": None})}
    missing = sorted(m for m in found if not (entry := catalog.get(m)) or not entry.string)  # type: ignore[attr-defined]
    assert missing == [], "untranslated: run pybabel extract/update and translate these"


def test_the_compiled_catalogue_matches_its_source() -> None:
    compiled = io.BytesIO()
    write_mo(compiled, _catalog())  # type: ignore[arg-type]
    assert (TRANSLATIONS / "messages.mo").read_bytes() == compiled.getvalue()
