"""Every member of an expertise team reads the team's consults (issue 23, point 3): a member who did not take one
opens its page, photos and letter read-only (the MDO is theirs too), each read audited as a team member's; someone
outside the team still gets a 404. And an overdue consult in a team's queue is in its members' inbox notice, as a
group queue's is in the group's, and in nobody else's."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.team_helpers import BAKKER, KRAMER, TEAM_AGB, VISSER, send, user, wound_request
from tests.test_photos import jpeg_with_gps, photo_document, upload
from tests.web.test_inbox import csrf, log_in
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import advice, mdo
from triage_service.consults.teams import take_from_queue
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_USERS
from triage_service.errors import NotFound
from triage_service.models import AuditEntry, ExpertiseTeam
from triage_service.reports.overdue import queues_overdue

CARDIOLOGIST = next(u for u in DEMO_USERS if u[0] == "cardioloog")
ANSWER = "Advies van het wondzorgteam: compressietherapie klasse 2, wondbed reinigen, na vier weken evalueren."


def _text(page: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))


def _client(app: Flask, clock: FrozenClock, account: tuple[Any, ...]) -> FlaskClient:
    client = app.test_client()
    log_in(client, clock, account[0], DEMO_PASSWORD, account[3])
    return client


def with_photo(gp: GPSystem, consult_request: dict[str, Any]) -> tuple[str, str]:
    binary = upload(gp, jpeg_with_gps(), "image/jpeg").get_json()["id"]
    document = gp.post("/fhir/DocumentReference", photo_document(binary, contentType="image/jpeg", title="ulcus"))
    assert document.status_code == 201, document.get_json()
    body = wound_request(consult_request)
    body["supportingInfo"] = [{"reference": f"DocumentReference/{document.get_json()['id']}"}]
    return send(gp, body), str(binary)


def _taken_by_bakker(app: Flask, consult_id: str, clock: FrozenClock) -> None:
    with session_scope(app) as session:
        take_from_queue(session, CLI_ACTOR, user(app, BAKKER[0]), consult_id, clock.now)


def _reads(app: Flask, username: str) -> list[tuple[str, str | None]]:
    with session_scope(app) as session:
        return [(e.event, e.detail) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.actor_id == username, AuditEntry.event.in_(
                ("web.consult.view", "web.photo.view", "web.photo.page"))).order_by(AuditEntry.id))]


def test_a_member_who_did_not_take_the_consult_reads_it_and_its_photo_read_only_and_each_read_is_audited(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id, photo = with_photo(gp, consult_request)
    _taken_by_bakker(app, consult_id, clock)
    kramer = _client(app, clock, KRAMER)

    page = kramer.get(f"/consults/{consult_id}")
    assert page.status_code == 200
    text = _text(page)
    assert f"U leest dit consult als lid van het team. {BAKKER[1]} heeft het en verstuurt het antwoord" in text
    assert "Vraag van de huisarts" in text and "S97" in text  # the GP's question and the complaint
    assert "Advies versturen" not in text and "Ik neem hem" not in text  # read-only: the holder answers
    assert "Terugverwijzen naar de huisarts" not in text  # nor refers the patient back
    assert "Zet op de agenda van het MDO" in text  # the MDO is every member's
    assert kramer.get(f"/consults/{consult_id}/photos/{photo}?size=thumbnail").status_code == 200
    assert kramer.get(f"/consults/{consult_id}/photos/{photo}/bekijken").status_code == 200
    assert _reads(app, KRAMER[0]) == [("web.consult.view", "access=team-member"),
                                      ("web.photo.view", "thumbnail; access=team-member"),
                                      ("web.photo.page", "access=team-member")]

    refused = kramer.post(f"/consults/{consult_id}/answer", data={
        "advice": ANSWER, "outcome": "primary-care-advice", "on_behalf": "team", "csrf_token": csrf(page)})
    assert refused.status_code == 404  # reading gives no hold: the domain refuses the answer
    with session_scope(app) as session, pytest.raises(NotFound):
        advice.record_advice(session, user(app, KRAMER[0]), consult_id, advice.Advice(
            ANSWER, "primary-care-advice", on_behalf_of_team=True), clock.now)

    bakker = _client(app, clock, BAKKER)
    assert "U leest dit consult als lid" not in _text(bakker.get(f"/consults/{consult_id}"))
    assert _reads(app, BAKKER[0]) == [("web.consult.view", None)]  # the holder reads it as their own


def test_a_member_may_put_a_consult_another_member_holds_on_the_mdo_and_the_agenda_links_to_it(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    _taken_by_bakker(app, consult_id, clock)
    visser = _client(app, clock, VISSER)
    page = visser.get(f"/consults/{consult_id}")
    placed = visser.post(f"/consults/{consult_id}/mdo", data={"mdo_date": "25-11-2026", "csrf_token": csrf(page)},
                         follow_redirects=True)
    assert "Op de agenda van het MDO van woensdag 25 november 2026" in _text(placed)
    with session_scope(app) as session:
        team_id = session.scalars(select(ExpertiseTeam.id)).one()
    agenda = visser.get(f"/teams/{team_id}/mdo").get_data(as_text=True)
    assert f'href="/consults/{consult_id}"' in agenda
    assert f"Bij {BAKKER[1]}" in _text(visser.get(f"/teams/{team_id}/mdo"))


def test_the_team_s_answered_consult_stays_readable_for_every_member(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    _taken_by_bakker(app, consult_id, clock)
    with session_scope(app) as session:
        advice.record_advice(session, user(app, BAKKER[0]), consult_id, advice.Advice(
            ANSWER, "primary-care-advice", on_behalf_of_team=True), clock.now)
    text = _text(_client(app, clock, KRAMER).get(f"/consults/{consult_id}"))
    assert "U leest dit consult als lid van het team." in text
    assert f"{BAKKER[1]} namens Wondzorgteam Rijnmond" in text and "compressietherapie klasse 2" in text


def test_a_taken_team_consult_is_refused_to_a_member_on_its_own_page_saying_who_has_it(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    _taken_by_bakker(app, consult_id, clock)
    kramer = _client(app, clock, KRAMER)
    refused = kramer.post(f"/consults/{consult_id}/take-from-queue", data={"csrf_token": csrf(kramer.get("/inbox"))})
    assert refused.status_code == 409
    assert f"{BAKKER[1]} heeft dit consult al genomen" in _text(refused)
    assert "Vraag van de huisarts" in _text(refused)  # the consult page, not a bare refusal


def test_someone_outside_the_team_gets_a_404_for_the_page_the_photo_and_the_mdo(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id, photo = with_photo(gp, consult_request)
    _taken_by_bakker(app, consult_id, clock)
    cardiologist = _client(app, clock, CARDIOLOGIST)  # same hospital as Visser, but not in the team
    assert cardiologist.get(f"/consults/{consult_id}").status_code == 404
    assert cardiologist.get(f"/consults/{consult_id}/photos/{photo}").status_code == 404
    assert cardiologist.get(f"/consults/{consult_id}/photos/{photo}/bekijken").status_code == 404
    page = cardiologist.get("/inbox")
    assert cardiologist.post(f"/consults/{consult_id}/mdo", data={"mdo_date": "25-11-2026",
                                                                  "csrf_token": csrf(page)}).status_code == 404
    assert _reads(app, CARDIOLOGIST[0]) == []


def test_an_overdue_consult_in_the_team_s_queue_is_in_the_members_notice_and_not_in_others(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    clock.advance(days=4)  # due Thursday 09:00; still in the team's queue on Friday
    for member in (VISSER, BAKKER, KRAMER):
        inbox = _client(app, clock, member).get("/inbox")
        text = _text(inbox)
        assert "Te laat in de wachtrijen van uw groep en teams" in text, member[0]
        assert "(wachtrij van Wondzorgteam Rijnmond)" in text
        assert f'href="/consults/{consult_id}"' in inbox.get_data(as_text=True)
    inbox = _client(app, clock, CARDIOLOGIST).get("/inbox").get_data(as_text=True)
    assert 'id="group-overdue"' not in inbox and consult_id not in inbox


def test_the_overdue_query_covers_every_queue_it_is_given(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    later = clock.now + timedelta(days=4)
    with session_scope(app) as session:
        assert [r.consult_id for r in queues_overdue(session, ("06020002", TEAM_AGB), later).rows] == [consult_id]
        assert queues_overdue(session, ("06020002",), later).total == 0
        assert queues_overdue(session, (), later).total == 0
        assert queues_overdue(session, (TEAM_AGB,), clock.now).total == 0  # not yet due
    _taken_by_bakker(app, consult_id, clock)
    with session_scope(app) as session:  # taken: Bakker's own now, no longer waiting in the team's queue
        assert queues_overdue(session, (TEAM_AGB,), later).total == 0


def test_a_team_member_reads_only_the_team_s_consults(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    from tests.team_helpers import knee_request, orthopaedists
    orthopaedists(app)
    knee = send(gp, knee_request(consult_request))  # the orthopaedic group's: no team's
    assert _client(app, clock, KRAMER).get(f"/consults/{knee}").status_code == 404
    with session_scope(app) as session, pytest.raises(NotFound):
        mdo.place_on_agenda(session, CLI_ACTOR, user(app, KRAMER[0]), knee, clock.now.date(), clock.now)
