"""The inbox makes an urgent consult unmissable (issue 20): first in the list with an icon, its priority in words and
the time left; a banner on every page of the specialists it is called out to while nobody has taken it; and
"Ik pak hem op" on its page, which stops the alerts, says who took it, and refuses a second take in words."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.urgent.hap import KOK, MULDER, hap_request, hap_system
from tests.web.test_inbox import csrf, log_in
from triage_service.consults.advice import Advice, record_advice
from triage_service.consults.callouts import run_callout_jobs
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_PRACTICE_USERS, DEMO_USERS
from triage_service.models import AuditEntry, ConsultTask, UrgentCallout, User
from triage_service.security.demo_credentials import DEMO_STAFF
from triage_service.security.web_auth import inbox_user
from triage_service.web.urgent import countdown_text

USERS = {user[0]: user for user in DEMO_USERS}
NAMES = {MULDER: "dr. P. Mulder", KOK: "dr. E. Kok"}
AGB = "http://fhir.nl/fhir/NamingSystem/agb-z"
BANNER = 'class="urgent-banner"'


def _session(app: Flask, clock: FrozenClock, username: str) -> FlaskClient:
    http = app.test_client()
    secret = USERS[username][3] if username in USERS else next(
        u for u in [DEMO_STAFF, *DEMO_PRACTICE_USERS] if u[0] == username)[-1]
    assert log_in(http, clock, username, DEMO_PASSWORD, secret).status_code == 302
    return http


def _urgent_cardiology(app: Flask, clock: FrozenClock, consult_request: dict[str, Any]) -> tuple[str, str, str]:
    """An urgent question from the HAP in office hours: the least-loaded cardiologist has it, the other is the
    backup. Returns the consult and the usernames of the one called and the backup."""
    response = hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(consult_request))
    assert response.status_code == 201, response.get_json()
    consult_id = str(response.get_json()["id"])
    with session_scope(app) as session:
        owner = session.scalar(select(ConsultTask.owner_agb).where(ConsultTask.consult_id == consult_id))
    called, backup = ("cardioloog", "cardioloog2") if owner == MULDER else ("cardioloog2", "cardioloog")
    return consult_id, called, backup


def _text(response: Any) -> str:
    """The page's text without tags and with single spaces, as a reader sees it."""
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))
    return re.sub(r"\( ", "(", re.sub(r" ([,.:)])", r"\1", text))


def _take(http: FlaskClient, consult_id: str) -> Any:
    page = http.get(f"/consults/{consult_id}")
    return http.post(f"/consults/{consult_id}/take", data={"csrf_token": csrf(page)})


def test_the_time_left_is_said_in_hours_and_minutes_and_lateness_in_minutes(app: Flask, clock: FrozenClock) -> None:
    now = clock.now
    with app.test_request_context():
        assert countdown_text(now + timedelta(hours=1, minutes=12), now) == "nog 1 u 12 min"
        assert countdown_text(now + timedelta(hours=2), now) == "nog 2 u"
        assert countdown_text(now + timedelta(seconds=20), now) == "nog 1 min"
        assert countdown_text(now - timedelta(minutes=23), now) == "23 min te laat"
        assert countdown_text(now, now) == "1 min te laat"
        assert countdown_text(now + timedelta(days=2, hours=3, minutes=5), now) == "nog 2 d 3 u"
    with app.test_request_context(), force_locale("en"):
        assert countdown_text(now - timedelta(hours=1, minutes=5), now) == "1 h 5 min overdue"


