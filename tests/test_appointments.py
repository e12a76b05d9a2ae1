"""Video consults and one-off physical consults (ECMS): the specialist offers times in the inbox, the GP system
sees them as FHIR Appointments and books one, and the specialist records whether it took place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import FrozenClock, GPSystem, new_request
from tests.test_thread import _reply
from tests.web.test_actions import gp_task, post
from tests.web.test_inbox import log_in
from triage_service.demo import DEMO_USERS
from triage_service.demo.context import add_blood_pressure
from triage_service.routing.working_time import AMSTERDAM

VISSER = [{"identifier": {"system": "http://fhir.nl/fhir/NamingSystem/agb-z", "value": "03100001"}}]
CARDIOLOGIST = next(u for u in DEMO_USERS if u[0] == "cardioloog")


def ecms_request(consult_request: dict[str, Any]) -> dict[str, Any]:
    body = new_request(consult_request, performer=VISSER)
    body["code"]["coding"][0].update(code="ecms", display="One-off physical consult (ECMS)")
    return body


def video_request(consult_request: dict[str, Any]) -> dict[str, Any]:
    body = new_request(consult_request)
    body["code"]["coding"][0].update(code="video-consult", display="Video consult")
    body["performerType"]["coding"][0].update(code="0320", display="Cardiologie")
    body["reasonCode"][0]["coding"][0].update(code="K86", display="Essentiële hypertensie")
    # The cardiology agreement asks for a blood pressure with a video consult.
    add_blood_pressure(body, datetime(2026, 11, 20, 8, 0, tzinfo=UTC))
    return body


def local(clock: FrozenClock, **ahead: float) -> str:
    """A time as the inbox's datetime-local field sends it (Dutch time, no zone)."""
    return (clock.now + timedelta(**ahead)).astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def ecms_id(gp: GPSystem, consult_request: dict) -> str:
    response = gp.post("/fhir/ServiceRequest", ecms_request(consult_request))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


@pytest.fixture
def video_id(gp: GPSystem, consult_request: dict) -> str:
    response = gp.post("/fhir/ServiceRequest", video_request(consult_request))
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


@pytest.fixture
def dermatologist(app: Flask, clock: FrozenClock) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, clock).status_code == 302
    return client


@pytest.fixture
def cardiologist(app: Flask, clock: FrozenClock) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, clock, username=CARDIOLOGIST[0], secret=CARDIOLOGIST[3]).status_code == 302
    return client


def later(client: FlaskClient, gp: GPSystem, clock: FrozenClock, **delta: float) -> None:
    """Time passes: the inbox session and the GP system's token have expired meanwhile, so both start afresh."""
    clock.advance(**delta)
    gp._tokens.clear()
    assert log_in(client, clock).status_code == 302


def appointments(gp: GPSystem, consult_id: str) -> list[dict[str, Any]]:
    bundle = gp.get(f"/fhir/Appointment?based-on=ServiceRequest/{consult_id}").get_json()
    return [e["resource"] for e in bundle.get("entry", [])]


def propose(client: FlaskClient, consult_id: str, clock: FrozenClock, *hours: float, **form: str) -> Any:
    times = {f"start_{i}": local(clock, hours=h) for i, h in enumerate(hours, start=1)}
    form.setdefault("instructions", "Polikliniek dermatologie, route 12")
    return post(client, consult_id, "appointments", minutes="20", **times, **form)


def book(gp: GPSystem, appointment: dict[str, Any]) -> Any:
    return gp.put(f"/fhir/Appointment/{appointment['id']}", {**appointment, "status": "booked"},
                  **{"If-Match": f'W/"{appointment["meta"]["versionId"]}"'})


