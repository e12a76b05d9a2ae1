"""Rewriting stored records in the current encrypted form: values written before field encryption (or under an
older field key) are sealed again, and identifier tokens become blind indexes. Run by ``triage-service
encrypt-existing`` once after an upgrade, and by ``rotate-keys --field-key``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from triage_service.encryption.fields import blind_index
from triage_service.fhir import dutch
from triage_service.models import (
    BackReferral,
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
    counts[BackReferral.__tablename__] = _back_referrals(session)
    return counts


#: A back-referral's sealed fields (models/back_referral.py).
_BACK_REFERRAL_SEALED = ("patient_bsn", "patient_name", "diagnosis_text", "gp_plan", "rereferral_criteria",
                         "available_for")


def _back_referrals(session: Any) -> int:
    """Back-referrals sealed again, and their BSN's blind index hashed again: after ``--index-key`` the look-up
    by BSN (audit/queries.patient_refs) computes tokens with the new key."""
    count = 0
    for back in session.scalars(select(BackReferral).execution_options(yield_per=500)):
        for column in _BACK_REFERRAL_SEALED:
            flag_modified(back, column)
        back.patient_token = blind_index(dutch.BSN, back.patient_bsn)
        count += 1
    session.flush()
    return count
