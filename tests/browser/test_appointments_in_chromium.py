"""A video consult and an ECMS from request to advice: the specialist in real Chromium, the GP system through
fhirpy (a real FHIR client library) over HTTP, including a reschedule and a no-show."""

from __future__ import annotations

from typing import Any

from fhirpy import SyncFHIRClient
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_inbox_in_chromium import log_in
from tests.conftest import FrozenClock, GPSystem
from tests.test_appointments import CARDIOLOGIST, ecms_request, local, video_request
from tests.test_thread import _reply
from triage_service.demo import DEMO_USERS


def his(live_server: str, gp: GPSystem) -> SyncFHIRClient:
    """The GP system's FHIR client, with a fresh token (time moves in these tests)."""
    gp._tokens.clear()
    return SyncFHIRClient(f"{live_server}/fhir", authorization=f"Bearer {gp.token()}",
                          extra_headers={"Content-Type": "application/fhir+json"})


def submit(fhir: SyncFHIRClient, body: dict[str, Any]) -> str:
    body.pop("id", None)
    request = fhir.resource("ServiceRequest", **body)
    request.save()
    return str(request.id)


def appointments(fhir: SyncFHIRClient, consult_id: str) -> list[Any]:
    return list(fhir.resources("Appointment").search(**{"based-on": f"ServiceRequest/{consult_id}"})
                .sort("date").fetch_all())


def book(fhir: SyncFHIRClient, appointment: Any) -> None:
    appointment["status"] = "booked"
    appointment.save()  # a PUT of the whole resource, as a GP system does


def at_the_appointment(page: Any, live_server: str, gp: GPSystem, clock: FrozenClock, consult_id: str,
                       user: tuple[str, ...], **delta: float) -> SyncFHIRClient:
    """Time passes until the appointment has begun: the specialist logs in again (the session idled out)
    and opens the consult; the GP system gets a fresh token."""
    clock.advance(**delta)
    log_in(page, live_server, clock, username=user[0], secret=user[3])
    page.goto(f"{live_server}/consults/{consult_id}")
    return his(live_server, gp)


def business_status(fhir: SyncFHIRClient, consult_id: str) -> tuple[str, str]:
    task = fhir.resources("Task").search(focus=f"ServiceRequest/{consult_id}").first()
    return task["status"], task["businessStatus"]["coding"][0]["code"]


