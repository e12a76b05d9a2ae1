"""A referral flag's texts in Dutch and, where the agreement gives one, in English (issue 21).

A ReferralFlag row keeps the rule's name and reason as they were copied at intake (Dutch since issue 21,
English in rows from before). The English translation lives only in the agreement (``name_en`` and
``reason_en``, agreements/schema.py), so it is found again through the agreement version the consult was
routed under: versions never change once consults use them (importer.py), so the rule name still matches
the flag it raised. Without a translation, or for a flag the agreement does not name (a referral profile's,
whose reason is ours and in the catalogue), the stored text is used in both languages.

Exposed for the inbox (web/flag_text.py) and for the GP system's Task note (fhir/, a lower layer, reads
the agreement's flag with ``Agreement.referral_flag(rule)`` from the same JSON):
``texts_for(session, flag)`` gives both languages; ``FlagTexts.localized("reason")`` (or ``"name"``) is
an outcome.Localized parameter that a Message renders in each language (English falls back to Dutch).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.models import Agreement, Consult, ReferralFlag
from triage_service.outcome import Localized


@dataclass(frozen=True)
class FlagTexts:
    """The rule's name and the reason, Dutch (always there) and English (None when not translated)."""

    name: str
    reason: str
    name_en: str | None = None
    reason_en: str | None = None

    def name_in(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name

    def reason_in(self, language: str) -> str:
        return self.reason_en if language == "en" and self.reason_en else self.reason

    def by_language(self) -> dict[str, dict[str, str]]:
        """{"name": {"nl": .., "en": ..}, "reason": {...}}: English falls back to the Dutch."""
        return {"name": {"nl": self.name, "en": self.name_in("en")},
                "reason": {"nl": self.reason, "en": self.reason_in("en")}}

    def localized(self, field: str) -> Localized:
        """``"name"`` or ``"reason"`` as a Message parameter, without a trailing full stop (the note adds it)."""
        return Localized({language: text.rstrip(".") for language, text in self.by_language()[field].items()})


def texts_for(session: Session | None, flag: ReferralFlag) -> FlagTexts:
    """The flag's texts in both languages; one small query (the consult's agreement) when it has a rule."""
    stored = FlagTexts(flag.rule, flag.reason)
    if session is None or flag.kind == "referral-profile":
        return stored
    agreement = session.scalar(select(Agreement).join(Consult, Consult.agreement_id == Agreement.id)
                               .where(Consult.id == flag.consult_id))
    found = agreement.referral_flag(flag.rule) if agreement is not None else None
    if found is None:
        return stored
    # The stored reason, not the file's: it is what the GP was told at intake.
    return FlagTexts(flag.rule, flag.reason, found.get("name_en"), found.get("reason_en"))