def test_an_urgent_consult_is_listed_first_with_an_icon_its_priority_in_words_and_the_time_left(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    visser = [{"identifier": {"system": AGB, "value": "03100001"}}]
    routine = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=visser, reasonCode=[
        {"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "S74"}]}])).get_json()["id"]
    flagged = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=visser)).get_json()["id"]
    urgent = hap_system(app, clock).post("/fhir/ServiceRequest", hap_request(
        consult_request, specialism="0310", icpc="S88", performer=visser)).get_json()["id"]
    http = _session(app, clock, "dermatoloog")

    whole = http.get("/inbox").get_data(as_text=True)
    assert f'href="/consults/{urgent}"' in whole[:whole.index("<table")]  # the banner above the list
    page = whole[whole.index("<table"):]

    order = [page.index(f"/consults/{cid}") for cid in (urgent, flagged, routine)]
    assert order == sorted(order)
    row = page[page.rindex("<tr", 0, order[0]):page.index("</tr>", order[0])]
    assert 'class="urgent' in row and '<svg class="icon"' in row  # a colour and an icon...
    assert "Spoed" in row and "nog 4 u" in row and "Nog niet opgepakt" in row  # ...and words
    assert re.search(r'data-due="2026-11-23T13:00:00\+00:00"', row)  # the script ticks on from here
    routine_row = page[page.rindex("<tr", 0, order[2]):page.index("</tr>", order[2])]
    assert "urgent" not in routine_row and "countdown" not in routine_row  # routine rows as they were
    # The countdown's script is loaded, and allowed by the page's policy (our own files only, nothing inline).
    assert "countdown.js" in whole
    assert "script-src 'self'" in http.get("/inbox").headers["Content-Security-Policy"]


def test_an_overdue_urgent_consult_says_how_late_it_is(
        app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    _, called, _ = _urgent_cardiology(app, clock, consult_request)
    clock.advance(hours=2, minutes=23)
    page = _text(_session(app, clock, called).get("/inbox"))
    assert "23 min te laat" in page


def test_the_banner_is_on_every_page_of_both_cardiologists_and_of_nobody_else(
        app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    consult_id, called, backup = _urgent_cardiology(app, clock, consult_request)

    for username in (called, backup):
        http = _session(app, clock, username)
        for url in ("/inbox", "/inbox?view=answered", "/settings"):
            page = http.get(url)
            text = _text(page)
            assert "Spoedconsult wacht: nog niet opgepakt" in text, (username, url)
            assert "Cardiologie, Spoed, antwoord vóór 12:00 (nog 2 u), verstuurd 10:00: dienst opgeroepen" in text
            assert f'href="/consults/{consult_id}"' in page.get_data(as_text=True)
            assert 'role="alert"' in page.get_data(as_text=True)
    for username in ("dermatoloog", "zorggroep"):
        http = _session(app, clock, username)
        for url in ("/settings", "/inbox" if username == "dermatoloog" else "/dashboard"):
            page = http.get(url)
            assert page.status_code == 200 and BANNER not in page.get_data(as_text=True), (username, url)
    assert BANNER not in _session(app, clock, "huisarts").get("/huisarts/").get_data(as_text=True)


def test_the_banner_costs_one_query_and_none_for_staff(app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    from sqlalchemy import event

    _urgent_cardiology(app, clock, consult_request)
    engine = app.extensions["triage.engine"]
    seen: list[str] = []

    def note(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        if "urgent_callouts" in statement:
            seen.append(statement)

    cardiologist, staff = _session(app, clock, "cardioloog"), _session(app, clock, "zorggroep")
    event.listen(engine, "before_cursor_execute", note)
    try:
        cardiologist.get("/settings")
        assert len(seen) == 1
        seen.clear()
        staff.get("/settings")
        assert seen == []
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_taking_the_consult_stops_the_banner_and_shows_who_took_it_and_when(
        app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    consult_id, called, backup = _urgent_cardiology(app, clock, consult_request)
    http = _session(app, clock, called)
    page = http.get(f"/consults/{consult_id}")
    assert "Ik pak hem op" in page.get_data(as_text=True) and "Nog niet opgepakt." in _text(page)
    clock.advance(minutes=2)

    taken = _take(http, consult_id)

    assert taken.status_code == 302 and taken.headers["Location"].endswith(f"/consults/{consult_id}")
    text = _text(http.get(taken.headers["Location"]))
    assert "U heeft dit spoedconsult opgepakt; de huisartsenpost ziet dat." in text
    name = NAMES[MULDER if called == "cardioloog" else KOK]
    assert f"Opgepakt door {name}, 10:02." in text
    assert f"10:00 Opgeroepen: {name} (cardioloog) 10:02 Opgepakt door {name}" in text
    assert "Ik pak hem op" not in text and "Advies aan de huisarts" in text
    assert BANNER not in http.get(f"/consults/{consult_id}").get_data(as_text=True)
    assert BANNER not in _session(app, clock, backup).get("/inbox").get_data(as_text=True)
    listed = _text(http.get("/inbox?view=mine"))
    assert f"Opgepakt door {name}" in listed
    with session_scope(app) as session:
        callout = session.scalar(select(UrgentCallout))
        assert callout is not None and callout.next_alert_at is None and callout.taken_by_name == name
        assert session.scalar(select(AuditEntry).where(AuditEntry.event == "callout.take")) is not None


def test_a_second_take_says_who_already_took_it(app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    consult_id, called, backup = _urgent_cardiology(app, clock, consult_request)
    first, second = _session(app, clock, called), _session(app, clock, backup)
    page = second.get(f"/consults/{consult_id}")  # the backup may see it while it is called out
    assert page.status_code == 200 and "Ik pak hem op" in page.get_data(as_text=True)
    assert _take(first, consult_id).status_code == 302
    name = NAMES[MULDER if called == "cardioloog" else KOK]

    # The backup's page was opened before: the consult is no longer theirs to see, but they are told why.
    again = second.post(f"/consults/{consult_id}/take", data={"csrf_token": csrf(page)})
    assert again.status_code == 409
    assert f"{name} heeft dit spoedconsult al opgepakt (om 10:00)." in _text(again)
    assert "Vraag van de huisarts" not in _text(again)  # and nothing of the patient
    # The one who took it, pressing again, sees the consult with the same words.
    mine = first.post(f"/consults/{consult_id}/take", data={"csrf_token": csrf(first.get(f"/consults/{consult_id}"))})
    assert mine.status_code == 409 and f"{name} heeft dit spoedconsult al opgepakt" in _text(mine)
    assert "Vraag van de huisarts" in _text(mine)
    with session_scope(app) as session:
        refusals = session.scalars(select(AuditEntry.detail).where(AuditEntry.event == "web.callout.take")).all()
    assert refusals == ["refused=409", "refused=409"]


def test_a_take_by_someone_it_is_not_called_out_to_is_not_found(
        app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    consult_id, _, _ = _urgent_cardiology(app, clock, consult_request)
    http = _session(app, clock, "dermatoloog")
    response = http.post(f"/consults/{consult_id}/take", data={"csrf_token": csrf(http.get("/settings"))})
    assert response.status_code == 404 and "bestaat niet" in _text(response)
    with session_scope(app) as session:
        assert session.scalar(select(UrgentCallout.taken_at)) is None


def test_a_consult_that_is_not_called_out_or_no_longer_open_has_nothing_to_take(
        app: Flask, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    visser = [{"identifier": {"system": AGB, "value": "03100001"}}]
    routine = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=visser)).get_json()["id"]
    http = _session(app, clock, "dermatoloog")
    response = http.post(f"/consults/{routine}/take", data={"csrf_token": csrf(http.get("/settings"))})
    assert response.status_code == 409 and "wordt niet opgeroepen" in _text(response)

    consult_id, called, _ = _urgent_cardiology(app, clock, consult_request)
    cardiologist = _session(app, clock, called)
    page = cardiologist.get(f"/consults/{consult_id}")
    with session_scope(app) as session:  # answered in another tab, before the worker closed the call-out
        user = inbox_user(session, str(session.scalar(select(User.id).where(User.username == called))))
        assert user is not None
        record_advice(session, user, consult_id, Advice("Advies.", "primary-care-advice"), clock.now)
    response = cardiologist.post(f"/consults/{consult_id}/take", data={"csrf_token": csrf(page)})
    assert response.status_code == 409 and "niet meer open" in _text(response)


def test_a_take_without_the_forms_token_is_refused(app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    consult_id, called, _ = _urgent_cardiology(app, clock, consult_request)
    response = _session(app, clock, called).post(f"/consults/{consult_id}/take", data={})
    assert response.status_code == 400
    with session_scope(app) as session:
        assert session.scalar(select(UrgentCallout.taken_at)) is None


def test_after_the_backup_is_called_the_first_specialist_can_still_open_and_take_it(
        app: Flask, consult_request: dict, clock: FrozenClock) -> None:
    consult_id, called, _ = _urgent_cardiology(app, clock, consult_request)
    clock.advance(minutes=15)
    with session_scope(app) as session:
        assert run_callout_jobs(session, clock.now).escalated == 1
    http = _session(app, clock, called)
    text = _text(http.get("/inbox"))
    assert "niet opgepakt: achterwacht opgeroepen" in text

    page = http.get(f"/consults/{consult_id}")
    text = _text(page)
    # No longer theirs, but still called: they see the consult and the button, and answer once they have taken it.
    assert page.status_code == 200 and "Ik pak hem op" in text and "Advies aan de huisarts" not in text
    backup_name = NAMES[KOK if called == "cardioloog" else MULDER]
    assert f"10:15 Niet opgepakt; achterwacht opgeroepen: {backup_name} (cardioloog)" in text
    assert _take(http, consult_id).status_code == 302
    assert "Advies aan de huisarts" in _text(http.get(f"/consults/{consult_id}"))


@pytest.mark.parametrize("language", ["en"])
def test_the_call_out_speaks_english_on_the_language_switch(
        app: Flask, consult_request: dict, clock: FrozenClock, language: str) -> None:
    consult_id, called, _ = _urgent_cardiology(app, clock, consult_request)
    http = _session(app, clock, called)
    http.post("/language", data={"lang": language, "next": "/inbox", "csrf_token": csrf(http.get("/inbox"))})
    text = _text(http.get(f"/consults/{consult_id}"))
    assert "I'll take it" in text and "An urgent consult is waiting: not taken yet" in text
    assert "2 h left" in text and "specialist on call alerted" in text
