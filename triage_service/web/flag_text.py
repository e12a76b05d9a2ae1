"""The "likely referral" flags in the inbox's language.

The inbox says each flag again from the stored flag (kind, rule, reason and the conversion figure as it
was at intake), so a Dutch specialist reads Dutch; the GP system's Task note is the same sentence
(fhir/notes.py), in the language its request asked for. The rule's name and reason are the zorggroep's own
words from the agreement: Dutch as stored, or the agreement's English translation for a user who reads
English, found through the consult's agreement version (agreements/flag_texts.py; Dutch when there is
none). The reason for a "referral-profile" flag is ours and is translated.
"""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy.orm import object_session

from triage_service.agreements.flag_texts import texts_for
from triage_service.fhir.notes import flag_note
from triage_service.models import ReferralFlag


def flag_text(flag: ReferralFlag) -> str:
    texts = texts_for(object_session(flag), flag)
    locale = get_locale()
    language = locale.language if locale is not None else "nl"
    return flag_note(flag.kind, texts.name_in(language), texts.reason_in(language), flag.similar_total,
                     flag.similar_converted).render()