def test_proposed_times_reach_the_gp_system_as_proposed_appointments(
        dermatologist: FlaskClient, gp: GPSystem, ecms_id: str, clock: FrozenClock) -> None:
    response = propose(dermatologist, ecms_id, clock, 48, 72, instructions="Polikliniek dermatologie, route 12")
    assert response.status_code == 302

    proposed = appointments(gp, ecms_id)
    assert [a["status"] for a in proposed] == ["proposed", "proposed"]
    first = proposed[0]
    assert first["basedOn"] == [{"reference": f"ServiceRequest/{ecms_id}"}]
    assert first["serviceType"][0]["coding"][0]["code"] == "ecms"
    assert first["patientInstruction"] == "Polikliniek dermatologie, route 12"
    assert first["minutesDuration"] == 20
    actors = [p.get("actor", {}) for p in first["participant"]]
    assert actors[0]["reference"].startswith("Patient/")
    assert actors[1]["identifier"]["value"] == "03100001"
    task = gp_task(gp, ecms_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("in-progress", "appointment-proposed")


def test_every_appointment_served_is_valid_fhir_r4(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                   clock: FrozenClock) -> None:
    from fhir.resources.R4B.appointment import Appointment

    from triage_service.fhir.parsing import parse_resource
    from triage_service.fhir.profiles import PROFILE_CONSULT_APPOINTMENT, registry

    propose(dermatologist, ecms_id, clock, 48, 72)
    book(gp, appointments(gp, ecms_id)[0])
    for served in appointments(gp, ecms_id):  # one booked, one withdrawn (with a cancellation reason)
        Appointment.model_validate(served)
        assert not [i for i in parse_resource(served, "Appointment").issues if i.is_error]
        assert registry().validate(served, PROFILE_CONSULT_APPOINTMENT) == []


def test_the_appointment_profile_requires_the_link_of_an_open_video_consult(
        cardiologist: FlaskClient, gp: GPSystem, video_id: str, clock: FrozenClock) -> None:
    from triage_service.fhir.profiles import PROFILE_CONSULT_APPOINTMENT, registry

    propose(cardiologist, video_id, clock, 24, meeting_url="https://video.ziekenhuis.example/kamer-1")
    served = appointments(gp, video_id)[0]
    assert registry().validate(served, PROFILE_CONSULT_APPOINTMENT) == []
    without_link = {k: v for k, v in served.items() if k != "extension"}
    assert [i.diagnostics for i in registry().validate(without_link, PROFILE_CONSULT_APPOINTMENT)] == [
        "An open video consult appointment carries the link of the specialist's video tool (extension "
        "triage-ext-meeting-url). (rule tap-1)"]


def test_booking_one_time_withdraws_the_others_and_notifies_through_the_task(
        dermatologist: FlaskClient, gp: GPSystem, ecms_id: str, clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48, 72, 96)
    version_before = int(gp_task(gp, ecms_id)["meta"]["versionId"])
    chosen = appointments(gp, ecms_id)[1]

    response = book(gp, chosen)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "booked"
    statuses = [(a["id"] == chosen["id"], a["status"]) for a in appointments(gp, ecms_id)]
    assert sorted(statuses) == [(False, "cancelled"), (False, "cancelled"), (True, "booked")]
    task = gp_task(gp, ecms_id)
    assert task["businessStatus"]["coding"][0]["code"] == "appointment-booked"
    assert int(task["meta"]["versionId"]) > version_before  # a Task change: subscribers are notified


def test_booking_a_withdrawn_time_is_a_conflict(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48, 72)
    first, second = appointments(gp, ecms_id)
    book(gp, first)
    withdrawn = next(a for a in appointments(gp, ecms_id) if a["id"] == second["id"])

    response = book(gp, withdrawn)

    assert response.status_code == 409
    assert "withdrawn" in response.get_json()["issue"][0]["diagnostics"]


def test_a_gp_system_cannot_move_a_time_or_mark_it_fulfilled(dermatologist: FlaskClient, gp: GPSystem,
                                                             ecms_id: str, clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48)
    appointment = appointments(gp, ecms_id)[0]
    moved = {**appointment, "status": "booked", "start": "2026-12-24T09:00:00Z", "end": "2026-12-24T09:20:00Z"}

    assert gp.put(f"/fhir/Appointment/{appointment['id']}", moved).status_code == 422
    fulfilled = gp.put(f"/fhir/Appointment/{appointment['id']}", {**appointment, "status": "fulfilled"})
    assert fulfilled.status_code == 422
    assert "specialist" in fulfilled.get_json()["issue"][0]["diagnostics"]
    assert appointments(gp, ecms_id)[0]["status"] == "proposed"  # nothing half-stored


@pytest.mark.parametrize("change", ["link", "instruction", "participant", "missing element"])
def test_a_gp_system_cannot_change_anything_but_the_status(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                           clock: FrozenClock, change: str) -> None:
    propose(dermatologist, ecms_id, clock, 48)
    appointment = appointments(gp, ecms_id)[0]
    changed = {**appointment, "status": "booked"}
    if change == "link":
        changed["extension"] = [{"url": "https://fhir.triage-service.nl/StructureDefinition/triage-ext-meeting-url",
                                 "valueUrl": "https://elders.example/kamer"}]
    elif change == "instruction":
        changed["patientInstruction"] = "Kom naar de huisartsenpost"
    elif change == "participant":
        changed["participant"] = [*changed["participant"][:1], {"actor": {"display": "dr. Elders"},
                                                                "status": "accepted"}]
    else:
        del changed["basedOn"]

    response = gp.put(f"/fhir/Appointment/{appointment['id']}", changed)

    assert response.status_code == 422
    assert "may change only the status" in response.get_json()["issue"][0]["diagnostics"]
    assert appointments(gp, ecms_id)[0]["status"] == "proposed"


def test_a_plain_read_is_fhir_json_and_only_a_calendar_preference_gives_ics(
        dermatologist: FlaskClient, gp: GPSystem, ecms_id: str, clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48)
    url = f"/fhir/Appointment/{appointments(gp, ecms_id)[0]['id']}"
    for accept in ("*/*", "text/html,application/xhtml+xml,*/*;q=0.8", "application/fhir+json"):
        assert gp.get(url, Accept=accept).mimetype == "application/fhir+json", accept
    assert gp.get(url + "?_format=json", Accept="text/calendar").mimetype == "application/fhir+json"
    assert gp.get(url, Accept="text/calendar").mimetype == "text/calendar"
    assert gp.get(url, Accept="text/calendar, application/fhir+json;q=0.5").mimetype == "text/calendar"


def test_a_stale_version_is_refused(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                    clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48)
    appointment = appointments(gp, ecms_id)[0]
    response = gp.put(f"/fhir/Appointment/{appointment['id']}", {**appointment, "status": "booked"},
                      **{"If-Match": 'W/"7"'})
    assert response.status_code == 412


def test_another_practice_cannot_see_or_book_the_appointment(dermatologist: FlaskClient, gp: GPSystem,
                                                             other_gp: GPSystem, ecms_id: str,
                                                             clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48)
    appointment = appointments(gp, ecms_id)[0]
    assert other_gp.get(f"/fhir/Appointment/{appointment['id']}").status_code == 404
    assert book(other_gp, appointment).status_code == 404
    assert other_gp.get(f"/fhir/Appointment?based-on=ServiceRequest/{ecms_id}").get_json()["total"] == 0


def test_a_held_ecms_is_then_answered_with_advice(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                  clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48)
    appointment = appointments(gp, ecms_id)[0]
    book(gp, appointment)
    answer = {"advice": "Naevus, geen verdenking.", "outcome": "primary-care-advice"}
    early = post(dermatologist, ecms_id, "answer", **answer)
    assert early.status_code == 400  # the appointment is still ahead
    assert "Markeer de afspraak" in early.get_data(as_text=True)
    too_soon = post(dermatologist, ecms_id, f"appointments/{appointment['id']}/mark", outcome="fulfilled")
    assert too_soon.status_code == 400
    assert "nog niet begonnen" in too_soon.get_data(as_text=True)

    later(dermatologist, gp, clock, hours=48, minutes=5)
    assert post(dermatologist, ecms_id, f"appointments/{appointment['id']}/mark", outcome="fulfilled").status_code \
        == 302
    assert appointments(gp, ecms_id)[0]["status"] == "fulfilled"
    assert gp_task(gp, ecms_id)["businessStatus"]["coding"][0]["code"] == "appointment-fulfilled"
    assert post(dermatologist, ecms_id, "answer", **answer).status_code == 302
    assert gp_task(gp, ecms_id)["status"] == "completed"


def test_a_fulfilled_appointment_cannot_be_changed_by_anyone(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                            clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 1)
    book(gp, appointments(gp, ecms_id)[0])
    later(dermatologist, gp, clock, hours=2)
    held = appointments(gp, ecms_id)[0]
    post(dermatologist, ecms_id, f"appointments/{held['id']}/mark", outcome="fulfilled")
    held = appointments(gp, ecms_id)[0]

    cancelled = gp.put(f"/fhir/Appointment/{held['id']}", {**held, "status": "cancelled"})
    assert cancelled.status_code == 422
    assert "taken place" in cancelled.get_json()["issue"][0]["diagnostics"]
    again = post(dermatologist, ecms_id, f"appointments/{held['id']}/mark", outcome="noshow")
    assert again.status_code == 400
    assert appointments(gp, ecms_id)[0]["status"] == "fulfilled"


def test_a_no_show_goes_back_to_the_gp_who_can_ask_for_a_new_time(
        dermatologist: FlaskClient, gp: GPSystem, ecms_id: str, clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 2)
    missed = appointments(gp, ecms_id)[0]
    book(gp, missed)
    later(dermatologist, gp, clock, hours=3)

    assert post(dermatologist, ecms_id, f"appointments/{missed['id']}/mark", outcome="noshow").status_code == 302

    task = gp_task(gp, ecms_id)
    assert (task["status"], task["businessStatus"]["coding"][0]["code"]) == ("on-hold", "appointment-no-show")
    message = gp.get(f"/fhir/Communication?based-on=ServiceRequest/{ecms_id}").get_json()["entry"][-1]["resource"]
    assert "niet verschenen" in message["payload"][0]["contentString"]
    answer = _reply(ecms_id, task["id"], message["id"], "Patiënt was ziek, graag een nieuwe afspraak.")
    assert gp.post("/fhir/Communication", answer).status_code == 201, "the GP answers: a new appointment please"
    assert propose(dermatologist, ecms_id, clock, 50).status_code == 302
    assert [a["status"] for a in appointments(gp, ecms_id)] == ["noshow", "proposed"]


def test_rescheduling_cancels_the_booking_and_proposes_new_times(
        dermatologist: FlaskClient, gp: GPSystem, ecms_id: str, clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48)
    booked = appointments(gp, ecms_id)[0]
    book(gp, booked)

    response = propose(dermatologist, ecms_id, clock, 96, 120, replaces=booked["id"])

    assert response.status_code == 302
    after = {a["id"]: a for a in appointments(gp, ecms_id)}
    assert after[booked["id"]]["status"] == "cancelled"
    assert after[booked["id"]]["cancelationReason"]["coding"][0]["code"] == "prov"
    assert sorted(a["status"] for a in after.values()) == ["cancelled", "proposed", "proposed"]
    assert gp_task(gp, ecms_id)["businessStatus"]["coding"][0]["code"] == "appointment-proposed"


def test_a_video_consult_needs_a_link_and_carries_it_to_the_gp(
        cardiologist: FlaskClient, gp: GPSystem, video_id: str, clock: FrozenClock) -> None:
    without = propose(cardiologist, video_id, clock, 24)
    assert without.status_code == 400
    assert "link van uw videotool" in without.get_data(as_text=True)
    plain = propose(cardiologist, video_id, clock, 24, meeting_url="http://video.example/kamer")
    assert plain.status_code == 400
    assert appointments(gp, video_id) == []

    assert propose(cardiologist, video_id, clock, 24, meeting_url="https://video.ziekenhuis.example/kamer-81",
                   gp_joins="on").status_code == 302
    appointment = appointments(gp, video_id)[0]
    assert appointment["extension"] == [{"url": "https://fhir.triage-service.nl/StructureDefinition/"
                                                "triage-ext-meeting-url",
                                         "valueUrl": "https://video.ziekenhuis.example/kamer-81"}]
    assert len(appointment["participant"]) == 3  # patient, cardiologist and the GP who joins


@pytest.mark.parametrize(("times", "error"), [
    ({"start_1": "-2"}, "Dit tijdstip is voorbij"),
    ({"start_1": "48", "start_2": "48.1"}, "overlappen elkaar"),
    ({"start_1": "morgen"}, "Geef een datum en tijd"),
    ({}, "Stel ten minste één tijd voor"),
    ({"start_1": "5000"}, "binnen zes maanden"),
])
def test_bad_times_are_form_errors_and_store_nothing(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                     clock: FrozenClock, times: dict[str, str], error: str) -> None:
    form = {k: (v if not v.lstrip("-").replace(".", "").isdigit() else local(clock, hours=float(v)))
            for k, v in times.items()}
    response = post(dermatologist, ecms_id, "appointments", minutes="20", **form)
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    assert appointments(gp, ecms_id) == []


def test_an_ecms_time_needs_the_place_to_come_to(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                  clock: FrozenClock) -> None:
    response = propose(dermatologist, ecms_id, clock, 48, instructions="")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Geef aan waar de patiënt moet komen" in page
    assert 'aria-invalid="true" aria-describedby="instructions-error"' in page  # read out with the field
    assert appointments(gp, ecms_id) == []


def test_the_overlap_is_reported_at_the_time_to_change(dermatologist: FlaskClient, ecms_id: str,
                                                       clock: FrozenClock) -> None:
    page = propose(dermatologist, ecms_id, clock, 48, 96, 48.25).get_data(as_text=True)
    assert '<p class="error" id="start_3-error">De voorgestelde tijden overlappen elkaar</p>' in page
    assert 'id="start_1-error"' not in page


def test_a_time_overlapping_another_consults_appointment_is_refused(
        dermatologist: FlaskClient, gp: GPSystem, consult_request: dict, ecms_id: str, clock: FrozenClock) -> None:
    other = gp.post("/fhir/ServiceRequest", ecms_request(consult_request)).get_json()["id"]
    assert propose(dermatologist, other, clock, 48).status_code == 302

    response = post(dermatologist, ecms_id, "appointments", minutes="30", start_2=local(clock, hours=47.75),
                    instructions="Polikliniek")  # the first field left empty

    assert response.status_code == 400
    assert ('<p class="error" id="start_2-error">U heeft al een afspraak op dit tijdstip</p>'
            in response.get_data(as_text=True))


def test_an_e_consult_has_no_appointments(dermatologist: FlaskClient, gp: GPSystem, consult_request: dict,
                                          clock: FrozenClock) -> None:
    consult_id = gp.post("/fhir/ServiceRequest", new_request(consult_request, performer=VISSER)).get_json()["id"]
    response = propose(dermatologist, consult_id, clock, 48)
    assert response.status_code == 400
    assert "Alleen een videoconsult" in response.get_data(as_text=True)


def test_the_gp_cancelling_the_consult_frees_the_specialists_times(
        dermatologist: FlaskClient, gp: GPSystem, ecms_id: str, clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 48, 72)
    task = gp_task(gp, ecms_id)
    assert gp.put(f"/fhir/Task/{task['id']}", {**task, "status": "cancelled"}).status_code == 200
    assert {a["status"] for a in appointments(gp, ecms_id)} == {"cancelled"}


def test_the_offer_meets_the_answer_norm_and_stops_the_deadline_monitor(
        app: Flask, dermatologist: FlaskClient, gp: GPSystem, ecms_id: str, clock: FrozenClock) -> None:
    from sqlalchemy import select

    from triage_service.database import session_scope
    from triage_service.models import ConsultFact
    from triage_service.routing.deadlines import run_deadline_jobs

    later(dermatologist, gp, clock, hours=5)
    propose(dermatologist, ecms_id, clock, 48)
    clock.advance(days=10)  # long past the norm, but the appointment was offered in time
    with session_scope(app) as session:
        run = run_deadline_jobs(session, clock.now)
        fact = session.scalar(select(ConsultFact).where(ConsultFact.consult_id == ecms_id))
        assert fact is not None and (fact.answer_minutes, fact.within_norm) == (300, True)
    assert (run.escalated, run.flagged) == (0, 0)


def test_the_calendar_file_has_the_time_and_no_patient_name(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                           clock: FrozenClock) -> None:
    import icalendar

    propose(dermatologist, ecms_id, clock, 48, instructions="Polikliniek dermatologie, route 12; meld u aan")
    appointment = appointments(gp, ecms_id)[0]
    patient = gp.get(f"/fhir/{appointment['participant'][0]['actor']['reference']}").get_json()
    family = patient["name"][0]["family"]

    for_gp = gp.get(f"/fhir/Appointment/{appointment['id']}", Accept="text/calendar")
    for_specialist = dermatologist.get(f"/consults/{ecms_id}/appointments/{appointment['id']}/calendar.ics")

    for response in (for_gp, for_specialist):
        assert response.status_code == 200 and response.mimetype == "text/calendar"
        assert family not in response.get_data(as_text=True)
        event = icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT")[0]
        assert event.decoded("DTSTART") == clock.now + timedelta(hours=48)
        assert str(event["STATUS"]) == "TENTATIVE"
        assert str(event["LOCATION"]) == "Polikliniek dermatologie, route 12; meld u aan"
    assert "Eenmalig consult" in str(icalendar.Calendar.from_ical(for_specialist.get_data()).walk("VEVENT")[0]
                                     ["SUMMARY"])


def test_searching_appointments_by_status_and_date(dermatologist: FlaskClient, gp: GPSystem, ecms_id: str,
                                                   clock: FrozenClock) -> None:
    propose(dermatologist, ecms_id, clock, 24, 240)
    day_after = (clock.now + timedelta(hours=100)).strftime("%Y-%m-%d")
    later = gp.get(f"/fhir/Appointment?status=proposed&date=ge{day_after}").get_json()
    assert later["total"] == 1
    assert gp.get("/fhir/Appointment?status=maybe").status_code == 400
    assert gp.get("/fhir/Appointment?date=soon").status_code == 400
    assert gp.get("/fhir/Appointment?practitioner=03100001").status_code == 400


@pytest.fixture
def specialist_books(app: Flask) -> Any:
    """The cardiology agreement as some regions have it: the specialist books the video consult directly."""
    from sqlalchemy import update

    from triage_service.database import session_scope
    from triage_service.models import Agreement

    with session_scope(app) as session:
        session.execute(update(Agreement).where(Agreement.code == "MKC-CARD").values(appointment_booking="specialist"))
    yield
    with session_scope(app) as session:
        session.execute(update(Agreement).where(Agreement.code == "MKC-CARD").values(appointment_booking="gp"))


def test_where_the_agreement_says_so_the_specialist_books_one_time_directly(
        cardiologist: FlaskClient, gp: GPSystem, video_id: str, clock: FrozenClock, specialist_books: Any) -> None:
    link = {"meeting_url": "https://video.ziekenhuis.example/kamer-3"}
    page = cardiologist.get(f"/consults/{video_id}").get_data(as_text=True)
    assert "Afspraak inplannen" in page and 'name="start_2"' not in page

    two = propose(cardiologist, video_id, clock, 24, 48, **link)
    assert two.status_code == 400
    assert "plant u de afspraak zelf in" in two.get_data(as_text=True)
    assert propose(cardiologist, video_id, clock, 24, **link).status_code == 302

    booked = appointments(gp, video_id)
    assert [a["status"] for a in booked] == ["booked"]
    assert gp_task(gp, video_id)["businessStatus"]["coding"][0]["code"] == "appointment-booked"
