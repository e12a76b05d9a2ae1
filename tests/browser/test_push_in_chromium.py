"""Meldingen op dit apparaat in Chromium, on a phone (390 px) and a desktop: the inbox says notifications are off,
the settings page turns them on (permission, the real service worker at /inbox/sw.js for the whole site, the
server's key, the subscription posted with the CSRF token) and off again; a refusal and a browser without push are
said in words; the service worker shows a pushed message as a notification. axe-core finds no serious or critical
violations, nothing scrolls sideways, and the page's CSP blocks nothing.

Headless Chromium has no push service to subscribe at, so ``PushManager`` is stubbed in the page (an init script)
with the subscription a browser would make; everything else is the browser's own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import SCREENS, assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_inbox_in_chromium import log_in
from tests.conftest import FrozenClock
from tests.push_endpoint import Browser
from triage_service.database import session_scope
from triage_service.models import PushSubscription

ENDPOINT = "https://fcm.googleapis.com/fcm/send/chromium-test-device"
#: A browser's PushManager as far as the page uses it, returning this subscription.
FAKE_PUSH = """(subscription => {
  let current = null;
  PushManager.prototype.getSubscription = async function () { return current; };
  PushManager.prototype.subscribe = async function (options) {
    // Kept across the reload that follows (the settings page again, with the device).
    sessionStorage.setItem("subscribedWith", JSON.stringify({userVisibleOnly: options.userVisibleOnly,
                           key: Array.from(new Uint8Array(options.applicationServerKey))}));
    current = {endpoint: subscription.endpoint, options: {applicationServerKey: options.applicationServerKey},
               toJSON: () => subscription, unsubscribe: async () => { current = null; return true; }};
    return current;
  };
})(%s);"""
CSP_WATCH = """document.addEventListener("securitypolicyviolation",
    e => console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI));"""


@contextmanager
def open_page(chromium: Any, screen: str, live_server: str, *scripts: str,
              permitted: bool = True) -> Iterator[tuple[Any, list[str]]]:
    context = chromium.new_context(locale="nl-NL", **SCREENS[screen])
    if permitted:
        context.grant_permissions(["notifications"], origin=live_server)
    page = context.new_page()
    trouble: list[str] = []
    page.on("console", lambda m: trouble.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: trouble.append(f"exception: {error}"))
    for script in (CSP_WATCH, *scripts):
        page.add_init_script(script)
    try:
        yield page, trouble
    finally:
        context.close()


def devices(app: Flask) -> list[str]:
    with session_scope(app) as session:
        return list(session.scalars(select(PushSubscription.endpoint)))


def wait_for(page: Any, expression: str) -> Any:
    """The expression's first truthy value, asked again and again: ``page.wait_for_function`` evaluates a string,
    which the page's CSP (no 'unsafe-eval') rightly refuses, where ``page.evaluate`` is not subject to it."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        value = page.evaluate(expression)
        if value:
            return value
        page.wait_for_timeout(100)
    raise AssertionError(f"never true: {expression}")


def check_page(page: Any, name: str) -> None:
    assert axe_violations(page) == []
    assert_no_horizontal_scroll(page)
    screenshot(page, name)


def test_a_specialist_turns_notifications_on_and_off_on_the_settings_page(
        chromium: Any, screen: str, live_server: str, clock: FrozenClock, app: Flask) -> None:
    browser = Browser()
    with open_page(chromium, screen, live_server, FAKE_PUSH % json.dumps(browser.subscription(ENDPOINT))) as (
            page, trouble):
        log_in(page, live_server, clock)
        notice = page.get_by_role("note").filter(has_text="Meldingen staan uit op dit apparaat")
        expect(notice).to_be_visible()
        notice.get_by_role("link", name="zet ze aan bij Instellingen").click()

        page.wait_for_url(f"{live_server}/settings#push")
        button = page.get_by_role("button", name="Meldingen aanzetten")
        expect(button).to_be_visible()
        expect(page.get_by_text("Nog geen: een spoedconsult bereikt u alleen als u de inbox open heeft",
                                exact=False)).to_be_visible()
        check_page(page, f"push-settings-off-{screen}")

        button.click()
        page.get_by_text("Meldingen staan aan op dit apparaat.").wait_for()
        assert devices(app) == [ENDPOINT]
        expect(page.get_by_text("Chrome (", exact=False).first).to_be_visible()
        registration = page.evaluate("""async () => {
            const r = await navigator.serviceWorker.getRegistration("/");
            return r && {scope: r.scope, script: r.active && r.active.scriptURL}; }""")
        assert registration == {"scope": f"{live_server}/", "script": f"{live_server}/inbox/sw.js"}
        check_page(page, f"push-settings-on-{screen}")

        page.get_by_role("button", name="Uitzetten").click()
        page.get_by_text("Meldingen staan uit voor dat apparaat.").wait_for()
        assert devices(app) == []
        assert trouble == []


