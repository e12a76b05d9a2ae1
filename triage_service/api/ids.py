"""Ids in FHIR URLs are checked at the edge, before any query or audit row sees them.

A FHIR id is 1 to 64 letters, digits, '-' and '.' (http://hl7.org/fhir/R4/datatypes.html#id). Anything
else in ``/fhir/{type}/{id}`` cannot name one of our resources, so it is refused with a 400 before it
reaches the database: PostgreSQL refuses a NUL in a string outright (a 500), and an id longer than the
audit trail's column made the refusal's own audit row fail, losing it. The refusal is audited like a 404
(api/errors.py), since probing for ids is what an auditor looks for.
"""

from __future__ import annotations

import re

from flask import request

from triage_service.api.resources import bp
from triage_service.errors import N_, InvalidId

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
#: A resource type as the audit trail records it (its column holds 40 characters).
RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{0,39}")


def is_fhir_id(value: str) -> bool:
    return FHIR_ID.fullmatch(value) is not None


@bp.before_request
def _check_path_id() -> None:
    rid = (request.view_args or {}).get("rid")
    if isinstance(rid, str) and not is_fhir_id(rid):
        raise InvalidId(N_("The id in the URL is not a FHIR id: 1 to 64 letters, digits, '-' and '.' "
                           "(http://hl7.org/fhir/R4/datatypes.html#id)"))
