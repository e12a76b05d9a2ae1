"""A refusal on a screen says why in words (api/errors.py): a conflict or a refused right shows the domain's own
sentence in the user's language; a 404 keeps its plain page, as its message names ids, not reasons."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from tests.conftest import FrozenClock, GPSystem
from tests.test_first_line import ACCOUNTS, answer_as
from tests.test_overflow import submit
from tests.web.test_inbox import csrf, log_in

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]


def test_answering_a_consult_that_is_no_longer_open_says_so(app: Flask, gp: GPSystem, clock: FrozenClock,
                                                            consult_request: dict) -> None:
    consult_id = submit(gp, clock, consult_request, performer=VISSER)
    client = app.test_client()
    _, _, _, secret = ACCOUNTS["dermatoloog"]
    assert log_in(client, clock, username="dermatoloog", secret=secret).status_code == 302
    token = csrf(client.get(f"/consults/{consult_id}"))  # the form as it was, open
    clock.now += timedelta(minutes=1)  # a colleague's browser tab answers it meanwhile
    assert answer_as(app, clock, "dermatoloog", consult_id).status_code == 302

    again = client.post(f"/consults/{consult_id}/answer", data={
        "advice": "Toch nog een advies.", "outcome": "primary-care-advice", "minutes": "5", "csrf_token": token})

    assert again.status_code == 409
    page = again.get_data(as_text=True)
    assert "Dit consult is niet meer open" in page, page[:2000]


def test_an_unknown_consult_keeps_the_plain_not_found_page(app: Flask, clock: FrozenClock) -> None:
    client = app.test_client()
    _, _, _, secret = ACCOUNTS["dermatoloog"]
    assert log_in(client, clock, username="dermatoloog", secret=secret).status_code == 302

    page = client.get("/consults/00000000-0000-0000-0000-000000000000")

    assert page.status_code == 404
    assert "Dit consult bestaat niet of is niet aan u of uw groep toegewezen." in page.get_data(as_text=True)
