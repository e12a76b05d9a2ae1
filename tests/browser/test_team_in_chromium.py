"""The expertise team and the take step in a real browser, on a phone (390 px) and a desktop (1280 px): a member
takes a consult from the team's queue with "Ik neem hem", puts another on the MDO agenda (a past date refused
beside the field), reads the team's MDO agenda, and answers on the team's behalf; a second member reads a consult
the first took, read-only, from the MDO agenda; no sideways scroll, no CSP trouble, no serious or critical axe
violation."""

from __future__ import annotations

from typing import Any

from flask import Flask
from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, assert_stays_inside, axe_violations, screenshot
from tests.browser.test_dashboard_in_chromium import watch_for_trouble
from tests.browser.test_inbox_in_chromium import log_in
from tests.conftest import FrozenClock, GPSystem
from tests.team_helpers import BAKKER, KRAMER, send, user, wound_request
from tests.test_team_member_reading import with_photo
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults.teams import take_from_queue
from triage_service.database import session_scope


def check(page: Any, name: str, trouble: list[str]) -> None:
    assert_no_horizontal_scroll(page)
    assert_stays_inside(page, ".card")
    assert axe_violations(page) == []
    screenshot(page, name)
    assert trouble == []


def test_a_member_takes_plans_and_answers_a_team_consult(on_screen: Any, screen: str, live_server: str,
                                                        gp: GPSystem, consult_request: dict[str, Any],
                                                        clock: FrozenClock) -> None:
    taken = send(gp, wound_request(consult_request))
    planned = send(gp, wound_request(consult_request, icpc="S99"))
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in(page, live_server, clock, BAKKER[0], BAKKER[3])

    page.goto(f"{live_server}/inbox?view=group")
    expect(page.get_by_role("heading", name="Mijn expertiseteams")).to_be_visible()
    check(page, f"team-group-view-{screen}", trouble)

    page.goto(f"{live_server}/consults/{taken}")
    expect(page.get_by_role("heading", name="Wondzorgteam Rijnmond")).to_be_visible()
    check(page, f"team-consult-{screen}", trouble)
    page.get_by_role("button", name="Ik neem hem").click()
    expect(page.get_by_text("U hebt dit consult genomen")).to_be_visible()
    expect(page.get_by_text(f"Genomen door {BAKKER[1]}")).to_be_visible()

    page.goto(f"{live_server}/consults/{planned}")
    page.get_by_label("Datum van het MDO").fill("20-11-2026")
    page.get_by_role("button", name="Zet op de agenda van het MDO").click()
    expect(page.get_by_text("De datum van het MDO ligt in het verleden")).to_be_visible()
    trouble[:] = [t for t in trouble if "status of 400 (BAD REQUEST)" not in t]  # the refusal is the answer
    check(page, f"team-mdo-refused-{screen}", trouble)
    page.get_by_label("Datum van het MDO").fill("25-11-2026")
    page.get_by_role("button", name="Zet op de agenda van het MDO").click()
    expect(page.get_by_text("Op de agenda van het MDO van woensdag 25 november 2026").first).to_be_visible()
    check(page, f"team-mdo-placed-{screen}", trouble)

    page.get_by_role("link", name="De MDO-agenda van het team").click()
    expect(page.get_by_role("heading", name="woensdag 25 november 2026")).to_be_visible()
    check(page, f"team-mdo-agenda-{screen}", trouble)

    page.goto(f"{live_server}/consults/{taken}")
    page.get_by_label("Advies aan de huisarts").fill("Compressietherapie klasse 2, wondbed reinigen, na vier weken "
                                                     "evalueren.")
    page.get_by_label("Behandelen in de eerste lijn met dit advies").check()
    assert page.get_by_label("Namens Wondzorgteam Rijnmond").is_checked()
    page.get_by_role("button", name="Advies versturen").click()
    expect(page.get_by_text(f"{BAKKER[1]} namens Wondzorgteam Rijnmond").first).to_be_visible()
    check(page, f"team-answered-{screen}", trouble)


def test_a_second_member_reads_the_consult_the_first_took_from_the_mdo_agenda(
        on_screen: Any, screen: str, live_server: str, app: Flask, gp: GPSystem, consult_request: dict[str, Any],
        clock: FrozenClock) -> None:
    consult_id, _photo = with_photo(gp, consult_request)
    with session_scope(app) as session:
        take_from_queue(session, CLI_ACTOR, user(app, BAKKER[0]), consult_id, clock.now)
    page = on_screen
    trouble = watch_for_trouble(page)
    log_in(page, live_server, clock, KRAMER[0], KRAMER[3])

    page.goto(f"{live_server}/consults/{consult_id}")
    expect(page.get_by_text(f"U leest dit consult als lid van het team. {BAKKER[1]} heeft het")).to_be_visible()
    expect(page.get_by_role("img", name="ulcus")).to_be_visible()
    expect(page.get_by_role("button", name="Advies versturen")).to_have_count(0)  # read-only: Bakker answers
    check(page, f"team-member-reads-{screen}", trouble)
    page.get_by_label("Datum van het MDO").fill("25-11-2026")
    page.get_by_role("button", name="Zet op de agenda van het MDO").click()
    expect(page.get_by_text("Op de agenda van het MDO van woensdag 25 november 2026").first).to_be_visible()

    page.get_by_role("link", name="De MDO-agenda van het team").click()
    expect(page.get_by_text(f"Bij {BAKKER[1]}")).to_be_visible()
    check(page, f"team-member-agenda-{screen}", trouble)
    page.locator(f'a[href="/consults/{consult_id}"]').click()
    expect(page.get_by_role("heading", name="Wondzorgteam Rijnmond")).to_be_visible()
    expect(page.get_by_text("U leest dit consult als lid van het team.")).to_be_visible()
    check(page, f"team-member-from-agenda-{screen}", trouble)
