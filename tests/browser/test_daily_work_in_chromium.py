"""A specialist's day in Chromium, on a phone (390 px) and a desktop (1280 px): the inbox and its five views,
asking with time registered, advice with minutes and what was sent, forwarding back to a page that exists,
declining (found under closed), the answered tab with its outcome, the BSN search, text snippets, and one
whole answer with the keyboard alone. axe-core finds no serious or critical violation on any page, and
nothing scrolls sideways."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import assert_no_horizontal_scroll, axe_violations, screenshot
from tests.browser.test_inbox_in_chromium import consult, log_in, photo_consult
from tests.conftest import FrozenClock, GPSystem


def _accessible(page: Any) -> None:
    assert axe_violations(page) == []
    assert_no_horizontal_scroll(page)


def test_the_inbox_rows_and_every_view_read_on_a_phone_and_a_desktop(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    page = on_screen
    consult_id = photo_consult(gp, consult_request)
    log_in(page, live_server, clock)
    row = page.locator("table.consults tbody tr").filter(has=page.locator(f"a[href='/consults/{consult_id}']"))
    text = row.inner_text()
    assert "Patiënte (58 jr) heeft sinds ongeveer drie maanden" in text and "2 foto's" in text
    expect(row.locator(f"a[href='/consults/{consult_id}']")).to_be_visible()  # the link is on screen, not off it
    _accessible(page)
    screenshot(page, f"daily-inbox-{screen}")
    for view, label in (("waiting", "Wacht op de huisarts"), ("group", "Mijn groep"), ("answered", "Beantwoord"),
                        ("closed", "Afgesloten")):
        page.locator(f"nav.tabs a[href$='view={view}']").click()
        assert page.locator("nav.tabs a[aria-current=page]").inner_text().startswith(label)
        _accessible(page)


def test_ask_advise_and_see_what_was_sent_then_find_it_answered(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    page = on_screen
    asked, answered = consult(gp, consult_request), consult(gp, consult_request)
    log_in(page, live_server, clock)

    page.goto(f"{live_server}/consults/{asked}")
    _accessible(page)
    page.get_by_label("Uw vraag").fill("Heeft de laesie gebloed?")
    page.get_by_label("Bestede tijd aan deze vraag (minuten)").fill("3")
    page.get_by_role("button", name="Vraag versturen").click()
    expect(page.get_by_text("Uw vraag is naar de huisarts gestuurd.")).to_be_visible()
    page.goto(f"{live_server}/inbox?view=waiting")
    assert page.locator(f"a[href='/consults/{asked}']").count() == 1

    page.goto(f"{live_server}/consults/{answered}")
    page.get_by_label("Advies aan de huisarts").fill("Verwijzen voor excisie.")
    page.get_by_label("Verwijzing geïndiceerd").check()
    page.get_by_label("Verwijzen naar (alleen bij verwijzing)").select_option("0310")
    page.get_by_label("Urgentie van de verwijzing").select_option("urgent")
    page.get_by_label("Bestede tijd (minuten)").fill("8")
    page.get_by_role("button", name="Advies versturen").click()
    expect(page.get_by_text("Uw advies is naar de huisarts gestuurd.")).to_be_visible()
    sent = page.locator("section.sent")
    for shown in ("Verwijzing geïndiceerd", "Dermatologie", "Spoed", "Verwijzen voor excisie.", "8 minuten",
                  "Consultverslag downloaden (pdf)"):
        assert shown in sent.inner_text(), shown
    _accessible(page)
    screenshot(page, f"daily-sent-{screen}")

    page.goto(f"{live_server}/inbox?view=answered")
    row = page.locator("table.consults tbody tr").filter(has=page.locator(f"a[href='/consults/{answered}']"))
    assert "Verwijzing geïndiceerd" in row.inner_text()
    _accessible(page)


def test_forward_and_decline_land_on_pages_that_say_what_happened(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    page = on_screen
    forwarded, declined = consult(gp, consult_request), consult(gp, consult_request)
    log_in(page, live_server, clock)

    page.goto(f"{live_server}/consults/{forwarded}")
    page.get_by_label("Naar", exact=True).select_option("03100002")
    page.locator("#forward-reason").fill("Collega doet deze casuïstiek")
    page.get_by_role("button", name="Doorsturen").click()
    expect(page.get_by_text("Het consult is doorgestuurd.")).to_be_visible()
    expect(page.get_by_text("U hebt dit consult doorgestuurd naar dr. K. Smit")).to_be_visible()
    owner = gp.get(f"/fhir/Task?focus={forwarded}").get_json()["entry"][0]["resource"]["owner"]
    assert owner["identifier"]["value"] == "03100002"
    _accessible(page)

    page.goto(f"{live_server}/consults/{declined}")
    page.get_by_label("Reden voor de huisarts").fill("Past niet binnen deze afspraak")
    page.get_by_role("button", name="Afwijzen").click()
    expect(page.get_by_text("Het consult is afgewezen; de huisarts krijgt uw reden.")).to_be_visible()
    _accessible(page)

    page.goto(f"{live_server}/inbox?view=closed")
    rows = page.locator("table.consults tbody").inner_text()
    assert "Doorgestuurd naar dr. K. Smit" in rows and "Afgewezen" in rows
    _accessible(page)
    screenshot(page, f"daily-closed-{screen}")


def test_a_search_by_bsn_and_a_refused_one(on_screen: Any, live_server: str, gp: GPSystem, consult_request: dict,
                                           clock: FrozenClock) -> None:
    page = on_screen
    consult_id = consult(gp, consult_request)
    log_in(page, live_server, clock)
    page.get_by_label("Patiënt zoeken op BSN").fill("12345")
    page.get_by_role("button", name="Zoeken").click()
    expect(page.get_by_text("Een BSN heeft 9 cijfers en voldoet aan de elfproef")).to_be_visible()
    assert "/inbox/zoeken" in page.url and "bsn" not in page.url
    _accessible(page)
    page.get_by_label("Patiënt zoeken op BSN").fill("999990019")
    page.get_by_role("button", name="Zoeken").click()
    expect(page.get_by_text("1 consult van deze patiënt gevonden.")).to_be_visible()
    assert page.locator(f"a[href='/consults/{consult_id}']").count() == 1
    _accessible(page)


def test_a_snippet_is_made_and_inserted_into_the_advice(
        on_screen: Any, screen: str, live_server: str, gp: GPSystem, consult_request: dict,
        clock: FrozenClock) -> None:
    page = on_screen
    consult_id = consult(gp, consult_request)
    log_in(page, live_server, clock)
    page.goto(f"{live_server}/inbox/tekstblokken")
    _accessible(page)
    page.get_by_role("button", name="Tekstblok toevoegen").click()
    expect(page.get_by_text("Geef het tekstblok een korte naam")).to_be_visible()
    page.locator("#new-title").fill("Naevus vervolgen")
    page.locator("#new-text").fill("Vervolgen over drie maanden; bij groei opnieuw consulteren.")
    page.get_by_role("button", name="Tekstblok toevoegen").click()
    expect(page.get_by_text("Tekstblok \"Naevus vervolgen\" toegevoegd.")).to_be_visible()
    _accessible(page)
    screenshot(page, f"daily-snippets-{screen}")

    page.goto(f"{live_server}/consults/{consult_id}")
    page.get_by_label("Advies aan de huisarts").fill("Beste collega,")
    page.get_by_role("button", name="Naevus vervolgen").click()
    assert page.get_by_label("Advies aan de huisarts").input_value() == (
        "Beste collega,\nVervolgen over drie maanden; bij groei opnieuw consulteren.")
    _accessible(page)


def test_a_whole_answer_with_the_keyboard_alone(page: Any, live_server: str, gp: GPSystem, consult_request: dict,
                                                clock: FrozenClock) -> None:
    consult_id = consult(gp, consult_request)
    log_in(page, live_server, clock)
    # From the inbox: Tab to the consult's link and open it with Enter.
    link = page.locator(f"a[href='/consults/{consult_id}']")
    for _ in range(60):
        page.keyboard.press("Tab")
        if link.evaluate("element => element === document.activeElement"):
            break
    else:
        raise AssertionError("the consult's link is never reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{live_server}/consults/{consult_id}")

    advice = page.get_by_label("Advies aan de huisarts")

    def tab_to(target: Any) -> None:
        for _ in range(80):
            page.keyboard.press("Tab")
            if target.evaluate("element => element === document.activeElement"):
                return
        raise AssertionError("never reached with Tab")

    tab_to(advice)
    page.keyboard.type("Vervolgen; bij groei opnieuw consulteren.")
    tab_to(page.get_by_label("Behandelen in de eerste lijn met dit advies"))
    page.keyboard.press("Space")
    minutes = page.get_by_label("Bestede tijd (minuten)")
    tab_to(minutes)
    page.keyboard.press("Control+A")
    page.keyboard.type("6")
    tab_to(page.get_by_role("button", name="Advies versturen"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_text("Uw advies is naar de huisarts gestuurd.")).to_be_visible()
    task = gp.get(f"/fhir/Task?focus={consult_id}").get_json()["entry"][0]["resource"]
    assert task["status"] == "completed"
    assert "6 minuten" in page.locator("section.sent").inner_text()
