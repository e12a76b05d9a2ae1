"""The service's own texts in a Task's notes and in the derived referral, in the reader's language.

A GP system reads the same Task in Dutch or in English (issue 21): the API answers in Dutch, or in English
on ``Accept-Language: en`` (outcome.py). These notes are therefore not stored as sentences but put into
words when the resource is read, from what is stored (the referral flags with their conversion figure as
it was at intake, the call-out steps, whether the GP authorised conversion). Each note's ``text`` is in the
request's language and carries the other language in FHIR's translation extension on ``_text``
(http://hl7.org/fhir/StructureDefinition/translation), so a system that stores the Task keeps both. The
rule names and reasons of an agreement are the zorggroep's own words: Dutch, with the English its file gives
(``name_en``, ``reason_en``), else as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from flask_babel import get_locale, ngettext

from triage_service.errors import N_
from triage_service.outcome import LANGUAGES, Localized, Message, Phrase, message

TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"


def translated(text: Message) -> dict[str, Any]:
    """An Annotation's ``text`` in the request's language, with the other languages as translations."""
    rendered = text.translations()
    locale = get_locale()
    current = locale.language if locale is not None and locale.language in rendered else "en"
    others = [{"url": TRANSLATION, "extension": [{"url": "lang", "valueCode": language},
                                                  {"url": "content", "valueString": rendered[language]}]}
              for language in LANGUAGES if language != current]
    return {"text": rendered[current], "_text": {"extension": others}}


@dataclass(frozen=True)
class _SimilarConsults:
    """How many similar consults became a referral: a plural, which Babel extracts from ngettext only."""

    total: int
    converted: int

    def render(self) -> str:
        return str(ngettext("%(converted)d of %(num)d similar consult became a referral.",
                            "%(converted)d of %(num)d similar consults became a referral.", self.total,
                            converted=self.converted))

    def english(self) -> str:
        return f"{self.converted} of {self.total} similar consult{'' if self.total == 1 else 's'} became a referral."


def flag_reason(kind: str, rule: str | Localized, reason: str | Localized) -> Message:
    """Why a flag fired: the agreement's own words, or ours for a consult only a referral profile admits."""
    if kind == "referral-profile":
        return message(N_("no meekijkconsult profile admits this patient, but the referral profile "
                          "\"%(profile)s\" does: the specialist will probably advise a referral"), profile=rule)
    if isinstance(reason, Localized):
        return Message("%(reason)s", {"reason": Localized({k: v.rstrip(".") for k, v in reason.texts.items()})})
    return Message("%(reason)s", {"reason": reason.rstrip(".")})


def flag_note(kind: str, rule: str | Localized, reason: str | Localized, similar_total: int,
              similar_converted: int) -> Message:
    """A "likely referral" flag with the share of similar consults that became a referral.

    The msgids are the inbox's (web/flag_text.py), so the specialist and the GP read the same sentence."""
    figure: Phrase = _SimilarConsults(similar_total, similar_converted) if similar_total else \
        message(N_("No similar consults have been completed yet."))
    head = message(N_("Likely referral (%(rule)s): %(reason)s."), rule=rule, reason=flag_reason(kind, rule, reason))
    return Message("%(head)s %(figure)s", {"head": head, "figure": figure})


class FlagTexts(Protocol):
    """Where a referral flag's words are kept: the agreement's row (``Agreement``), or the routing table's copy
    of it (``routing.matching.CompiledProfile``), which the intake reads instead of the row."""

    def referral_flag(self, name: str) -> dict[str, Any] | None: ...


def agreement_flag_note(agreement: FlagTexts | None, kind: str, rule: str, reason: str, similar_total: int,
                        similar_converted: int) -> Message:
    """A flag of the agreement the consult was routed under: its words are Dutch, with the English its file
    gives (``name_en``, ``reason_en``) for an English reader; without one, as written."""
    written = (agreement.referral_flag(rule) if agreement else None) or {}
    return flag_note(kind, Localized({"nl": rule, "en": str(written.get("name_en") or rule)}),
                     Localized({"nl": reason, "en": str(written.get("reason_en") or reason)}),
                     similar_total, similar_converted)


#: An urgent consult's call-out as the GP reads it in the Task's history (consults/callouts.py).
_CALLOUT_NOTES = {"callout-started": N_("Urgent consult called out: %(name)s"),
                  "callout-escalated": N_("Not taken in time; now called out: %(name)s"),
                  "callout-taken": N_("Taken by %(name)s")}


def callout_note(kind: str, name: str) -> Message:
    """A call-out step; ``name`` is the specialist's or the group's (never the patient's)."""
    return message(_CALLOUT_NOTES.get(kind, "%(kind)s: %(name)s"), kind=kind, name=name)


def referral_note(authorised: bool) -> Message:
    """Why the referral exists and who decides: the GP stays hoofdbehandelaar (fhir/referral.py)."""
    if authorised:
        return message(N_("Referral advised by the specialist in the meekijkconsult. The GP authorised "
                          "conversion, so this is an order."))
    return message(N_("Referral advised by the specialist in the meekijkconsult. The GP did not authorise "
                      "conversion: this is a proposal, and the GP decides whether to refer."))
