"""Meldingen op dit apparaat: a specialist turns Web Push on in Instellingen (the browser posts its subscription,
with the CSRF token), sees the devices and turns one off; a bad subscription is refused in words and nothing is
stored; every inbox page says so while no device has notifications on."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock
from tests.push_endpoint import Browser
from tests.web.test_inbox import csrf, log_in
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_STAFF, DEMO_USERS
from triage_service.models import AuditEntry, PushSubscription

FCM = "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH-example-token"
ANDROID_CHROME = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Mobile Safari/537.36")
NOTICE = "Meldingen staan uit op dit apparaat"


@pytest.fixture
def visser(app: Flask, clock: FrozenClock) -> FlaskClient:
    browser = app.test_client()
    log_in(browser, clock)
    return browser


def turn_on(browser: FlaskClient, subscription: Any, token: str | None = None) -> Any:
    token = csrf(browser.get("/settings")) if token is None else token
    return browser.post("/inbox/push/devices", data=json.dumps({"subscription": subscription}),
                        headers={"Content-Type": "application/json", "X-CSRFToken": token,
                                 "User-Agent": ANDROID_CHROME})


def stored(app: Flask) -> list[PushSubscription]:
    with session_scope(app) as session:
        found = list(session.scalars(select(PushSubscription)))
        for row in found:
            session.expunge(row)
        return found


def test_the_settings_page_offers_notifications_with_the_key_the_script_and_a_csp_that_allows_them(
        app: Flask, visser: FlaskClient) -> None:
    response = visser.get("/settings")
    page = response.get_data(as_text=True)

    assert "Meldingen op dit apparaat" in page and "Meldingen aanzetten" in page
    key = re.search(r'data-key="([A-Za-z0-9_-]+)"', page)
    assert key and len(key.group(1)) == 87  # 65 bytes: an uncompressed P-256 point
    assert '<script src="/static/web/push.js" defer></script>' in page
    # No devices yet, and (no mail server here) nothing else reaches the specialist outside the inbox: said plainly.
    assert "Nog geen: een spoedconsult bereikt u alleen als u de inbox open heeft" in page
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy and "worker-src 'self'" in policy
    assert NOTICE not in page  # the page itself says it


def test_turning_notifications_on_stores_the_device_and_lists_it_with_a_button_to_turn_it_off(
        app: Flask, visser: FlaskClient) -> None:
    browser = Browser()
    response = turn_on(visser, browser.subscription(FCM))

    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json() == {"message": "Meldingen staan aan op dit apparaat.", "settings": "/settings#push"}
    [row] = stored(app)
    assert (row.endpoint, row.p256dh, row.device) == (FCM, browser.p256dh, "Chrome (Android)")
    page = visser.get("/settings").get_data(as_text=True)
    assert "Meldingen staan aan op dit apparaat." in page  # the flash, shown after the script reloads the page
    assert "Chrome (Android), aan sinds 23 nov 2026 10:00" in page
    assert f'action="/inbox/push/devices/{row.id}/off"' in page


def test_turning_a_device_off_removes_it_and_says_so(app: Flask, visser: FlaskClient) -> None:
    turn_on(visser, Browser().subscription(FCM))
    [row] = stored(app)
    token = csrf(visser.get("/settings"))

    response = visser.post(f"/inbox/push/devices/{row.id}/off", data={"csrf_token": token})

    assert response.status_code == 303 and response.headers["Location"].endswith("/settings#push")
    assert stored(app) == []
    assert "Meldingen staan uit voor dat apparaat." in visser.get("/settings").get_data(as_text=True)
    again = visser.post(f"/inbox/push/devices/{row.id}/off", data={"csrf_token": token})
    assert again.status_code == 303
    assert "Dat apparaat krijgt al geen meldingen meer." in visser.get("/settings").get_data(as_text=True)
    with session_scope(app) as session:
        events = session.scalars(select(AuditEntry.event).where(AuditEntry.event.like("web.push.%"))).all()
    assert sorted(events) == ["web.push.subscribe", "web.push.unsubscribe"]


def test_another_users_device_cannot_be_turned_off(app: Flask, visser: FlaskClient, clock: FrozenClock) -> None:
    turn_on(visser, Browser().subscription(FCM))
    [row] = stored(app)
    mulder = app.test_client()
    cardioloog = next(u for u in DEMO_USERS if u[0] == "cardioloog")
    log_in(mulder, clock, cardioloog[0], DEMO_PASSWORD, cardioloog[3])
    response = mulder.post(f"/inbox/push/devices/{row.id}/off", data={"csrf_token": csrf(mulder.get("/settings"))})
    assert response.status_code == 303
    assert len(stored(app)) == 1


GOOD = Browser().subscription(FCM)


@pytest.mark.parametrize(("subscription", "words"), [
    (None, "Stuur het pushabonnement van de browser als JSON-object."),
    ({**GOOD, "keys": {"auth": GOOD["keys"]["auth"]}}, "De sleutel p256dh van het pushabonnement"),
    ({**GOOD, "keys": {"p256dh": GOOD["keys"]["p256dh"]}}, "De sleutel auth van het pushabonnement"),
    ({k: v for k, v in GOOD.items() if k != "keys"}, "Het pushabonnement heeft geen sleutels"),
    ({**GOOD, "endpoint": "http://fcm.googleapis.com/fcm/send/x"}, "moet beginnen met https://"),
    ({**GOOD, "endpoint": "https://10.0.0.7/push"}, "privé- of lokaal netwerkadres"),
    ({**GOOD, "endpoint": "https://127.0.0.1:8443/push"}, "standaardpoort"),
    ({**GOOD, "endpoint": FCM + "x" * 1100}, "te lang"),
])
def test_a_bad_subscription_gets_400_with_words_and_nothing_is_stored(app: Flask, visser: FlaskClient,
                                                                      subscription: Any, words: str) -> None:
    response = turn_on(visser, subscription)

    assert response.status_code == 400
    assert words in response.get_json()["error"]
    assert stored(app) == []


def test_a_body_that_is_not_json_gets_400_with_words(app: Flask, visser: FlaskClient) -> None:
    response = visser.post("/inbox/push/devices", data="endpoint=x",
                           headers={"Content-Type": "text/plain", "X-CSRFToken": csrf(visser.get("/settings"))})
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]
    assert stored(app) == []


def test_without_the_csrf_token_nothing_is_stored(app: Flask, visser: FlaskClient) -> None:
    assert turn_on(visser, GOOD, token="").status_code == 400
    assert turn_on(visser, GOOD, token="forged").status_code == 400
    assert visser.post(f"/inbox/push/devices/{'0' * 8}/off").status_code == 400
    assert stored(app) == []


def test_without_a_login_nothing_is_stored(app: Flask) -> None:
    anonymous = app.test_client()
    response = anonymous.post("/inbox/push/devices", data=json.dumps({"subscription": GOOD}),
                              headers={"Content-Type": "application/json"})
    assert response.status_code in (400, 401)
    assert stored(app) == []


def test_zorggroep_staff_are_not_offered_notifications_and_cannot_turn_them_on(app: Flask, clock: FrozenClock) -> None:
    staff = app.test_client()
    log_in(staff, clock, DEMO_STAFF[0], DEMO_PASSWORD, DEMO_STAFF[3])
    page = staff.get("/settings")
    assert "Meldingen op dit apparaat" not in page.get_data(as_text=True)
    assert "worker-src" not in page.headers["Content-Security-Policy"]
    assert NOTICE not in staff.get("/dashboard").get_data(as_text=True)
    assert turn_on(staff, GOOD).status_code == 403
    assert stored(app) == []


def test_every_inbox_page_says_when_no_device_gets_notifications_until_one_does(app: Flask,
                                                                               visser: FlaskClient) -> None:
    page = visser.get("/inbox").get_data(as_text=True)
    assert NOTICE in page and 'href="/settings#push"' in page
    turn_on(visser, GOOD)
    assert NOTICE not in visser.get("/inbox").get_data(as_text=True)


def test_the_service_worker_is_served_for_the_whole_site_as_javascript_to_anyone(app: Flask) -> None:
    response = app.test_client().get("/inbox/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "showNotification" in response.get_data(as_text=True)
