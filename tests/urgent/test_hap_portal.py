"""The out-of-hours post's GP in the portal: asks an urgent question about another practice's patient, names
that practice, and sees the call-out: who was called, and who took it."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FrozenClock
from tests.urgent.hap import KOK, MULDER, OWN_PRACTICE, put_on_call
from tests.urgent.test_callout import FRIDAY_22
from tests.web.test_portal import browser, consult_form, gp_logs_in, send  # noqa: F401 - the browser fixture
from triage_service.consults.callouts import run_callout_jobs
from triage_service.database import session_scope
from triage_service.demo import DEMO_PRACTICE_USERS
from triage_service.models import Consult

HOEKSTRA = next(user for user in DEMO_PRACTICE_USERS if user[0] == "huisarts-hap")


def _urgent_cardiology(**changes: str) -> dict[str, str]:
    return consult_form(ask="0320|e-consult", icpc="K77", complaint="Pijn op de borst sinds een uur",
                        question="ECG zonder ST-elevatie; kan hij thuisblijven?", urgency="urgent", **changes)


def test_the_post_s_gp_is_asked_for_the_patient_s_own_practice_and_offered_only_the_post_s_agreements(
        browser: FlaskClient, clock: FrozenClock) -> None:  # noqa: F811
    gp_logs_in(browser, clock, HOEKSTRA)
    assert "Consulten van de huisartsenpost" in browser.get("/huisarts/").get_data(as_text=True)
    page = browser.get("/huisarts/nieuw").get_data(as_text=True)
    assert "AGB-code van de eigen huisartspraktijk van de patiënt" in page
    # Only the urgencies the post's agreements admit, starting at "urgent".
    assert '<option value="urgent" selected>' in page and '<option value="routine"' not in page
    assert "0320|e-consult" in page and "0330" not in page  # no orthopaedics: the post has no such agreement
    refused = send(browser, _urgent_cardiology(), photos=0)
    assert refused.status_code == 422
    assert "Vul de AGB-code van de eigen huisartspraktijk van de patiënt in" in refused.get_data(as_text=True)
    # The post's own AGB is eight digits all right, but not a practice: the form says so.
    own = send(browser, _urgent_cardiology(own_practice="04010001"), photos=0)
    assert own.status_code == 422
    assert "Deze AGB-code is niet van een huisartspraktijk" in own.get_data(as_text=True)


def test_the_post_s_gp_sees_who_was_called_and_who_took_the_consult(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:  # noqa: F811
    clock.now = FRIDAY_22
    put_on_call(app, FRIDAY_22 - timedelta(hours=14), FRIDAY_22 + timedelta(hours=10), on_call=MULDER, backup=KOK)
    gp_logs_in(browser, clock, HOEKSTRA)
    response = send(browser, _urgent_cardiology(own_practice=OWN_PRACTICE), photos=0)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    consult_id = response.headers["Location"].rsplit("/", 1)[-1]
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None and consult.patient_practice_agb == OWN_PRACTICE
        assert consult.task.owner_agb == MULDER
    page = browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)
    assert "Opgeroepen: dr. P. Mulder" in page and "Nog niet opgepakt" in page
    assert "Huisartsenpraktijk De Linde (AGB 03012345)" in page
    clock.advance(minutes=15)
    with session_scope(app) as session:
        run_callout_jobs(session, clock.now)
    page = browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)
    assert "Niet op tijd opgepakt; nu opgeroepen: dr. E. Kok" in page


def test_the_patients_own_practice_reads_the_posts_consult_and_its_letter_but_cannot_act_on_it(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:  # noqa: F811
    import re

    from sqlalchemy import select

    from tests.web.test_inbox import csrf
    from triage_service.consults.advice import Advice, record_advice
    from triage_service.models import AuditEntry, User
    from triage_service.security.web_auth import inbox_user

    gp_logs_in(browser, clock, HOEKSTRA)
    sent = send(browser, _urgent_cardiology(own_practice=OWN_PRACTICE), photos=0)
    consult_id = sent.headers["Location"].rsplit("/", 1)[-1]
    with session_scope(app) as session:
        owner = session.get(Consult, consult_id)
        assert owner is not None
        agb = owner.task.owner_agb
        specialist = inbox_user(session, session.scalar(select(User.id).where(
            User.username == ("cardioloog" if agb == MULDER else "cardioloog2"))) or "")
        assert specialist is not None
        record_advice(session, specialist, consult_id, Advice("Frequentiecontrole, morgen naar de eigen huisarts.",
                                                              "treat-in-primary-care"), clock.now)

    jansen = app.test_client()
    gp_logs_in(jansen, clock)  # dr. A. Jansen of De Linde, the patient's own practice
    listing = jansen.get("/huisarts/").get_data(as_text=True)
    assert "Van de huisartsenpost, over uw patiënten" in listing and consult_id in listing
    page = jansen.get(f"/huisarts/consults/{consult_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "De huisartsenpost vroeg dit over uw patiënt" in html
    assert "Frequentiecontrole" in html and "Annuleer" not in html and "/cancel" not in html
    letter = re.search(r'href="(/huisarts/consults/[^"]+/brief/[^"]+)"', html)
    assert letter is not None
    pdf = jansen.get(letter.group(1))
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    # Acting on it is the post's: a cancel from the own practice finds no consult of theirs.
    refused = jansen.post(f"/huisarts/consults/{consult_id}/cancel", data={"csrf_token": csrf(page)})
    assert refused.status_code == 404
    with session_scope(app) as session:
        reads = session.scalars(select(AuditEntry.actor_id).where(AuditEntry.resource_id == consult_id,
                                                                  AuditEntry.event == "portal.consult.view")).all()
    assert "huisarts" in reads

    other = app.test_client()
    gp_logs_in(other, clock, next(u for u in DEMO_PRACTICE_USERS if u[0] == "huisarts-anker"))
    assert other.get(f"/huisarts/consults/{consult_id}").status_code == 404
    assert consult_id not in other.get("/huisarts/").get_data(as_text=True)