def test_the_browser_is_asked_with_the_servers_key_for_visible_notifications(
        chromium: Any, live_server: str, clock: FrozenClock, app: Flask) -> None:
    from tests.push_endpoint import unb64url
    from triage_service.notifications.push import vapid_public_key

    with open_page(chromium, "desktop", live_server, FAKE_PUSH % json.dumps(Browser().subscription(ENDPOINT))) as (
            page, trouble):
        log_in(page, live_server, clock)
        page.goto(f"{live_server}/settings")
        page.get_by_role("button", name="Meldingen aanzetten").click()
        page.get_by_text("Meldingen staan aan op dit apparaat.").wait_for()
        asked = json.loads(page.evaluate("sessionStorage.getItem('subscribedWith')"))
        assert asked["userVisibleOnly"] is True
        assert bytes(asked["key"]) == unb64url(vapid_public_key(app.extensions["triage.settings"]))
        assert trouble == []


@pytest.mark.parametrize(("script", "permitted", "words"), [
    ("Notification.requestPermission = async () => 'denied';", False,
     "Meldingen zijn geblokkeerd voor deze site. Sta ze toe in de site-instellingen van de browser"),
    ("Notification.requestPermission = async () => 'default';", False,
     "Er is geen toestemming gegeven. Druk opnieuw op de knop en kies Toestaan."),
])
def test_a_refused_permission_is_said_in_words_and_nothing_is_stored(
        chromium: Any, live_server: str, clock: FrozenClock, app: Flask, script: str, permitted: bool,
        words: str) -> None:
    with open_page(chromium, "telefoon", live_server, script, permitted=permitted) as (page, _):
        log_in(page, live_server, clock)
        page.goto(f"{live_server}/settings")
        page.get_by_role("button", name="Meldingen aanzetten").click()
        page.get_by_role("status").filter(has_text=words).wait_for()
        check_page(page, "push-settings-refused")
    assert devices(app) == []


def test_a_browser_without_push_is_told_so_and_shown_no_button(chromium: Any, live_server: str,
                                                               clock: FrozenClock) -> None:
    with open_page(chromium, "telefoon", live_server, "delete window.PushManager;") as (page, trouble):
        log_in(page, live_server, clock)
        page.goto(f"{live_server}/settings")
        expect(page.get_by_role("status").filter(has_text="Deze browser kan geen meldingen ontvangen")).to_be_visible()
        assert page.get_by_role("button", name="Meldingen aanzetten").count() == 0 or \
            not page.get_by_role("button", name="Meldingen aanzetten").is_visible()
        check_page(page, "push-settings-unsupported")
        assert trouble == []


def test_the_service_worker_shows_a_pushed_message_as_a_notification_that_stays_and_rings_again(
        chromium: Any, live_server: str, clock: FrozenClock) -> None:
    with open_page(chromium, "desktop", live_server, FAKE_PUSH % json.dumps(Browser().subscription(ENDPOINT))) as (
            page, _):
        log_in(page, live_server, clock)
        page.goto(f"{live_server}/settings")
        page.get_by_role("button", name="Meldingen aanzetten").click()
        page.get_by_text("Meldingen staan aan op dit apparaat.").wait_for()
        cdp = page.context.new_cdp_session(page)
        registrations: list[dict[str, Any]] = []
        cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
        cdp.send("ServiceWorker.enable")
        deadline = time.monotonic() + 10
        while not registrations and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        [registration] = [r for r in registrations if r["scopeURL"] == f"{live_server}/" and not r["isDeleted"]]
        message = {"title": "Spoedconsult wacht: Cardiologie", "body": "Spoed, antwoord vóór 22:30.",
                   "url": "/consults/abc", "tag": "callout-abc", "urgent": True}
        cdp.send("ServiceWorker.deliverPushMessage", {"origin": live_server,
                                                      "registrationId": registration["registrationId"],
                                                      "data": json.dumps(message)})
        shown = wait_for(page, """async () => {
            const found = await (await navigator.serviceWorker.getRegistration("/")).getNotifications();
            return found.length ? found.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data,
                                                   requireInteraction: n.requireInteraction,
                                                   renotify: n.renotify})) : null; }""")
        assert shown == [{"title": message["title"], "body": message["body"], "tag": "callout-abc",
                          "data": {"url": "/consults/abc"}, "requireInteraction": True, "renotify": True}]
