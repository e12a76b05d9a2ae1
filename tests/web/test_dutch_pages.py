"""No English on a Dutch page (issue 21).

Every demo role logs in and every screen it has is rendered in Dutch: the specialist's inbox (each view),
a flagged consult (and a photo's page when it has one), settings and text snippets, the zorggroep's
dashboard and close-month preview, the rota maker's rota and a shift, and the GP's portal (list, new
consult, consult). The visible text (text nodes and the attributes a user sees or hears: title,
placeholder, aria-label, alt, a button's value; not scripts, styles or code) is cut into segments at the
tags. A segment fails the test when it is an English msgid of the catalogue whose Dutch differs (a string
not passed through gettext, or a msgid missing from the catalogue), or when it holds an agreement's
English translation (``*_en`` in config/agreements). Codes, names and numbers never equal a msgid, so
they pass without a list of exceptions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from tests.conftest import FrozenClock, GPSystem
from tests.web.test_inbox import VISSER, _submit, log_in
from triage_service.agreements.rota import import_rota
from triage_service.agreements.rota_files import read_rota_file
from triage_service.audit.trail import CLI_ACTOR
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_PRACTICE_USERS, DEMO_ROTA_MAKER, DEMO_STAFF
from triage_service.models import OnCallShift, Organisation, User

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "triage_service" / "web" / "translations" / "nl" / "LC_MESSAGES" / "messages.po"
PERFORMER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
JANSEN = DEMO_PRACTICE_USERS[0]  # GP of De Linde, the practice of the `gp` fixture's consults
ROTA = ("begin;einde;dienst;achterwacht\n2026-11-23 08:00;2026-11-24 08:00;03100001;03100002\n"
        "2026-11-24 08:00;2026-11-25 08:00;03100002;03100001\n")
VISIBLE_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
#: Elements whose content the user does not read as text (code is shown as written: element paths, codes).
HIDDEN = ("script", "style", "code", "pre", "template", "noscript")


def _placeholder_pattern(msgid: str) -> re.Pattern[str] | None:
    """A msgid with %(name)s placeholders as a pattern; None when too little of it is fixed text to tell."""
    parts = re.split(r"%\([a-z_]+\)[sd]|%\([a-z_]+\)02d", msgid)
    if sum(len(re.sub(r"[^A-Za-z]", "", part)) for part in parts) < 8:
        return None
    return re.compile(r"[^<>]+?".join(re.escape(part) for part in parts), re.S)


@functools.cache
def _english_msgids() -> tuple[set[str], list[tuple[str, re.Pattern[str]]]]:
    """The catalogue's English msgids whose Dutch differs: exact ones and ones with placeholders."""
    exact: set[str] = set()
    patterns: list[tuple[str, re.Pattern[str]]] = []
    with CATALOGUE.open("rb") as file:
        catalogue = read_po(file, locale="nl")
    for message in catalogue:
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for msgid in ids:
            if not msgid or msgid in strings or not re.search(r"[A-Za-z]{2}", msgid):
                continue
            if "%(" in msgid:
                pattern = _placeholder_pattern(msgid)
                if pattern is not None:
                    patterns.append((msgid, pattern))
            else:
                exact.add(_normal(msgid))
    return exact, patterns


