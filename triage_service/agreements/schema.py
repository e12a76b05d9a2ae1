"""The schema of a collaboration agreement file (``config/agreements/*.yaml``), validated with marshmallow.

Every rule that can be checked without the database lives here; importer.py reads the files, reports the
errors with their lines and stores the result.

Language (issue 21): an agreement is the zorggroep's own text, read by Dutch GPs and specialists, so its
names and the reasons of its referral flags are written in Dutch. A flag may carry an English translation
beside the Dutch in ``name_en`` and ``reason_en`` (flat keys rather than ``{nl: .., en: ..}`` so each text
keeps its own line for error messages and a file without translations stays as it was)::

    referral_flags:
      - name: Verdenking huidmaligniteit
        name_en: Suspected skin malignancy          # optional
        kind: red-flag
        icpc: [S77]
        reason: een verdenking op huidkanker wordt meestal in het ziekenhuis verwijderd en gecontroleerd
        reason_en: a suspected skin cancer is usually excised and followed up in the hospital   # optional

The inbox shows the English text to an English-speaking user and falls back to the Dutch
(agreements/flag_texts.py). A Dutch field that reads as English is refused with the line, so an old file
with English reasons is caught at import rather than shown to a Dutch GP.

Norm time (normtijd): ``normtijd: {e-consult: 15, ecms: 30}`` gives the agreed minutes per consult form
(whole minutes, 1 to 240, only forms the agreement allows); stored in ``Agreement.norm_minutes`` and read
through agreements/norms.py.

Declaration (declaratie, issue 22): who declares, who is paid, the kind of prestatie and what the specialist
attests; optional, documented and validated in agreements/declaration_terms.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate, validates_schema

from triage_service.agreements.backup_terms import backup_field, check_against_agreement
from triage_service.agreements.business_terms import costs_field, monitoring_field
from triage_service.agreements.context_terms import context_field, forms_not_allowed
from triage_service.agreements.declaration_terms import declaration_field
from triage_service.agreements.team_terms import check_team, team_field, with_team_defaults
from triage_service.fhir.dutch import VEKTIS_SPECIALISM
from triage_service.fhir.profiles import CANONICAL_BASE, registry

PRIORITIES = ("routine", "urgent", "asap", "stat")
CONSULT_FORMS = ("e-consult", "intercollegial-consult", "video-consult", "ecms")
SEXES = ("male", "female", "other", "unknown")


def specialism_codes() -> set[str]:
    return {code for _, code in registry().value_set_codes(f"{CANONICAL_BASE}/ValueSet/triage-requested-specialism")}


class StrictSchema(Schema):  # shared by every declarative config schema (agreements, demo data)
    class Meta:
        unknown = RAISE  # a typo in a key is an error, not a silently ignored rule


class PartySchema(StrictSchema):
    agb = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$", error="AGB code must be 8 digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class InsurerSchema(StrictSchema):
    uzovi = fields.String(required=True, validate=validate.Regexp(r"^\d{4}$", error="UZOVI code must be 4 digits"))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))


class SpecialistSchema(PartySchema):
    specialism = fields.String(required=True)

    @validates_schema
    def _known_specialism(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("specialism") not in specialism_codes():
            raise ValidationError("unknown specialism code (use a Vektis COD016 code such as 0310, or a "
                                  "first-line specialism code)", "specialism")


class NormSchema(StrictSchema):
    """Working time (Monday to Friday, office hours) or clock time, which runs day and night: an urgent
    question from the out-of-hours post sent on a Friday at 22:00 is due that night, not on Monday."""

    working_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=30))
    working_hours = fields.Integer(strict=True, validate=validate.Range(min=1, max=240))
    hours = fields.Integer(strict=True, validate=validate.Range(min=1, max=72))
    minutes = fields.Integer(strict=True, validate=validate.Range(min=5, max=720))

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ValidationError("give exactly one of working_days, working_hours, hours or minutes "
                                  "(a positive whole number)")


CLOCK_NORMS = ("hours", "minutes")
NORM_MINUTES_ERROR = "normtijd in hele minuten, van 1 tot en met 240"
REQUESTERS = ("gp-practice", "out-of-hours-post")


class HoursSchema(StrictSchema):
    """A daily window in Dutch time; ``until`` before ``from`` runs past midnight (17:00 to 08:00)."""

    start = fields.String(required=True, data_key="from",
                          validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", error="a time as HH:MM"))
    until = fields.String(required=True, validate=validate.Regexp(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$",
                                                                  error="a time as HH:MM"))

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("start") is not None and data.get("start") == data.get("until"):
            raise ValidationError("from and until are the same: leave hours out to admit every hour", "until")


class CalloutSchema(StrictSchema):
    """How an urgent consult with a clock-time norm is called out until someone takes it."""

    repeat_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=60), load_default=5)
    escalate_after_minutes = fields.Integer(strict=True, validate=validate.Range(min=2, max=240), load_default=15)

    @validates_schema
    def _repeats_before_escalating(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("repeat_minutes", 5) >= data.get("escalate_after_minutes", 15):
            raise ValidationError("repeat_minutes must be shorter than escalate_after_minutes, or the specialist "
                                  "on call is alerted only once before the backup", "repeat_minutes")


class TariffSchema(StrictSchema):
    s3_prestatie_code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    # strict: 75.0 or "75" is refused; money is whole cents (declarations must be right to the cent).
    s3_tariff_cents = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    subcontractor_fee_cents = fields.Integer(strict=True, required=True, validate=validate.Range(min=0))
    #: What a referral to this specialism costs the second line on average: the business case compares it
    #: with tariff + fee. Optional: without it the monitoring reports the savings as unknown.
    average_referral_cost_cents = fields.Integer(strict=True, validate=validate.Range(min=1), load_default=None)


class AgeSchema(StrictSchema):
    min = fields.Integer(strict=True, validate=validate.Range(min=0, max=130))
    max = fields.Integer(strict=True, validate=validate.Range(min=0, max=130))

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if "min" in data and "max" in data and data["min"] > data["max"]:
            raise ValidationError("age min must not be above max")


ICPC_CODE = validate.Regexp(r"^[A-Z](\d{2}(\.\d{1,2})?)?$", error="ICPC-1-NL code (S82) or chapter letter (S)")
CATEGORIES = ("meekijkconsult", "referral")


#: Words that are common in English sentences and never Dutch words; "in", "is" and "over" are both.
_ENGLISH_ONLY = frozenset(("the", "and", "with", "should", "needs", "need", "usually", "which", "this", "that",
                           "of", "to", "for", "be", "are", "or", "often", "seen", "person", "a", "an", "it", "its",
                           "has", "have", "from", "by"))
#: Dutch function words; one is enough to take the text as Dutch (a Dutch sentence may quote English).
_DUTCH_ONLY = frozenset(("de", "het", "een", "en", "van", "wordt", "worden", "moet", "niet", "bij", "voor",
                         "met", "naar", "op", "meestal", "ook", "zonder"))


def looks_english(text: str) -> bool:
    """True for a sentence that reads as English: two English-only words and not one Dutch function word.

    Deliberately cautious: a short name without such words ("Uitstralende rugpijn", "ECG") passes, so a
    Dutch text is never refused; the rule is there to catch the English reasons of the earlier files."""
    words = re.findall(r"[a-z']+", text.lower())
    return sum(w in _ENGLISH_ONLY for w in words) >= 2 and not any(w in _DUTCH_ONLY for w in words)


def _dutch(field: str, max_length: int) -> list[Callable[[str], Any]]:
    def check(text: str) -> None:
        if looks_english(text):
            raise ValidationError(f"{field} moet Nederlands zijn (dit leest als Engels); zet de Nederlandse tekst "
                                  f"in {field} en de Engelse vertaling eventueel in {field}_en")
    return [validate.Length(min=1, max=max_length, error=f"{field} is leeg of langer dan {max_length} tekens"), check]


def _english(field: str, max_length: int) -> validate.Validator:
    return validate.Length(min=1, max=max_length, error=f"{field}_en (de Engelse vertaling van {field}) is leeg of "
                                                        f"langer dan {max_length} tekens")


class ReferralFlagSchema(StrictSchema):
    """A sign that a request should rather be a referral (DOMAIN.md: red flags, physical examination).

    ``name`` (the rule, also how a stored flag finds its texts again) and ``reason`` are Dutch; ``name_en``
    and ``reason_en`` are the optional English translations."""

    name = fields.String(required=True, validate=_dutch("name", 200))
    name_en = fields.String(validate=_english("name", 200))
    kind = fields.String(required=True, validate=validate.OneOf(("red-flag", "physical-examination")))
    icpc = fields.List(fields.String(validate=ICPC_CODE), required=True, validate=validate.Length(min=1))
    reason = fields.String(required=True, validate=_dutch("reason", 500))
    reason_en = fields.String(validate=_english("reason", 500))

    @validates_schema
    def _translated(self, data: dict[str, Any], **_: Any) -> None:
        for field in ("name", "reason"):
            english = data.get(f"{field}_en")
            if english is not None and english.strip() == (data.get(field) or "").strip():
                raise ValidationError(f"{field}_en is gelijk aan {field}: geef een Engelse vertaling of laat "
                                      f"{field}_en weg", f"{field}_en")


class ProfileSchema(StrictSchema):
    name = fields.String(required=True, validate=_dutch("name", 200))
    specialism = fields.String(required=True)
    #: meekijkconsult profiles admit consults; referral profiles admit referrals for triage.
    categories = fields.List(fields.String(validate=validate.OneOf(CATEGORIES)), validate=validate.Length(min=1),
                             load_default=lambda: ["meekijkconsult"])
    icpc = fields.List(fields.String(validate=ICPC_CODE), load_default=list)
    age = fields.Nested(AgeSchema, load_default=dict)
    sex = fields.String(validate=validate.OneOf(SEXES), load_default=None)
    postcodes = fields.List(fields.List(fields.Integer(strict=True, validate=validate.Range(min=1000, max=9999)),
                                        validate=validate.Length(equal=2)), load_default=list)
    consult_forms = fields.List(fields.String(validate=validate.OneOf(CONSULT_FORMS)), required=True,
                                validate=validate.Length(min=1))
    min_photos = fields.Integer(strict=True, validate=validate.Range(min=0, max=10), load_default=0)
    physical_contact_required = fields.Boolean(load_default=False)
    #: Who may ask under this profile: GP practices (the default) and/or out-of-hours posts (HAP).
    requesters = fields.List(fields.String(validate=validate.OneOf(REQUESTERS)), validate=validate.Length(min=1),
                             load_default=lambda: ["gp-practice"])
    #: The priorities admitted (all when left out).
    priorities = fields.List(fields.String(validate=validate.OneOf(PRIORITIES)), validate=validate.Length(min=1),
                             load_default=list)
    #: The hours of the day in which requests are admitted (all when left out).
    hours = fields.Nested(HoursSchema, load_default=None)

    @validates_schema
    def _rules(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("specialism") not in specialism_codes():
            raise ValidationError("unknown specialism code", "specialism")
        for low, high in data.get("postcodes", []):
            if low > high:
                raise ValidationError("postcode range must be [low, high]", "postcodes")
        if data.get("physical_contact_required") and data.get("consult_forms") != ["ecms"]:
            raise ValidationError("a profile that requires physical contact allows only the ecms consult form",
                                  "consult_forms")


class AgreementSchema(StrictSchema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9\-_.]{1,64}$"))
    name = fields.String(required=True, validate=_dutch("name", 200))
    zorggroep = fields.Nested(PartySchema, required=True)
    subcontractor = fields.Nested(PartySchema, required=True)
    valid_from = fields.Date(required=True)
    valid_until = fields.Date(load_default=None)
    insurers = fields.List(fields.Nested(InsurerSchema), required=True, validate=validate.Length(min=1))
    consult_forms = fields.List(fields.String(validate=validate.OneOf(CONSULT_FORMS)), required=True,
                                validate=validate.Length(min=1))
    answer_norms = fields.Dict(keys=fields.String(validate=validate.OneOf(PRIORITIES)),
                               values=fields.Nested(NormSchema), required=True)
    tariffs = fields.Nested(TariffSchema, required=True)
    group_queue = fields.Boolean(load_default=False)
    #: Who books video consults and ECMS visits: the GP system from the proposed times, or the specialist.
    appointment_booking = fields.String(validate=validate.OneOf(("gp", "specialist")), load_default="gp")
    specialists = fields.List(fields.Nested(SpecialistSchema), required=True, validate=validate.Length(min=1))
    profiles = fields.List(fields.Nested(ProfileSchema), required=True, validate=validate.Length(min=1))
    referral_flags = fields.List(fields.Nested(ReferralFlagSchema), load_default=list)
    #: The out-of-hours posts (HAP) whose GPs may ask under the profiles that admit them.
    out_of_hours_posts = fields.List(fields.Nested(PartySchema), load_default=list)
    callout = fields.Nested(CalloutSchema, load_default=lambda: CalloutSchema().load({}))
    #: The agreed minutes per consult form (normtijd), e.g. {"e-consult": 15}; see the module docstring.
    normtijd = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CONSULT_FORMS, error="onbekende consultvorm {input}; kies uit "
                                                   + ", ".join(CONSULT_FORMS))),
        values=fields.Integer(strict=True, validate=validate.Range(min=1, max=240, error=NORM_MINUTES_ERROR),
                              error_messages={"invalid": NORM_MINUTES_ERROR}),
        load_default=dict, error_messages={"invalid": "normtijd geeft per consultvorm de minuten, "
                                                      "bijvoorbeeld {{e-consult: 15, ecms: 30}}"})

    #: Monitoring targets and baselines agreed before the start, and the collaboration's own costs
    #: (agreements/business_terms.py).
    monitoring = monitoring_field()
    costs = costs_field()
    #: How the contract is declared: declarant, payee, kind, attestations (agreements/declaration_terms.py).
    declaratie = declaration_field()
    #: The backup organisation a routine consult overflows to (agreements/backup_terms.py).
    achtervang = backup_field()

    @validates_schema
    def _backup(self, data: dict[str, Any], **_: Any) -> None:
        check_against_agreement(data, specialism_codes())

    #: A regional expertise team answers under this agreement (agreements/team_terms.py).
    team = team_field()

    @pre_load
    def _team_defaults(self, data: Any, **_: Any) -> Any:
        return with_team_defaults(data)

    @validates_schema
    def _team(self, data: dict[str, Any], **_: Any) -> None:
        check_team(data, specialism_codes())

    #: The patient's context each consult form must carry (agreements/context_terms.py).
    context_required = context_field(CONSULT_FORMS)

    @validates_schema
    def _context_forms(self, data: dict[str, Any], **_: Any) -> None:
        wrong = forms_not_allowed(data)
        if wrong:
            raise ValidationError(wrong, "context_required")

    @validates_schema
    def _norm_time_forms(self, data: dict[str, Any], **_: Any) -> None:
        allowed = set(data.get("consult_forms", []))
        for form in data.get("normtijd", {}):
            if form not in allowed:
                raise ValidationError({form: [f"normtijd voor {form}, maar de afspraak staat die consultvorm niet "
                                              f"toe (consult_forms: {', '.join(sorted(allowed))})"]}, "normtijd")

    @validates_schema
    def _out_of_hours(self, data: dict[str, Any], **_: Any) -> None:
        norms = data.get("answer_norms", {})
        for index, profile in enumerate(data.get("profiles", [])):
            if "out-of-hours-post" not in profile.get("requesters", []):
                continue
            if not data.get("out_of_hours_posts"):
                raise ValidationError({index: {"requesters": [
                    "admits out-of-hours posts, but the agreement names none (out_of_hours_posts)"]}}, "profiles")
            # The post's questions cannot wait for the next working day (DOMAIN.md: "same shift").
            slow = [p for p in profile.get("priorities") or PRIORITIES
                    if p != "routine" and p in norms and not set(norms[p]) & set(CLOCK_NORMS)]
            if slow:
                raise ValidationError({index: {"requesters": [
                    f"admits out-of-hours posts, so the answer norm of {', '.join(slow)} must run day and night "
                    "(hours or minutes), not in working time"]}}, "profiles")

    @validates_schema
    def _consistent(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("valid_until") and data.get("valid_from") and data["valid_until"] < data["valid_from"]:
            raise ValidationError("valid_until is before valid_from", "valid_until")
        missing = [p for p in PRIORITIES if p not in data.get("answer_norms", {})]
        if missing:
            raise ValidationError(f"an answer norm is needed for every priority; missing: {', '.join(missing)}",
                                  "answer_norms")
        allowed = set(data.get("consult_forms", []))
        for index, profile in enumerate(data.get("profiles", [])):
            extra = set(profile.get("consult_forms", [])) - allowed
            if extra:
                raise ValidationError({index: {"consult_forms": [f"not allowed by the agreement: {sorted(extra)}"]}},
                                      "profiles")

    @validates_schema
    def _no_contradicting_profiles(self, data: dict[str, Any], **_: Any) -> None:
        profiles = data.get("profiles", [])
        for later, profile in enumerate(profiles):
            for earlier in range(later):
                other = profiles[earlier]
                if _contradict(other, profile):
                    raise ValidationError({later: {"physical_contact_required": [
                        f"contradicts profile {earlier} ('{other['name']}'): both admit the same patients, but one "
                        "requires physical contact (ECMS only) and the other allows a remote consult"]}}, "profiles")

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["vektis_system"] = VEKTIS_SPECIALISM
        return data


def _overlap(low_a: int | None, high_a: int | None, low_b: int | None, high_b: int | None) -> bool:
    return (low_a or 0) <= (high_b if high_b is not None else 999) and \
        (low_b or 0) <= (high_a if high_a is not None else 999)


def _icpc_overlap(a: list[str], b: list[str]) -> bool:
    if not a or not b:
        return True  # an empty list admits every complaint
    return any(x == y or x.startswith(y) or y.startswith(x) for x in a for y in b)


def _contradict(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Two profiles admit a common patient, and one demands physical contact while the other allows remote care."""
    if a["physical_contact_required"] == b["physical_contact_required"] or a["specialism"] != b["specialism"]:
        return False
    if not set(a["categories"]) & set(b["categories"]):
        return False  # a referral profile and a consult profile answer different questions
    remote = b if a["physical_contact_required"] else a
    if set(remote["consult_forms"]) <= {"ecms"}:
        return False
    regions_overlap = not a["postcodes"] or not b["postcodes"] or any(
        _overlap(lo1, hi1, lo2, hi2) for lo1, hi1 in a["postcodes"] for lo2, hi2 in b["postcodes"])
    return (_icpc_overlap(a["icpc"], b["icpc"])
            and _overlap(a["age"].get("min"), a["age"].get("max"), b["age"].get("min"), b["age"].get("max"))
            and (a["sex"] is None or b["sex"] is None or a["sex"] == b["sex"]) and regions_overlap)
