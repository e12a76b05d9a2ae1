"""A regional expertise team (issue 23): Wondzorgteam Rijnmond receives chronic wounds in its queue, a member takes
one (the others see who), puts one on the agenda of the team's MDO, and answers on the team's behalf; the GP
system sees the team as the Task's owner and in the advice, the portal and the letter say "namens"."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.team_helpers import BAKKER, KRAMER, TEAM_AGB, VISSER, owner_of, send, user, wound_request
from tests.test_email_notices import mail_settings, mailbox  # noqa: F401 - the SMTP server on loopback
from tests.web.test_inbox import csrf, log_in
from triage_service.agreements.importer import parse_agreement_file
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults import advice, mdo
from triage_service.consults.letters import letter_content
from triage_service.consults.teams import take_from_queue, taken_by
from triage_service.database import session_scope
from triage_service.demo import DEMO_PASSWORD, DEMO_PRACTICE_USERS
from triage_service.errors import FormErrors
from triage_service.fhir.teams import EXT_ON_BEHALF_OF
from triage_service.models import AuditEntry, Consult, ConsultFact, ExpertiseTeam, MdoEntry, TeamAnswer
from triage_service.settings import PROJECT_ROOT

WOUND_CARE = PROJECT_ROOT / "config" / "agreements" / "wondzorg.yaml"


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def _team_id(app: Flask) -> str:
    with session_scope(app) as session:
        return str(session.scalars(select(ExpertiseTeam.id)).one())


def _answer(app: Flask, username: str, consult_id: str, clock: FrozenClock, on_behalf: bool = True) -> None:
    with session_scope(app) as session:
        advice.record_advice(session, user(app, username), consult_id, advice.Advice(
            "Advies van het wondzorgteam: compressietherapie klasse 2, wondbed reinigen, na vier weken evalueren.",
            "primary-care-advice", on_behalf_of_team=on_behalf), clock.now)


def test_the_agreement_file_defines_the_team_with_members_of_their_own_organisations(app: Flask) -> None:
    data = parse_agreement_file(WOUND_CARE)
    assert data["subcontractor"] == {"agb": TEAM_AGB, "name": "Wondzorgteam Rijnmond"}  # the team contracts
    assert data["group_queue"] is True
    with session_scope(app) as session:
        team = session.scalars(select(ExpertiseTeam)).one()
        assert team.name == "Wondzorgteam Rijnmond" and team.organisation.agb == TEAM_AGB
        assert [(m.practitioner.agb, m.practitioner.organisation.name) for m in team.members] == [
            (VISSER[2], "Ziekenhuis Rivierenland"), (BAKKER[2], "Thuiszorg Rijnmond"),
            (KRAMER[2], "Gezondheidscentrum Lombardijen")]


def test_a_team_block_whose_specialists_are_not_its_members_is_refused(tmp_path: Any) -> None:
    from triage_service.agreements.importer import AgreementImportError
    text = WOUND_CARE.read_text(encoding="utf-8") + \
        'specialists:\n  - {agb: "03100002", name: dr. K. Smit (dermatoloog), specialism: "0310"}\n'
    broken = tmp_path / "wondzorg.yaml"
    broken.write_text(text, encoding="utf-8")
    with pytest.raises(AgreementImportError) as refused:
        parse_agreement_file(broken)
    assert "exactly the team's members" in str(refused.value.errors)


def test_a_chronic_wound_is_routed_to_the_team_and_every_member_finds_it_in_my_group(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    assert owner_of(app, consult_id) == ("organisation", TEAM_AGB, "accepted")
    for member in (VISSER, BAKKER, KRAMER):
        browser = app.test_client()
        log_in(browser, clock, member[0], DEMO_PASSWORD, member[3])
        group = browser.get("/inbox?view=group").get_data(as_text=True)
        assert f"/consults/{consult_id}" in group, member[0]
        assert "Wondzorgteam Rijnmond" in _text(group)  # the MDO agenda link under "My expertise teams"


def test_the_gp_system_sees_the_team_as_care_team_owner_and_then_the_member_who_took_it(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    team_id = _team_id(app)
    assert task["owner"] == {"reference": f"CareTeam/{team_id}", "type": "CareTeam", "display": "Wondzorgteam Rijnmond",
                             "identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": TEAM_AGB}}
    care_team = gp.get(f"/fhir/CareTeam/{team_id}").get_json()
    assert care_team["resourceType"] == "CareTeam" and care_team["name"] == "Wondzorgteam Rijnmond"
    assert [p["member"]["identifier"]["value"] for p in care_team["participant"]] == [VISSER[2], BAKKER[2], KRAMER[2]]
    assert care_team["participant"][1]["onBehalfOf"]["display"] == "Thuiszorg Rijnmond"
    assert gp.get("/fhir/CareTeam/unknown").status_code == 404

    bakker = user(app, BAKKER[0])
    with session_scope(app) as session:
        take_from_queue(session, CLI_ACTOR, bakker, consult_id, clock.now)
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    assert task["status"] == "in-progress"
    assert task["owner"]["type"] == "PractitionerRole" and task["owner"]["identifier"]["value"] == BAKKER[2]


def test_a_member_takes_a_team_consult_and_the_others_see_who(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    bakker = app.test_client()
    log_in(bakker, clock, BAKKER[0], DEMO_PASSWORD, BAKKER[3])
    page = bakker.get(f"/consults/{consult_id}")
    assert "Ik neem hem" in page.get_data(as_text=True)
    assert bakker.post(f"/consults/{consult_id}/take-from-queue", data={"csrf_token": csrf(page)}).status_code == 302
    assert owner_of(app, consult_id) == ("practitioner", BAKKER[2], "in-progress")

    visser = app.test_client()
    log_in(visser, clock)
    assert f"Genomen door {BAKKER[1]}" in _text(visser.get("/inbox?view=group").get_data(as_text=True))
    refused = visser.post(f"/consults/{consult_id}/take-from-queue", data={"csrf_token": csrf(visser.get("/inbox"))})
    assert refused.status_code == 409 and f"{BAKKER[1]} heeft dit consult al genomen" in refused.get_data(as_text=True)
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        found = taken_by(session, consult.task.id)
        assert found is not None and found.by_name == BAKKER[1]


def test_a_member_puts_a_consult_on_the_mdo_agenda_and_the_agenda_lists_it_with_its_due_time(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    kramer = app.test_client()
    log_in(kramer, clock, KRAMER[0], DEMO_PASSWORD, KRAMER[3])
    page = kramer.get(f"/consults/{consult_id}")
    placed = kramer.post(f"/consults/{consult_id}/mdo", data={"mdo_date": "25-11-2026", "csrf_token": csrf(page)},
                         follow_redirects=True)
    text = _text(placed.get_data(as_text=True))
    assert "Op de agenda van het MDO van woensdag 25 november 2026" in text
    assert "antwoord uiterlijk do 26 nov" in text  # three working days from Monday 09:00 (Thursday 09:00 UTC)
    agenda = _text(kramer.get(f"/teams/{_team_id(app)}/mdo").get_data(as_text=True))
    assert "woensdag 25 november 2026" in agenda and "S97" in agenda and "In de wachtrij van het team" in agenda
    with session_scope(app) as session:
        entry = session.scalars(select(MdoEntry)).one()
        assert (entry.mdo_date, entry.placed_by_name) == (date(2026, 11, 25), KRAMER[1])
        assert str(session.scalar(select(AuditEntry.detail).where(AuditEntry.event == "mdo.place"))).startswith("team=")


def test_an_mdo_date_in_the_past_is_refused_beside_the_field(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    visser = app.test_client()
    log_in(visser, clock)
    page = visser.get(f"/consults/{consult_id}")
    refused = visser.post(f"/consults/{consult_id}/mdo", data={"mdo_date": "20-11-2026", "csrf_token": csrf(page)})
    assert refused.status_code == 400
    assert "De datum van het MDO ligt in het verleden" in _text(refused.get_data(as_text=True))
    nonsense = visser.post(f"/consults/{consult_id}/mdo", data={"mdo_date": "31-02-2026", "csrf_token": csrf(page)})
    assert nonsense.status_code == 400 and "dd-mm-jjjj" in nonsense.get_data(as_text=True)
    with session_scope(app) as session:
        assert session.scalars(select(MdoEntry)).all() == []


def test_an_mdo_after_the_due_time_is_kept_but_warned_about_because_the_norm_keeps_running(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    bakker = user(app, BAKKER[0])
    with session_scope(app) as session:
        placement = mdo.place_on_agenda(session, CLI_ACTOR, bakker, consult_id,
                                        clock.now.date() + timedelta(days=7), clock.now)
        assert placement.late  # due Thursday; the MDO a week later is kept, and warned about
        moved = mdo.place_on_agenda(session, CLI_ACTOR, bakker, consult_id, clock.now.date() + timedelta(days=1),
                                    clock.now)
        assert not moved.late
        mdo.take_off_agenda(session, CLI_ACTOR, bakker, consult_id, clock.now)
    with session_scope(app) as session:
        events = session.scalars(select(AuditEntry.event).where(AuditEntry.event.like("mdo.%"))
                                 .order_by(AuditEntry.occurred_at, AuditEntry.id)).all()
        assert events == ["mdo.place", "mdo.move", "mdo.remove"]


def test_someone_outside_the_team_cannot_put_its_consult_on_the_agenda(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    from triage_service.errors import NotFound
    consult_id = send(gp, wound_request(consult_request))
    cardiologist = user(app, "cardioloog")
    with session_scope(app) as session, pytest.raises(NotFound):
        mdo.place_on_agenda(session, CLI_ACTOR, cardiologist, consult_id, clock.now.date(), clock.now)


def test_the_answer_on_behalf_of_the_team_names_member_and_team_in_fhir_portal_and_letter(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    consult_id = send(gp, wound_request(consult_request))
    _answer(app, BAKKER[0], consult_id, clock)

    communications = gp.get(f"/fhir/Communication?based-on={consult_id}").get_json()["entry"]
    sent = next(e["resource"] for e in communications if e["resource"]["category"][0]["coding"][0]["code"] == "advice")
    assert sent["sender"]["identifier"]["value"] == BAKKER[2]  # the member is the sender
    assert sent["sender"]["display"] == f"{BAKKER[1]} namens Wondzorgteam Rijnmond"
    assert sent["extension"] == [{"url": EXT_ON_BEHALF_OF, "valueReference": {
        "reference": f"CareTeam/{_team_id(app)}", "type": "CareTeam", "display": "Wondzorgteam Rijnmond"}}]

    portal = app.test_client()
    username, _name, _agb, _practice, secret = DEMO_PRACTICE_USERS[0]
    log_in(portal, clock, username, DEMO_PASSWORD, secret)
    page = portal.get(f"/huisarts/consults/{consult_id}").get_data(as_text=True)
    assert f"{BAKKER[1]} namens Wondzorgteam Rijnmond" in page
    # The GP asked the team, whoever of it holds the consult: the page is headed by the team, not a discipline.
    assert "<h1>Wondzorgteam Rijnmond · " in page and f"{BAKKER[1]} (Wondzorgteam Rijnmond)" in page
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        content = letter_content(session, consult, clock.now)
        assert f"{BAKKER[1]} namens Wondzorgteam Rijnmond" in str(content)
        assert session.scalar(select(AuditEntry.id).where(AuditEntry.event == "team.answer")) is not None


def test_only_a_member_answers_on_the_team_s_behalf(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    from tests.team_helpers import knee_request, orthopaedists
    de_boer, _ = orthopaedists(app)
    consult_id = send(gp, knee_request(consult_request))  # an orthopaedic group's consult, no team's
    with session_scope(app) as session, pytest.raises(FormErrors) as refused:
        advice.record_advice(session, de_boer, consult_id, advice.Advice("Advies.", "primary-care-advice",
                                                                         on_behalf_of_team=True), clock.now)
    assert "on_behalf" in refused.value.errors
    with session_scope(app) as session:
        assert session.scalars(select(TeamAnswer)).all() == []


def test_a_team_consult_counts_once_in_the_monitoring_credited_to_the_member_who_answered(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    from triage_service.models import Organisation
    from triage_service.reports.monitoring import GroupBy, Window, monitoring
    consult_id = send(gp, wound_request(consult_request))
    visser = user(app, VISSER[0])
    with session_scope(app) as session:  # discussed at the MDO first: the team owns it meanwhile
        mdo.place_on_agenda(session, CLI_ACTOR, visser, consult_id, clock.now.date(), clock.now)
    _answer(app, KRAMER[0], consult_id, clock)  # answered from the team's queue by Kramer, for the team
    with session_scope(app) as session:
        facts = session.scalars(select(ConsultFact).where(ConsultFact.consult_id == consult_id)).all()
        assert len(facts) == 1
        zorggroep = session.scalar(select(Organisation.id).where(Organisation.agb == "07300001"))
        report = monitoring(session, str(zorggroep), Window(clock.now - timedelta(days=1),
                                                            clock.now + timedelta(days=1)),
                            GroupBy.SPECIALIST, clock.now)
        counted = {str(g["key"]): g["consults"] for g in report["groups"] if g["consults"]}
        assert counted == {KRAMER[2]: 1}  # once, credited to the member who answered, not the team or the taker


def test_the_demo_has_a_team_consult_waiting_in_the_queue_and_one_on_the_mdo_agenda(app: Flask) -> None:
    from triage_service.demo.teams import load_team_consults
    from triage_service.models import Organisation
    with session_scope(app) as session:
        practice = session.scalars(select(Organisation).where(Organisation.agb == "03012345")).one()
        load_team_consults(session, practice)
        load_team_consults(session, practice)  # loading twice changes nothing
    with session_scope(app) as session:
        consults = session.scalars(select(Consult).order_by(Consult.created_at)).all()
        assert [(c.task.owner_kind, c.task.owner_agb) for c in consults] == [("organisation", TEAM_AGB)] * 2
        entry = session.scalars(select(MdoEntry)).one()
        assert entry.placed_by_name == BAKKER[1] and not mdo.is_late(entry.mdo_date, consults[1].task.due_at)


def test_a_team_member_who_asked_for_it_gets_an_email_about_a_consult_in_the_team_s_queue(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock,
        mailbox: Any, mail_settings: Any) -> None:  # noqa: F811 - the fixtures of tests/test_email_notices.py
    from sqlalchemy import update

    from triage_service.models import User
    from triage_service.notifications.email import send_due
    with session_scope(app) as session:
        session.execute(update(User).where(User.username == BAKKER[0]).values(
            email="j.bakker@thuiszorg.example.nl", email_on_assignment=True))
    send(gp, wound_request(consult_request))
    assert send_due(app.extensions["triage.sessionmaker"], mail_settings, clock).sent == 1
    [message] = mailbox[0].messages
    assert message["To"] == "j.bakker@thuiszorg.example.nl"
    assert "Wondzorgteam Rijnmond" in message.get_payload(decode=True).decode()
