"""``next`` only ever leads to a path on this site: an open redirect would lend the service's name to phishing."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient

from tests.web.test_inbox import csrf
from triage_service.security.redirects import local_path

#: What an attacker might put in ``next``, as the form field arrives (already form-decoded).
NASTY = [
    "//evil.example", "//evil.example/", "///evil.example", "/\\evil.example", "\\\\evil.example", "\\/evil.example",
    "/\t/evil.example", "/\n/evil.example", "/\r/evil.example", "\t//evil.example", " //evil.example",
    "/ /evil.example", "/\x0b/evil.example", "/\x0c/evil.example", "/\x7f/evil.example", "/\x1f/evil.example",
    "/%09/evil.example", "/%2F/evil.example", "/%2f%2fevil.example", "/%5C/evil.example", "/%5cevil.example",
    "/%0a/evil.example", "/%250a/evil.example", "/%252F%252Fevil.example", "/%E3%80%82/evil.example",
    "https://evil.example", "http://evil.example/inbox", "HTTPS://evil.example", "//evil.example@testserver",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "data:text/html,<script>", "evil.example",
    "inbox", "", "/..//evil.example", "/%2e%2e//evil.example", "/./evil", "/inbox/../../evil",
    "/\u3002evil.example", "/\uff0f/evil.example", "/\u2028/evil.example", "/\u00a0/evil.example",
    "/inbox\"><script>", "/inbox<script>", "/" + "a" * 3000,
]


@pytest.mark.parametrize("target", NASTY)
def test_a_redirect_target_that_could_leave_the_site_is_replaced_by_the_default(target: str) -> None:
    assert local_path(target, "/inbox") == "/inbox"


@pytest.mark.parametrize("target", ["/inbox", "/login", "/dashboard", "/consults/2f1c0c84-54a9-4a0e-9d1b-3b0c5b2c1e7a",
                                    "/settings", "/inbox?view=group", "/dashboard#declarations"])
def test_a_path_on_this_site_is_kept(target: str) -> None:
    assert local_path(target, "/inbox") == target


@pytest.mark.parametrize("target", [None, 42, ["/inbox"]])
def test_a_missing_or_odd_target_gives_the_default(target: object) -> None:
    assert local_path(target, "/login") == "/login"


@pytest.mark.parametrize("target", NASTY)
def test_the_language_switch_never_redirects_off_the_site(client: FlaskClient, target: str) -> None:
    page = client.get("/login")
    response = client.post("/language", data={"lang": "en", "next": target, "csrf_token": csrf(page)})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert parts.netloc in ("", "testserver") and parts.scheme in ("", "http")
    # What a browser would make of it: it drops tabs and newlines and reads a backslash as a slash.
    cleaned = location.replace("\t", "").replace("\n", "").replace("\r", "").replace("\\", "/")
    assert urlsplit(cleaned).netloc in ("", "testserver")
    assert location.endswith("/inbox")


def test_the_language_switch_returns_to_the_page_it_was_pressed_on(client: FlaskClient) -> None:
    page = client.get("/login")
    response = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": csrf(page)})
    assert response.headers["Location"].endswith("/login")