@functools.cache
def _agreement_english() -> frozenset[str]:
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and key.endswith("_en") and isinstance(value, str):
                    found.add(_normal(value).rstrip("."))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for file in sorted((ROOT / "config" / "agreements").glob("*.yaml")):
        walk(yaml.safe_load(file.read_text(encoding="utf-8")))
    return frozenset(found)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class _Visible(HTMLParser):
    """The text segments a user sees or hears, split at every tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.segments: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        values = dict(attrs)
        shown = [values.get(name) for name in VISIBLE_ATTRIBUTES]
        if tag == "input" and values.get("type") in ("submit", "button", "reset"):
            shown.append(values.get("value"))
        self.segments.extend(_normal(value) for value in shown if value and _normal(value))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in HIDDEN:
            self._hidden -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and _normal(data):
            self.segments.append(_normal(data))


def visible_segments(page: str) -> list[str]:
    parser = _Visible()
    parser.feed(page)
    parser.close()
    return parser.segments


def english_on(page: str) -> list[str]:
    """Each English text on a page: a segment that is an English msgid, or agreement English in it."""
    exact, patterns = _english_msgids()
    agreement = _agreement_english()
    found = []
    for segment in visible_segments(page):
        bare = segment.strip("←→ .:…")  # "← Back to the inbox", "Invoegen:"
        is_msgid = segment in exact or bare in exact or f"{bare}." in exact
        if is_msgid or any(pattern.fullmatch(segment) for _, pattern in patterns) or \
                any(english in segment for english in agreement):
            found.append(segment)
    return found


def _get(http: FlaskClient, url: str) -> str:
    response = http.get(url)
    # 422: the page with a form's errors beside the fields (a month with nothing to declare) is a page too.
    assert response.status_code in (200, 422), f"{url}: {response.status_code}"
    page = response.get_data(as_text=True)
    assert re.search(r'<html lang="?nl"?', page), f"{url} is not in Dutch"
    return page


def _logged_in(app: Flask, clock: FrozenClock, username: str, secret: str) -> FlaskClient:
    http = app.test_client()
    assert log_in(http, clock, username, DEMO_PASSWORD, secret).status_code == 302
    clock.advance(seconds=30)  # each login its own TOTP code
    return http


def _links(page: str, prefix: str) -> list[str]:
    return sorted({href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', page)
                   if href.startswith(prefix)})


@pytest.fixture
def flagged(gp: GPSystem, consult_request: dict[str, Any]) -> str:
    return _submit(gp, consult_request, performer=PERFORMER)  # S82: a red flag


def _specialist_pages(app: Flask, clock: FrozenClock, consult_id: str) -> Iterator[tuple[str, str]]:
    http = _logged_in(app, clock, VISSER[0], VISSER[3])
    inbox = _get(http, "/inbox")
    yield "/inbox", inbox
    for url in _links(inbox, "/inbox?"):
        yield url, _get(http, url)
    consult = _get(http, f"/consults/{consult_id}")
    yield f"/consults/{consult_id}", consult
    photos = [url for url in _links(consult, f"/consults/{consult_id}/photos/") if url.endswith("/bekijken")]
    for url in photos[:1]:  # the example request carries no photo; a consult with one shows the viewer page
        yield url, _get(http, url)
    for url in ("/settings", "/inbox/tekstblokken"):
        yield url, _get(http, url)


def _staff_pages(app: Flask, clock: FrozenClock) -> Iterator[tuple[str, str]]:
    http = _logged_in(app, clock, DEMO_STAFF[0], DEMO_STAFF[3])
    for url in ("/dashboard", "/dashboard?from=2026-11-01&to=2026-11-30&group_by=agreement",
                "/dashboard?from=2020-01-01&to=2020-01-31", "/dashboard/close?insurer=3311&period=2026-10",
                "/dashboard/kwartaalrapportage?kwartaal=2026-Q4", "/settings"):
        yield url, _get(http, url)


def _rota_pages(app: Flask, clock: FrozenClock) -> Iterator[tuple[str, str]]:
    with session_scope(app) as session:  # the demo's dermatologists on call, so the rota has shifts to show
        organisation = session.scalar(select(Organisation.id).where(Organisation.agb == DEMO_ROTA_MAKER[2]))
        assert organisation is not None
        import_rota(session, CLI_ACTOR, read_rota_file("rooster.csv", ROTA.encode()), organisation_id=organisation,
                    specialism="0310")
    http = _logged_in(app, clock, DEMO_ROTA_MAKER[0], DEMO_ROTA_MAKER[3])
    yield "/inbox/rooster", _get(http, "/inbox/rooster")
    with session_scope(app) as session:
        shift = session.scalar(select(OnCallShift.id).join(Organisation, Organisation.id == OnCallShift.organisation_id)
                               .where(Organisation.agb == DEMO_ROTA_MAKER[2]).limit(1))
    assert shift is not None
    if shift:
        yield f"/inbox/rooster/diensten/{shift}", _get(http, f"/inbox/rooster/diensten/{shift}")
    yield "/settings", _get(http, "/settings")


def _portal_pages(app: Flask, clock: FrozenClock, consult_id: str) -> Iterator[tuple[str, str]]:
    http = _logged_in(app, clock, JANSEN[0], JANSEN[4])
    listing = _get(http, "/huisarts/")
    yield "/huisarts/", listing
    yield "/huisarts/nieuw", _get(http, "/huisarts/nieuw")
    yield f"/huisarts/consults/{consult_id}", _get(http, f"/huisarts/consults/{consult_id}")


def test_the_checker_finds_english_and_passes_dutch() -> None:
    page = ('<html lang="nl"><body><h1>Te beantwoorden</h1><p>To answer</p><button title="Search">x</button>'
            '<p>Toegewezen aan <b>dr. L. Visser</b></p><script>var s = "To answer";</script>'
            "<p>03100001 · S82 · 2026-11-23</p><p>Likely referral (Verdenking): a suspected skin malignancy is "
            "usually excised and followed up in the hospital.</p></body></html>")
    assert english_on(page) == ["To answer", "Search", "Likely referral (Verdenking): a suspected skin malignancy "
                                "is usually excised and followed up in the hospital."]


def test_every_page_of_every_role_is_dutch(app: Flask, clock: FrozenClock, flagged: str) -> None:
    pages = [*_specialist_pages(app, clock, flagged), *_staff_pages(app, clock), *_rota_pages(app, clock),
             *_portal_pages(app, clock, flagged)]
    found = {url: english for url, page in pages if (english := english_on(page))}
    assert len(pages) >= 13
    assert found == {}, "English on a Dutch page:\n" + "\n".join(f"{url}: {english}" for url, english in found.items())


def test_the_same_consult_page_in_english_is_caught(app: Flask, clock: FrozenClock, flagged: str) -> None:
    """The checker's control: an English inbox and consult page are full of what it looks for."""
    with session_scope(app) as session:
        session.execute(update(User).where(User.username == VISSER[0]).values(language="en"))
    http = _logged_in(app, clock, VISSER[0], VISSER[3])
    page = http.get(f"/consults/{flagged}").get_data(as_text=True)
    found = english_on(page)
    assert "← Back to the inbox" in found
    assert any("a changing pigmented lesion needs dermatoscopy" in text for text in found)  # the agreement's English
