"""Rewriting stored records in the current encrypted form: values written before field encryption (or under an
older field key) are sealed again, and identifier tokens become blind indexes. Run by ``triage-service
encrypt-existing`` once after an upgrade, and by ``rotate-keys --field-key``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from triage_service.models import (
    Consult,
    ConsultContextItem,
    ConsultMessage,
    ConsultTask,
    RoutingDecision,
    StoredResource,
    User,
)
from triage_service.records.supporting import primary_identifier_token


def encrypt_existing(session: Any) -> dict[str, int]:
    """Rewrite values stored before encryption (or under an older field key) in the current form, and turn
    identifier tokens into blind indexes. Idempotent; run once after upgrading."""
    counts: dict[str, int] = {}
    for model, column in ((StoredResource, "resource"), (Consult, "resource"), (ConsultMessage, "text"),
                          (ConsultTask, "status_reason"), (RoutingDecision, "reason"), (User, "totp_secret"),
                          (ConsultContextItem, "resource")):
        count = 0
        for row in session.scalars(select(model).execution_options(yield_per=500)):
            flag_modified(row, column)  # written again through the encrypting column type
            if isinstance(row, StoredResource):
                row.identifier_token = primary_identifier_token(row.resource)
            count += 1
        session.flush()
        counts[model.__tablename__] = count
    return counts
