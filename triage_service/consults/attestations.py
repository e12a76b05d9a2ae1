"""What the answering specialist attests for the declaration (issue 22), e.g. that no hospital treatment (DBC)
is open for this question.

The agreement says which attestations its declaration needs (agreements/declaration_terms.py); the answer
form shows a checkbox for each (``attest_<code>`` = ``yes``). Not ticking one never stops the advice: the
GP gets the answer whatever the declaration says, and the close-month check holds the consult back with
the reason (reports/declarations.py). Over FHIR nothing changes for the GP.
"""

from __future__ import annotations

from collections.abc import Mapping

from triage_service.agreements.declaration_terms import ATTESTATIONS
from triage_service.errors import N_

PREFIX = "attest_"
KNOWN = frozenset(ATTESTATIONS.values())


def parse_attestations(form: Mapping[str, str], errors: dict[str, str]) -> tuple[str, ...]:
    """The ticked attestations, in a stable order; an unknown one (a form from elsewhere) is a field error."""
    ticked = []
    for key, value in form.items():
        if not key.startswith(PREFIX):
            continue
        code = key.removeprefix(PREFIX)
        if code not in KNOWN or value != "yes":
            errors[key] = N_("This attestation is not known; reload the page and tick only what is shown")
            continue
        ticked.append(code)
    return tuple(sorted(ticked))
