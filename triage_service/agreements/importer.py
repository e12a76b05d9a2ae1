"""Importing collaboration agreements from declarative YAML files (``config/agreements/``).

Files are validated completely with marshmallow before anything is written;
errors name the file, line and field. An import replaces the agreement
version with the same ``code`` and ``valid_from`` atomically: on any error the
database keeps the previous version untouched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.agreements.yaml_lines import flatten_errors, line_of, load_with_lines
from triage_service.errors import InvalidInput
from triage_service.fhir.dutch import VEKTIS_SPECIALISM
from triage_service.fhir.profiles import CANONICAL_BASE, registry
from triage_service.models import (
    Agreement,
    Consult,
    Organisation,
    OrganisationKind,
    PatientProfile,
    Practitioner,
    PractitionerRoleKind,
)

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
    working_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=30))
    working_hours = fields.Integer(strict=True, validate=validate.Range(min=1, max=240))

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **_: Any) -> None:
        if len(data) != 1:
            raise ValidationError("give exactly one of working_days or working_hours (a positive whole number)")


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


class ReferralFlagSchema(StrictSchema):
    """A sign that a request should rather be a referral (DOMAIN.md: red flags, physical examination)."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(required=True, validate=validate.OneOf(("red-flag", "physical-examination")))
    icpc = fields.List(fields.String(validate=ICPC_CODE), required=True, validate=validate.Length(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ProfileSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
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
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
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


@dataclass(frozen=True)
class AgreementFileError:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field or '(file)'}: {self.message}"


def parse_agreement_file(path: Path) -> dict[str, Any]:
    """The validated content of one agreement file, or InvalidInput listing every error with its line."""
    try:
        text = path.read_text(encoding="utf-8")
        raw, lines = load_with_lines(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise AgreementImportError([AgreementFileError(str(path), 1, "", f"cannot read file: {exc}")]) from exc
    except __import__("yaml").YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise AgreementImportError([AgreementFileError(str(path), line, "", f"not valid YAML: "
                                                       f"{getattr(exc, 'problem', exc)}")]) from exc
    if not isinstance(raw, dict):
        raise AgreementImportError([AgreementFileError(str(path), 1, "", "an agreement file is a YAML mapping")])
    try:
        data: dict[str, Any] = AgreementSchema().load(raw)
    except ValidationError as exc:
        errors = [AgreementFileError(str(path), line_of(lines, p), ".".join(map(str, p)), m)
                  for p, m in flatten_errors(exc.messages)]
        raise AgreementImportError(sorted(errors, key=lambda e: e.line)) from exc
    return data


class AgreementImportError(InvalidInput):
    def __init__(self, errors: list[AgreementFileError]):
        super().__init__("; ".join(map(str, errors)))
        self.errors = errors


def agreement_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted([*path.glob("*.yaml"), *path.glob("*.yml")])
    return [path]


def import_agreements(session: Session, path: Path) -> list[Agreement]:
    """Validate every file first, then write them all (flushing, not committing)."""
    parsed: list[tuple[Path, dict[str, Any]]] = []
    errors: list[AgreementFileError] = []
    for file in agreement_files(path):
        try:
            parsed.append((file, parse_agreement_file(file)))
        except AgreementImportError as exc:
            errors.extend(exc.errors)
    if errors:
        raise AgreementImportError(errors)
    if not parsed:
        raise AgreementImportError([AgreementFileError(str(path), 1, "", "no agreement files (*.yaml) found")])
    return [_store(session, file, data) for file, data in parsed]


def _organisation(session: Session, agb: str, name: str, kind: OrganisationKind) -> Organisation:
    org = session.scalar(select(Organisation).where(Organisation.agb == agb))
    if org is None:
        org = Organisation(agb=agb, name=name, kind=kind)
        session.add(org)
        session.flush()
    return org


def _store(session: Session, file: Path, data: dict[str, Any]) -> Agreement:
    zorggroep = _organisation(session, data["zorggroep"]["agb"], data["zorggroep"]["name"], OrganisationKind.ZORGGROEP)
    sub = _organisation(session, data["subcontractor"]["agb"], data["subcontractor"]["name"],
                        OrganisationKind.SPECIALIST_ORGANISATION)
    for insurer in data["insurers"]:
        if session.scalar(select(Organisation).where(Organisation.uzovi == insurer["uzovi"])) is None:
            session.add(Organisation(uzovi=insurer["uzovi"], name=insurer["name"], kind=OrganisationKind.INSURER))
    for spec in data["specialists"]:
        practitioner = session.scalar(select(Practitioner).where(Practitioner.agb == spec["agb"]))
        if practitioner is None:
            session.add(Practitioner(agb=spec["agb"], name=spec["name"], role=PractitionerRoleKind.SPECIALIST,
                                     specialism=spec["specialism"], organisation_id=sub.id))
    content_hash = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    existing = session.scalar(select(Agreement).where(Agreement.code == data["code"],
                                                      Agreement.valid_from == data["valid_from"]))
    if existing is not None:
        if existing.content_hash == content_hash:
            return existing  # unchanged: nothing to do
        in_use = session.scalar(select(Consult.id).where(Consult.agreement_id == existing.id).limit(1))
        if in_use is not None:
            # Consults keep pointing at the terms they were routed under; changed terms are a new version.
            raise AgreementImportError([AgreementFileError(
                str(file), 1, "valid_from", f"agreement {data['code']} from {data['valid_from']} is already used by "
                "consults and cannot change; end it with valid_until and add the new terms as a new version "
                "with a later valid_from")])
        session.delete(existing)
        session.flush()
    agreement = Agreement(
        code=data["code"], name=data["name"], zorggroep_id=zorggroep.id, subcontractor_id=sub.id,
        valid_from=data["valid_from"], valid_until=data["valid_until"],
        insurers=[i["uzovi"] for i in data["insurers"]], consult_forms=data["consult_forms"],
        answer_norms=data["answer_norms"], s3_prestatie_code=data["tariffs"]["s3_prestatie_code"],
        s3_tariff_cents=data["tariffs"]["s3_tariff_cents"],
        subcontractor_fee_cents=data["tariffs"]["subcontractor_fee_cents"],
        average_referral_cost_cents=data["tariffs"]["average_referral_cost_cents"], group_queue=data["group_queue"],
        appointment_booking=data["appointment_booking"],
        specialist_agbs=[s["agb"] for s in data["specialists"]], source_file=file.name, content_hash=content_hash,
        referral_flags=data["referral_flags"],
        profiles=[PatientProfile(
            position=i, name=p["name"], specialism=p["specialism"], icpc=p["icpc"], min_age=p["age"].get("min"),
            max_age=p["age"].get("max"), sex=p["sex"], postcode_ranges=p["postcodes"], consult_forms=p["consult_forms"],
            categories=p["categories"],
            min_photos=p["min_photos"], physical_contact_required=p["physical_contact_required"],
        ) for i, p in enumerate(data["profiles"])],
    )
    session.add(agreement)
    session.flush()
    return agreement


def active_on(agreement: Agreement, day: date) -> bool:
    return agreement.valid_from <= day and (agreement.valid_until is None or day <= agreement.valid_until)
