"""A second opinion pool for the answer norm (issue 23, point 4): the agreement's backup organisation
(achtervang), validated here so the agreement schema stays about routing.

When the agreement's own specialists cannot meet the answer norm of a routine consult, another hospital's
specialists answer it under the same agreement, for their own fee. The block is written in Dutch, as the
zorggroep's staff write the file::

    achtervang:                                   # optional
      organisatie: {agb: "06020001", name: Ziekenhuis Maasstad-Zuid}
      specialisten:                               # who answers there; at least one
        - {agb: "03100021", name: dr. M. de Wit (dermatoloog), specialism: "0310"}
      vergoeding_per_consult_cents: 6000          # what the backup organisation is paid per answered consult
      overloop:                                   # when a routine consult goes over; at least one rule
        bij_niemand_beschikbaar: true             # none of the own specialists is available (absences)
        na_aandeel_norm_procent: 50               # this share of the norm passed and nobody took it

Only routine consults overflow: an urgent consult has its own call-out with the rota's backup
(consults/callouts.py), and moving it to another hospital mid-call-out would leave nobody sure who has it.

``Agreement.backup`` keeps the terms with English keys ({"agb", "name", "specialists", "fee_cents",
"when_nobody_available", "after_norm_share_percent"}), empty for a file without the block. The importer leaves
the block out of the agreement's content hash: the terms of a consult that overflows are fixed on its own
Overflow row (organisation and fee at that moment), so adding or changing a backup changes nothing for the
consults already routed, and an agreement in use can gain a backup without a new version.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.models import Organisation, OrganisationKind, Practitioner, PractitionerRoleKind

AGB_ERROR = "een AGB-code van 8 cijfers"
FEE_ERROR = "de vergoeding per consult in hele centen, 0 of meer"
SHARE_ERROR = "een percentage van de norm in hele procenten, van 1 tot en met 100"


class _Strict(Schema):
    class Meta:
        unknown = RAISE  # a typo ("na_aandeel_procent") is an error, not a rule silently left out


class _PartySchema(_Strict):
    agb = fields.String(required=True, validate=validate.Regexp(r"^\d{8}$", error=AGB_ERROR))
    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="een naam van 1 tot 200 "
                                                                                        "tekens"))


class _SpecialistSchema(_PartySchema):
    specialism = fields.String(required=True)


class _OverflowRulesSchema(_Strict):
    error_messages = {"type": "overloop geeft bij_niemand_beschikbaar en/of na_aandeel_norm_procent"}

    bij_niemand_beschikbaar = fields.Boolean(load_default=False, error_messages={
        "invalid": "bij_niemand_beschikbaar is true of false"})
    na_aandeel_norm_procent = fields.Integer(strict=True, load_default=None, validate=validate.Range(
        min=1, max=100, error=SHARE_ERROR), error_messages={"invalid": SHARE_ERROR})

    @validates_schema
    def _at_least_one(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("bij_niemand_beschikbaar") and data.get("na_aandeel_norm_procent") is None:
            raise ValidationError("noem wanneer een consult overloopt: bij_niemand_beschikbaar: true en/of "
                                  "na_aandeel_norm_procent")


class BackupTermsSchema(_Strict):
    error_messages = {"type": "achtervang geeft organisatie, specialisten, vergoeding_per_consult_cents en "
                              "overloop (zie de toelichting in agreements/backup_terms.py)"}

    organisatie = fields.Nested(_PartySchema, required=True, error_messages={"required": "noem de organisatie "
                                                                                           "van de achtervang"})
    specialisten = fields.List(fields.Nested(_SpecialistSchema), required=True, validate=validate.Length(
        min=1, error="noem minstens een specialist van de achtervang"),
        error_messages={"required": "noem de specialisten van de achtervang"})
    vergoeding_per_consult_cents = fields.Integer(strict=True, required=True, validate=validate.Range(
        min=0, error=FEE_ERROR), error_messages={"invalid": FEE_ERROR, "required": FEE_ERROR})
    overloop = fields.Nested(_OverflowRulesSchema, required=True, error_messages={
        "required": "noem onder overloop wanneer een consult naar de achtervang gaat"})


def backup_field() -> fields.Nested:
    """No default: a file without the block loads without the key and keeps its content hash."""
    return fields.Nested(BackupTermsSchema)


def check_against_agreement(data: dict[str, Any], known_specialisms: set[str]) -> None:
    """The rules that need the rest of the agreement: the backup is another organisation, with other people,
    who answer the specialisms the agreement's profiles route to."""
    block = data.get("achtervang")
    if not block:
        return
    subcontractor = (data.get("subcontractor") or {}).get("agb")
    if block["organisatie"]["agb"] == subcontractor:
        raise ValidationError({"organisatie": {"agb": ["de achtervang is een andere organisatie dan de "
                                                       "onderaannemer van de afspraak"]}}, "achtervang")
    own = {s["agb"] for s in data.get("specialists", [])}
    wanted = {p["specialism"] for p in data.get("profiles", [])}
    for index, specialist in enumerate(block["specialisten"]):
        if specialist["agb"] in own:
            raise ValidationError({"specialisten": {index: {"agb": [
                "deze specialist antwoordt al onder de afspraak zelf; de achtervang zijn andere specialisten"]}}},
                "achtervang")
        if specialist["specialism"] not in known_specialisms:
            raise ValidationError({"specialisten": {index: {"specialism": [
                "onbekende specialismecode (een Vektis-code zoals 0310, of een eerstelijnscode)"]}}}, "achtervang")
        if specialist["specialism"] not in wanted:
            raise ValidationError({"specialisten": {index: {"specialism": [
                f"geen profiel van de afspraak vraagt om {specialist['specialism']} (de profielen: "
                f"{', '.join(sorted(wanted))})"]}}}, "achtervang")


def stored(block: dict[str, Any] | None) -> dict[str, Any]:
    """As kept in ``Agreement.backup``: English keys; {} without a block."""
    if not block:
        return {}
    rules = block["overloop"]
    return {"agb": block["organisatie"]["agb"], "name": block["organisatie"]["name"],
            "specialists": [{"agb": s["agb"], "name": s["name"], "specialism": s["specialism"]}
                            for s in block["specialisten"]],
            "fee_cents": block["vergoeding_per_consult_cents"],
            "when_nobody_available": bool(rules["bij_niemand_beschikbaar"]),
            "after_norm_share_percent": rules["na_aandeel_norm_procent"]}


def store_organisation(session: Session, block: dict[str, Any] | None) -> None:
    """The backup organisation and its specialists as the rest of the service knows them (an Organisation and
    Practitioners), so they can be given inbox accounts, be assigned consults and be paid."""
    if not block:
        return
    party = block["organisatie"]
    org = session.scalar(select(Organisation).where(Organisation.agb == party["agb"]))
    if org is None:
        org = Organisation(agb=party["agb"], name=party["name"], kind=OrganisationKind.SPECIALIST_ORGANISATION)
        session.add(org)
        session.flush()
    for specialist in block["specialisten"]:
        if session.scalar(select(Practitioner.id).where(Practitioner.agb == specialist["agb"])) is None:
            session.add(Practitioner(agb=specialist["agb"], name=specialist["name"],
                                     role=PractitionerRoleKind.SPECIALIST, specialism=specialist["specialism"],
                                     organisation_id=org.id))
    session.flush()
