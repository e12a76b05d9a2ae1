"""The declaration's screens in a real browser at phone and desktop width (issue 22): the specialist's
attestation checkbox on the answer form, and the close-month check with its held-back consults and the warning
about one prestatie code at two tariffs; axe finds nothing serious, nothing sticks out sideways."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, assert_stays_inside, axe_violations
from tests.browser.test_dashboard_in_chromium import log_in_as_staff
from tests.browser.test_inbox_in_chromium import log_in
from tests.conftest import FrozenClock
from tests.reports.conftest import World, ams, world  # noqa: F401 - the reports' world fixture
from tests.reports.test_declaration_terms import NO_OPEN_DBC, _advise, contract  # noqa: F401 - the contract fixture
from tests.test_referral_triage import referral_request
from triage_service.consults import advice
from triage_service.database import session_scope

ATTESTING = {"declarant": "zorggroep", "payee": "zorggroep", "kind": "S3", "attestations": [NO_OPEN_DBC]}


def serious(page: Any) -> list[Any]:
    return [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]


def test_the_specialist_sees_what_the_declaration_needs_attested_beside_the_advice(
        on_screen: Any, live_server: str, world: World, contract: Callable[..., None],  # noqa: F811
        clock: FrozenClock) -> None:
    contract("MKC-DERM", declaration=ATTESTING)
    consult_id = world.submit("A", ams("2026-11-02 10:00"))
    log_in(on_screen, live_server, clock)

    on_screen.goto(f"{live_server}/consults/{consult_id}")

    box = on_screen.get_by_role("checkbox", name="Er loopt voor deze vraag geen DBC-zorgtraject in het ziekenhuis")
    assert box.count() >= 1 and not box.first.is_checked()
    assert serious(on_screen) == []
    assert_no_horizontal_scroll(on_screen)


def test_the_close_check_shows_held_back_consults_and_the_two_tariff_warning(
        on_screen: Any, live_server: str, world: World, contract: Callable[..., None],  # noqa: F811
        clock: FrozenClock, consult_request: dict[str, Any]) -> None:
    # The consults at 75,00 and the referral triage at 80,00 under one prestatie code; one consult not attested.
    contract("MKC-DERM", declaration=ATTESTING, s3_prestatie_code="12345", s3_tariff_cents=7500)
    contract("TRIAGE-DERM", s3_prestatie_code="12345", s3_tariff_cents=8000)
    world.submit("A", ams("2026-11-02 10:00"))
    _advise(world, "A", ams("2026-11-03 14:00"), attestations=(NO_OPEN_DBC,))
    world.submit("B", ams("2026-11-04 10:00"))
    _advise(world, "B", ams("2026-11-05 09:00"))  # not attested: answered, held back
    clock.now = ams("2026-11-05 10:00")
    world.gp._tokens.clear()
    referral = world.gp.post("/fhir/ServiceRequest",
                             referral_request(consult_request, authoredOn=clock.now.isoformat()))
    with session_scope(world.app) as session:
        advice.return_referral(session, world._specialist(), referral.get_json()["id"],
                               advice.ReferralReturn("Lokaal behandelen."), ams("2026-11-05 11:00"))
    clock.now = ams("2026-12-01 10:00")
    log_in_as_staff(on_screen, live_server, clock)

    on_screen.goto(f"{live_server}/dashboard/close?insurer=3311&period=11-2026")

    held = on_screen.locator("#held-back")
    assert world.ids["B"] in held.inner_text()
    assert "geen ziekenhuisbehandeling (DBC)" in held.inner_text()
    warning = on_screen.locator("#tariff-warnings")
    expect(warning).to_be_visible()
    assert "12345" in warning.inner_text()
    assert serious(on_screen) == []
    assert_stays_inside(on_screen, ".card")
    assert_no_horizontal_scroll(on_screen)
