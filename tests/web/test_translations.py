"""The inbox is Dutch by default: every message in the code and templates has a Dutch translation,
and the catalogue the service loads is compiled from that source when it starts."""

from __future__ import annotations

import gettext
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from triage_service.web.catalogue import compile_catalogues

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "triage_service" / "web" / "translations" / "nl" / "LC_MESSAGES"
METHODS = [("triage_service/**.py", "python"), ("triage_service/web/templates/**.html", "jinja2"),
           ("triage_service/portal/templates/**.html", "jinja2")]


def _catalog() -> object:
    with (TRANSLATIONS / "messages.po").open("rb") as handle:
        return read_po(handle, locale="nl")


def test_every_message_in_code_and_templates_has_a_dutch_translation() -> None:
    catalog = _catalog()
    found = {message[2] if isinstance(message[2], str) else message[2][0]
             for message in extract_from_dir(str(ROOT), METHODS, keywords={**DEFAULT_KEYWORDS, "N_": None})}
    missing = sorted(m for m in found if not (entry := catalog.get(m)) or not entry.string)  # type: ignore[attr-defined]
    assert missing == [], "untranslated: run pybabel extract/update and translate these"


def test_the_catalogue_the_service_loads_is_compiled_from_its_source_with_every_translation(
        tmp_path: Path) -> None:
    compiled = compile_catalogues(tmp_path) / "nl" / "LC_MESSAGES" / "messages.mo"
    with compiled.open("rb") as handle:
        loaded = gettext.GNUTranslations(handle)
    translated = [m for m in _catalog() if m.id and m.string]  # type: ignore[attr-defined]
    assert len(translated) > 300
    for message in translated:
        if isinstance(message.id, str):
            assert loaded.gettext(message.id) == message.string
        else:  # a plural: both forms, as Dutch counts them
            assert loaded.ngettext(message.id[0], message.id[1], 1) == message.string[0]
            assert loaded.ngettext(message.id[0], message.id[1], 2) == message.string[1]


def test_no_compiled_catalogue_is_committed_beside_its_source() -> None:
    # A committed .mo carries the bytes of the Babel release that wrote it, not of its source.
    assert list(TRANSLATIONS.glob("*.mo")) == []
