"""The practice's consult list names each consult's form inside a sentence ("Dermatologie, eenmalig consult
medisch specialist (ECMS), S74"): lowered for the sentence, but an abbreviation keeps its capitals."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from tests.conftest import FrozenClock
from tests.web.test_portal import consult_form, gp_logs_in, send
from triage_service.database import session_scope
from triage_service.models import Consult
from triage_service.web.labels import form_in_sentence


def test_a_form_label_in_a_sentence_lowers_only_its_first_letter() -> None:
    label = form_in_sentence({"ecms": "Eenmalig consult medisch specialist (ECMS)", "e-consult": "E-consult"})
    assert label("ecms") == "eenmalig consult medisch specialist (ECMS)"
    assert label("e-consult") == "e-consult"
    assert label("unknown-form") == "unknown-form"


def test_the_practice_s_list_shows_an_ecms_consult_with_ecms_in_capitals(
        app: Flask, clock: FrozenClock) -> None:
    browser: FlaskClient = app.test_client()
    gp_logs_in(browser, clock)
    sent = send(browser, consult_form())
    assert sent.status_code == 302
    consult_id = sent.headers["Location"].rsplit("/", 1)[-1]
    with session_scope(app) as session:
        session.execute(update(Consult).where(Consult.id == consult_id).values(consult_form="ecms"))
    listing = browser.get("/huisarts/").get_data(as_text=True)
    assert "eenmalig consult medisch specialist (ECMS)" in listing
    assert "(ecms)" not in listing
    detail = browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)
    assert "Eenmalig consult medisch specialist (ECMS)" in detail
