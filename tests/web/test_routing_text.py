"""The routing explanation, stored in English for the audit trail, reads in the inbox's language."""

from __future__ import annotations

import pytest
from flask import Flask

from triage_service.web.routing_text import routing_text

LEAST_WORK = ("Profile 'Huidafwijkingen volwassenen' of agreement MKC-DERM admits the request. Assigned to "
              "dr. K. Smit: 2 open consults, the fewest among 2 available candidate(s) (1 absent, not considered).")


@pytest.mark.parametrize(("stored", "dutch"), [
    ("Assigned to dr. L. Visser as the GP asked; the agreement MKC-DERM covers the request.",
     "Toegewezen aan dr. L. Visser op verzoek van de huisarts; afspraak MKC-DERM dekt de aanvraag."),
    (LEAST_WORK, 'Profiel "Huidafwijkingen volwassenen" van afspraak MKC-DERM past bij de aanvraag. Toegewezen aan '
                 "dr. K. Smit: 2 openstaande consulten, het minst van 2 beschikbare kandidaten. 1 afwezig, niet "
                 "meegeteld."),
    ("All specialists of agreement MKC-ORTH are absent; queued for Ziekenhuis Rivierenland to pick up.",
     "Alle specialisten van afspraak MKC-ORTH zijn afwezig; het consult wacht in de wachtrij van Ziekenhuis "
     "Rivierenland."),
    ("Past its due time with dr. L. Visser; escalated to dr. K. Smit (1 open consults).",
     "Over de antwoordtermijn bij dr. L. Visser; overgedragen aan dr. K. Smit (1 openstaande consulten)."),
    ("Forwarded by dr. L. Visser (was dr. L. Visser): Graag jouw blik, het lijkt op een BCC.",
     "Doorgestuurd door dr. L. Visser (was dr. L. Visser): Graag jouw blik, het lijkt op een BCC."),
    ("Forwarded by dr. L. Visser (was dr. L. Visser) to another specialism: Eerder reumatologisch. " + LEAST_WORK,
     "Doorgestuurd naar een ander specialisme door dr. L. Visser (was dr. L. Visser): Eerder reumatologisch. "
     'Profiel "Huidafwijkingen volwassenen" van afspraak MKC-DERM past bij de aanvraag. Toegewezen aan dr. K. '
     "Smit: 2 openstaande consulten, het minst van 2 beschikbare kandidaten. 1 afwezig, niet meegeteld."),
    ("Outside office hours; dr. E. Kok is on call now, dr. P. Mulder is the backup (rota of Ziekenhuis Rivierenland, "
     "agreement MKC-HAP-CARD).",
     "Buiten kantoortijd; dr. E. Kok heeft nu dienst, dr. P. Mulder is achterwacht (rooster van Ziekenhuis "
     "Rivierenland, afspraak MKC-HAP-CARD)."),
    ("Outside office hours; dr. P. Mulder is on call but absent, so the backup dr. E. Kok takes it (rota of "
     "Ziekenhuis Rivierenland).",
     "Buiten kantoortijd; dr. P. Mulder heeft dienst maar is afwezig, dus neemt achterwacht dr. E. Kok het over "
     "(rooster van Ziekenhuis Rivierenland)."),
    ("Not taken within 15 minutes by dr. P. Mulder; called out to dr. E. Kok.",
     "Niet binnen 15 minuten opgepakt door dr. P. Mulder; nu opgeroepen: dr. E. Kok."),
    (LEAST_WORK + " No on-call rota covers this moment.",
     'Profiel "Huidafwijkingen volwassenen" van afspraak MKC-DERM past bij de aanvraag. Toegewezen aan '
     "dr. K. Smit: 2 openstaande consulten, het minst van 2 beschikbare kandidaten. 1 afwezig, niet "
     "meegeteld. Er is op dit moment geen dienstrooster."),
    ("Something new the routing says", "Something new the routing says"),
])
def test_each_routing_reason_reads_in_dutch(app: Flask, stored: str, dutch: str) -> None:
    with app.test_request_context():
        assert routing_text(stored) == dutch


def test_in_english_it_reads_as_stored_but_tidier(app: Flask) -> None:
    from flask import session

    with app.test_request_context():
        session["lang"] = "en"
        assert routing_text(LEAST_WORK).startswith('Profile "Huidafwijkingen volwassenen" of agreement MKC-DERM')
