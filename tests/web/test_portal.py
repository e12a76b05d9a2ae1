"""The GP's own screens: a practice asks for advice from a browser, through the same intake as its HIS."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageDraw
from sqlalchemy import func, select

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.web.test_inbox import csrf, log_in
from triage_service.consults.advice import Advice, ask_gp, record_advice
from triage_service.database import session_scope
from triage_service.demo import DEMO_PRACTICE_USERS, DEMO_USERS
from triage_service.models import AuditEntry, Consult, ConsultDraft, ConsultTask, TaskStatus
from triage_service.security.web_auth import inbox_user

JANSEN = DEMO_PRACTICE_USERS[0]  # GP of De Linde (03012345), the practice of the `gp` fixture's client
BAKKER = DEMO_PRACTICE_USERS[1]  # GP of Het Anker
ASSISTANT = DEMO_PRACTICE_USERS[2]  # De Linde's assistant: prepares, does not send
VISSER = DEMO_USERS[0]


def sharp_photo() -> bytes:
    """A photo-like JPEG with edges everywhere, so the quality gate finds it sharp and well lit."""
    image = Image.new("RGB", (800, 600), (200, 160, 140))
    draw = ImageDraw.Draw(image)
    for x in range(0, 800, 16):
        for y in range(0, 600, 16):
            if (x // 16 + y // 16) % 2:
                draw.rectangle((x, y, x + 7, y + 7), fill=(90, 60, 50))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def gp_logs_in(browser: FlaskClient, clock: FrozenClock, user: tuple[Any, ...] = JANSEN) -> Any:
    return log_in(browser, clock, username=user[0], secret=user[4])


def consult_form(**changes: str) -> dict[str, Any]:
    form = {"ask": "0310|e-consult", "category": "meekijkconsult", "bsn": "999990019", "family": "Fictief",
            "given": "Test", "birth_date": "1968-04-12", "sex": "female", "postcode": "3011 AB", "insurer": "3311",
            "icpc": "S74", "complaint": "Schilferende plekken liezen", "question": "Is dit nog een dermatomycose?",
            "urgency": "routine", "intent": "would-refer", "conversion": "no", "photos_checked": "1"}
    form.update(changes)
    return form


def send(browser: FlaskClient, form: dict[str, Any], photos: int = 2, path: str = "/huisarts/nieuw") -> Any:
    page = browser.get(path)
    data = {**form, "csrf_token": csrf(page), "action": form.get("action", "send")}
    data["photos"] = [(io.BytesIO(sharp_photo()), f"foto{n}.jpg", "image/jpeg") for n in range(photos)]
    return browser.post(path, data=data, content_type="multipart/form-data")


@pytest.fixture
def browser(app: Flask) -> FlaskClient:
    return app.test_client()


def test_a_gp_logs_in_to_the_practice_s_consults_in_dutch(browser: FlaskClient, clock: FrozenClock) -> None:
    response = gp_logs_in(browser, clock)
    assert response.status_code == 302 and response.headers["Location"].endswith("/huisarts/")
    page = browser.get("/huisarts/").get_data(as_text=True)
    assert '<html lang="nl">' in page and "Consulten van de praktijk" in page and "Nieuw consult" in page


def test_a_gp_is_kept_out_of_the_specialist_inbox_and_a_specialist_out_of_the_portal(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    assert browser.get("/inbox").headers["Location"].endswith("/")
    specialist = app.test_client()
    log_in(specialist, clock)
    response = specialist.get("/huisarts/")
    assert response.status_code == 302 and not response.headers["Location"].endswith("/huisarts/")


def test_a_gp_sends_an_e_consult_with_two_photos_that_is_routed_like_one_from_the_his(
        app: Flask, browser: FlaskClient, clock: FrozenClock, gp: GPSystem, consult_request: dict[str, Any]) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, consult_form())
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    consult_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)
    assert "Uw consult is verstuurd" in page and "Verstuurd, toegewezen" in page
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None and consult.photo_count == 2 and consult.client_pk is None
        assert consult.task.status is TaskStatus.ACCEPTED and consult.task.owner_agb in ("03100001", "03100002")
        sent_by = session.scalars(select(AuditEntry.actor_id).where(AuditEntry.event == "fhir.create",
                                                                   AuditEntry.resource_type == "ServiceRequest",
                                                                   AuditEntry.resource_id == consult_id)).all()
        assert sent_by == [JANSEN[0]]  # the person (NEN 7513), not a system
    from_portal = gp.get(f"/fhir/ServiceRequest/{consult_id}").get_json()
    posted = gp.post("/fhir/ServiceRequest", new_request(consult_request)).get_json()
    assert set(from_portal) == set(posted) | {"supportingInfo"}
    assert from_portal["meta"]["profile"] == posted["meta"]["profile"]
    assert [c["resourceType"] for c in from_portal["contained"]] == [c["resourceType"] for c in posted["contained"]]
    task = gp.get(f"/fhir/Task?focus=ServiceRequest/{consult_id}").get_json()["entry"][0]["resource"]
    assert task["status"] == "accepted"


def test_a_bad_bsn_is_shown_beside_its_field_in_dutch_and_nothing_is_sent(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, consult_form(bsn="123456789"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="bsn-error"' in page and "elfproef" in page and 'aria-invalid="true"' in page
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Consult)) == 0
        draft = session.scalars(select(ConsultDraft)).one()  # kept, with its photos, for the correction
        assert len(draft.files) == 2 and draft.consult_id is None


def test_an_icpc_code_no_agreement_covers_is_refused_and_the_form_says_which_are_covered(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    form_page = browser.get("/huisarts/nieuw").get_data(as_text=True)
    assert "Gedekt door de afspraken" in form_page and "Dermatologie: S" in form_page
    response = send(browser, consult_form(icpc="K86"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="icpc-error"' in page and "Niet gedekt: geen afspraak dekt deze klacht" in page and "gedekt: S" in page
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Consult)) == 0
        assert session.scalar(select(func.count()).select_from(ConsultTask)) == 0


def test_another_practice_s_consult_is_not_found(browser: FlaskClient, clock: FrozenClock, app: Flask) -> None:
    gp_logs_in(browser, clock)
    consult_id = send(browser, consult_form()).headers["Location"].rsplit("/", 1)[-1]
    other = app.test_client()
    gp_logs_in(other, clock, BAKKER)
    assert other.get(f"/huisarts/consults/{consult_id}").status_code == 404
    assert consult_id not in other.get("/huisarts/").get_data(as_text=True)


def test_practice_staff_prepare_a_consult_but_only_a_gp_sends_it(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    log_in(browser, clock, username=ASSISTANT[0], secret=ASSISTANT[4])
    page = browser.get("/huisarts/nieuw").get_data(as_text=True)
    assert "Overdragen aan een huisarts" in page and 'value="send"' not in page
    handed = send(browser, consult_form(action="ready"))
    assert handed.status_code == 302
    refused = send(browser, consult_form(action="send"), photos=0, path=handed.headers["Location"])
    assert refused.status_code == 403
    with session_scope(app) as session:
        draft = session.scalars(select(ConsultDraft)).one()
        assert draft.status.value == "ready" and draft.consult_id is None
    gp = app.test_client()
    gp_logs_in(gp, clock)
    assert "Klaar voor een huisarts" in gp.get("/huisarts/").get_data(as_text=True)
    sent = send(gp, consult_form(), photos=0, path=handed.headers["Location"])
    assert sent.status_code == 302 and "/huisarts/consults/" in sent.headers["Location"]


def test_the_gp_answers_the_specialist_s_question_and_confirms_the_advice(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    consult_id = send(browser, consult_form()).headers["Location"].rsplit("/", 1)[-1]
    with session_scope(app) as session:
        owner = session.get(Consult, consult_id).task.owner_agb  # type: ignore[union-attr]
        specialist = next(u for u in DEMO_USERS if u[2] == owner)
        from triage_service.models import User

        user = inbox_user(session, session.scalars(select(User.id).where(User.username == specialist[0])).one())
        assert user is not None
        ask_gp(session, user, consult_id, "Is de rand schilferend?", clock())
    page = browser.get("/huisarts/")
    assert "Vraag van de specialist" in page.get_data(as_text=True)
    detail = browser.get(f"/huisarts/consults/{consult_id}")
    question_id = detail.get_data(as_text=True).split('name="question_id" value="')[1].split('"')[0]
    empty = browser.post(f"/huisarts/consults/{consult_id}/answer",
                         data={"csrf_token": csrf(detail), "question_id": question_id, "answer": " "})
    assert empty.status_code == 400 and 'id="answer-error"' in empty.get_data(as_text=True)
    answered = browser.post(f"/huisarts/consults/{consult_id}/answer", content_type="multipart/form-data",
                            data={"csrf_token": csrf(detail), "question_id": question_id, "answer": "Ja, scherp.",
                                  "photos": [(io.BytesIO(sharp_photo()), "rand.jpg", "image/jpeg")]})
    assert answered.status_code == 302
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None and consult.task.status is TaskStatus.IN_PROGRESS
        assert [len(m.document_ids or []) for m in consult.messages if m.sender_role == "gp"] == [1]
    # The two photos of the request and the one sent with the answer, each a link to the full photo.
    assert browser.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True).count('target="_blank"') == 3
    with session_scope(app) as session:
        record_advice(session, user, consult_id, Advice("Terbinafine 250 mg, 2 weken.", "primary-care-advice"),
                      clock())
    detail = browser.get(f"/huisarts/consults/{consult_id}")
    assert "Advies ontvangen" in detail.get_data(as_text=True)
    confirmed = browser.post(f"/huisarts/consults/{consult_id}/acknowledge", data={"csrf_token": csrf(detail)})
    assert confirmed.status_code == 302
    with session_scope(app) as session:
        assert session.get(Consult, consult_id).task.business_status == "advice-acknowledged"  # type: ignore[union-attr]


def test_the_gp_cancels_an_open_consult(app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    consult_id = send(browser, consult_form()).headers["Location"].rsplit("/", 1)[-1]
    detail = browser.get(f"/huisarts/consults/{consult_id}")
    response = browser.post(f"/huisarts/consults/{consult_id}/cancel",
                            data={"csrf_token": csrf(detail), "reason": "Patiënt is opgeknapt"})
    assert response.status_code == 302
    with session_scope(app) as session:
        assert session.get(Consult, consult_id).task.status is TaskStatus.CANCELLED  # type: ignore[union-attr]


def test_a_patient_outside_the_agreed_age_band_is_told_beside_the_birth_date(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, consult_form(birth_date="2016-04-12"))  # a child: the photo profile is 18 and over
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="birth_date-error"' in page and "18 tot en met 120" in page
    assert 'id="consult_form-error"' in page
    assert "Voor deze patiënt dekken de afspraken:" in page and "Intercollegiaal consult</p>" in page
    with session_scope(app) as session:
        assert session.scalar(select(func.count()).select_from(Consult)) == 0


def test_an_e_consult_without_the_required_photos_is_told_beside_the_photos(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    response = send(browser, consult_form(), photos=1)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="files-error"' in page and "minstens 2 foto" in page
    assert 'id="consult_form-error"' not in page  # the chosen form is not what is wrong


def test_when_the_advice_says_refer_the_gp_starts_the_referral_from_the_consult_and_sends_it_for_triage(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    consult_id = send(browser, consult_form()).headers["Location"].rsplit("/", 1)[-1]
    with session_scope(app) as session:
        from triage_service.models import User

        owner = session.get(Consult, consult_id).task.owner_agb  # type: ignore[union-attr]
        username = next(u[0] for u in DEMO_USERS if u[2] == owner)
        user = inbox_user(session, session.scalars(select(User.id).where(User.username == username)).one())
        assert user is not None
        record_advice(session, user, consult_id, Advice("Graag verwijzen voor biopsie.", "referral-indicated",
                                                        "0310", "urgent"), clock())
    detail = browser.get(f"/huisarts/consults/{consult_id}")
    assert "Advies: verwijzing" in browser.get("/huisarts/").get_data(as_text=True) or \
        "Advies ontvangen" in detail.get_data(as_text=True)
    started = browser.post(f"/huisarts/consults/{consult_id}/referral", data={"csrf_token": csrf(detail)})
    assert started.status_code == 302
    form_page = browser.get(started.headers["Location"]).get_data(as_text=True)
    assert 'value="referral" checked' in form_page and "Advies in het meekijkconsult" in form_page
    sent = send(browser, consult_form(category="referral", ask="0310|intercollegial-consult", urgency="urgent"),
                photos=0, path=started.headers["Location"])
    assert sent.status_code == 302, sent.get_data(as_text=True)[:3000]
    with session_scope(app) as session:
        referral = session.get(Consult, sent.headers["Location"].rsplit("/", 1)[-1])
        assert referral is not None and referral.is_referral_for_triage and referral.priority == "urgent"


def test_a_link_to_a_consult_opened_while_logged_out_opens_that_consult_after_the_login(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    gp_logs_in(browser, clock)
    consult_id = send(browser, consult_form()).headers["Location"].rsplit("/", 1)[-1]
    later = app.test_client()  # the GP follows the e-mail's link in another browser
    assert later.get(f"/huisarts/consults/{consult_id}").headers["Location"].endswith("/login")
    clock.advance(seconds=60)  # the next TOTP code
    response = gp_logs_in(later, clock)
    assert response.headers["Location"].endswith(f"/huisarts/consults/{consult_id}")


def test_a_specialist_following_a_portal_link_lands_on_their_own_start_page(
        app: Flask, browser: FlaskClient, clock: FrozenClock) -> None:
    assert browser.get("/huisarts/").status_code == 302
    response = log_in(browser, clock)
    assert browser.get(response.headers["Location"]).headers["Location"].endswith("/")