def test_an_ecms_is_proposed_booked_rescheduled_held_and_answered(
        page: Any, live_server: str, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    fhir = his(live_server, gp)
    consult_id = submit(fhir, ecms_request(consult_request))
    log_in(page, live_server, clock)
    page.goto(f"{live_server}/consults/{consult_id}")

    expect(page.get_by_role("heading", name="Afspraak", exact=True)).to_be_visible()
    page.get_by_label("Tijd 1").fill(local(clock, hours=48))
    page.get_by_label("Tijd 2").fill(local(clock, hours=72))
    page.get_by_label("Locatie en instructies voor de patiënt").fill("Polikliniek dermatologie, route 12")
    page.get_by_role("button", name="Tijden voorstellen").click()
    expect(page.get_by_text("De afspraak is aangeboden")).to_be_visible()
    assert page.locator("tr.appointment.proposed").count() == 2

    proposed = appointments(fhir, consult_id)
    assert [a["status"] for a in proposed] == ["proposed", "proposed"]
    book(fhir, proposed[0])
    page.reload()
    expect(page.get_by_text("Status: Afspraak geboekt")).to_be_visible()
    assert page.locator("tr.appointment.booked").count() == 1

    # The patient cannot come then: the specialist moves the appointment to a new time.
    page.get_by_label("Tijd 1").fill(local(clock, hours=96))
    screenshot(page, "appointment-reschedule")
    page.get_by_role("button", name="Verplaatsen").click()
    expect(page.get_by_text("De afspraak is aangeboden")).to_be_visible()
    after = appointments(fhir, consult_id)
    assert [a["status"] for a in after] == ["cancelled", "cancelled", "proposed"]
    book(fhir, after[-1])

    fhir = at_the_appointment(page, live_server, gp, clock, consult_id, DEMO_USERS[0], hours=96, minutes=10)
    page.get_by_role("button", name="Afspraak heeft plaatsgevonden").click()
    expect(page.get_by_text("Status: Afspraak gehouden: geef uw advies")).to_be_visible()
    page.get_by_label("Advies aan de huisarts").fill("Seborroïsche keratose; geen behandeling nodig.")
    page.get_by_label("Behandelen in de eerste lijn met dit advies").check()
    page.get_by_role("button", name="Advies versturen").click()

    expect(page.get_by_text("Uw advies is naar de huisarts gestuurd.")).to_be_visible()
    assert business_status(fhir, consult_id) == ("completed", "advice-given")
    assert appointments(fhir, consult_id)[-1]["status"] == "fulfilled"


def test_a_video_consult_with_a_no_show_gets_a_new_time_and_is_answered(
        page: Any, live_server: str, gp: GPSystem, consult_request: dict, clock: FrozenClock) -> None:
    fhir = his(live_server, gp)
    consult_id = submit(fhir, video_request(consult_request))
    log_in(page, live_server, clock, username=CARDIOLOGIST[0], secret=CARDIOLOGIST[3])
    page.goto(f"{live_server}/consults/{consult_id}")

    page.get_by_label("Tijd 1").fill(local(clock, hours=26))
    page.get_by_role("button", name="Tijden voorstellen").click()
    expect(page.get_by_text("Een videoconsult heeft de link van uw videotool nodig")).to_be_visible()  # a form error
    page.get_by_label("Videolink (uit uw videotool)").fill("https://video.rivierenland.example/kamer-81")
    page.get_by_label("De huisarts neemt deel aan het videoconsult").check()
    page.get_by_role("button", name="Tijden voorstellen").click()
    expect(page.get_by_role("link", name="Videolink")).to_be_visible()
    screenshot(page, "appointment-video")

    first = appointments(fhir, consult_id)[0]
    assert first["extension"][0]["valueUrl"] == "https://video.rivierenland.example/kamer-81"
    book(fhir, first)

    fhir = at_the_appointment(page, live_server, gp, clock, consult_id, CARDIOLOGIST, hours=26, minutes=15)
    page.get_by_role("button", name="Patiënt niet verschenen").click()
    expect(page.get_by_text("Status: Patiënt niet verschenen: wacht op de huisarts")).to_be_visible()
    assert business_status(fhir, consult_id) == ("on-hold", "appointment-no-show")

    # The GP system answers the no-show message: the patient wants a new appointment.
    task = fhir.resources("Task").search(focus=f"ServiceRequest/{consult_id}").first()
    question = fhir.resources("Communication").search(**{"based-on": f"ServiceRequest/{consult_id}"}).fetch()[-1]
    reply = _reply(consult_id, task["id"], question["id"], "Patiënt was de afspraak vergeten; graag opnieuw.")
    fhir.resource("Communication", **reply).save()

    page.reload()
    page.get_by_label("Tijd 1").fill(local(clock, hours=24))
    page.get_by_label("Videolink (uit uw videotool)").fill("https://video.rivierenland.example/kamer-82")
    page.get_by_role("button", name="Tijden voorstellen").click()
    expect(page.get_by_text("De afspraak is aangeboden")).to_be_visible()
    second = next(a for a in appointments(fhir, consult_id) if a["status"] == "proposed")
    book(fhir, second)

    fhir = at_the_appointment(page, live_server, gp, clock, consult_id, CARDIOLOGIST, hours=24, minutes=20)
    page.get_by_role("button", name="Afspraak heeft plaatsgevonden").click()
    page.get_by_label("Advies aan de huisarts").fill("Start lisinopril 10 mg; controle bij de POH over 4 weken.")
    page.get_by_label("Behandelen in de eerste lijn met dit advies").check()
    page.get_by_role("button", name="Advies versturen").click()

    expect(page.get_by_text("Uw advies is naar de huisarts gestuurd.")).to_be_visible()
    assert business_status(fhir, consult_id) == ("completed", "advice-given")
    assert sorted(a["status"] for a in appointments(fhir, consult_id)) == ["fulfilled", "noshow"]
