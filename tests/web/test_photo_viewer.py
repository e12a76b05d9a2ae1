"""The photo viewer's server side (issue 21, point 3): each photo's own page for browsers without script, the
viewer's markup and script on the consult page, and photo responses that nothing may cache."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_photos import jpeg_with_gps, photo_document, tiny_pdf, upload
from tests.web.test_inbox import browser, log_in  # noqa: F401 - the test client fixture
from triage_service.database import session_scope
from triage_service.models import AuditEntry

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


def consult_with_files(gp: GPSystem, consult_request: dict[str, Any]) -> tuple[str, list[str]]:
    """Two photos and a PDF (a document: no thumbnail, not in the viewer); the consult's id and the files' ids."""
    files = [(jpeg_with_gps(), "image/jpeg", "overzicht"), (jpeg_with_gps(), "image/jpeg", "detail"),
             (tiny_pdf(), "application/pdf", "verslag")]
    binaries, documents = [], []
    for data, content_type, title in files:
        binary = upload(gp, data, content_type).get_json()["id"]
        document = gp.post("/fhir/DocumentReference", photo_document(binary, contentType=content_type, title=title))
        assert document.status_code == 201, document.get_json()
        binaries.append(binary)
        documents.append({"reference": f"DocumentReference/{document.get_json()['id']}"})
    body = new_request(consult_request, supportingInfo=documents, performer=VISSER)
    body["code"]["coding"][0]["code"] = "e-consult"
    created = gp.post("/fhir/ServiceRequest", body)
    assert created.status_code == 201, created.get_json()
    return str(created.get_json()["id"]), binaries


def test_thumbnails_open_the_viewer_and_without_script_each_photos_own_page(
        browser: FlaskClient, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:  # noqa: F811
    consult_id, (first, second, pdf) = consult_with_files(gp, consult_request)
    log_in(browser, clock)
    response = browser.get(f"/consults/{consult_id}")
    page = response.get_data(as_text=True)

    # The links go to each photo's page; the viewer's script takes the full-size URL from data-viewer-full.
    assert f'href="/consults/{consult_id}/photos/{first}/bekijken"' in page
    assert re.findall(r'data-viewer-full="([^"]+)"', page) == [f"/consults/{consult_id}/photos/{first}",
                                                               f"/consults/{consult_id}/photos/{second}"]
    # The PDF is a plain link to the file, not a broken thumbnail, and not in the viewer.
    assert f'href="/consults/{consult_id}/photos/{pdf}"' in page and f"{pdf}?size=thumbnail" not in page
    assert 'class="photo-viewer"' in page and "photo-viewer.js" in page
    # The page may run our own script file now, and still nothing inline.
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy and "blob:" not in policy

    own_page = browser.get(f"/consults/{consult_id}/photos/{second}/bekijken")
    html = own_page.get_data(as_text=True)
    assert own_page.status_code == 200 and own_page.headers["Cache-Control"] == "no-store"
    assert f'src="/consults/{consult_id}/photos/{second}"' in html
    assert f'href="/consults/{consult_id}#photos"' in html  # the way back
    assert f'href="/consults/{consult_id}/photos/{first}/bekijken" rel="prev"' in html
    assert 'rel="next"' not in html and "2 van 2" in html
    assert "script-src" not in own_page.headers["Content-Security-Policy"]  # a page without script


def test_a_photos_page_is_audited_and_refused_for_a_file_that_is_not_one_of_the_consults_photos(
        app: Flask, browser: FlaskClient, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:  # noqa: F811
    consult_id, (first, _second, pdf) = consult_with_files(gp, consult_request)
    _other, (other_photo, *_rest) = consult_with_files(gp, consult_request)
    log_in(browser, clock)

    assert browser.get(f"/consults/{consult_id}/photos/{first}/bekijken").status_code == 200
    assert browser.get(f"/consults/{consult_id}/photos/{pdf}/bekijken").status_code == 404  # a document
    assert browser.get(f"/consults/{consult_id}/photos/{other_photo}/bekijken").status_code == 404
    assert browser.get(f"/consults/{consult_id}/photos/onbekend/bekijken").status_code == 404
    with session_scope(app) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.event == "web.photo.page")).all()
        assert [(e.resource_type, e.resource_id, e.action.value) for e in entries] == [("Binary", first, "R")]
        assert entries[0].patient_ref and entries[0].actor_id == "dermatoloog"


def test_photo_responses_are_never_cached(browser: FlaskClient, gp: GPSystem, consult_request: dict,  # noqa: F811
                                          clock: FrozenClock) -> None:
    consult_id, (first, _second, pdf) = consult_with_files(gp, consult_request)
    log_in(browser, clock)
    for url in (f"/consults/{consult_id}/photos/{first}", f"/consults/{consult_id}/photos/{first}?size=thumbnail",
                f"/consults/{consult_id}/photos/{pdf}"):
        response = browser.get(url)
        response.get_data()  # read each streamed response before the next request
        assert response.status_code == 200, url
        # no-store for every cache; Pragma and a past Expires for HTTP/1.0 proxies that ignore Cache-Control.
        assert response.headers["Cache-Control"] == "no-store", url
        assert response.headers["Pragma"] == "no-cache" and response.headers["Expires"] == "0", url
