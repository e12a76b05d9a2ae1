"""How an agreement is declared (issue 22), validated here so the agreement schema stays about routing.

Dutch practice varies per contract: a zorggroep may declare the consult as an S3 prestatie, the GP practice
may declare it as an M&I verrichting, or it is paid from a first-line budget; the money may go to the
zorggroep, the practice or the specialists' organisation; and an insurer may pay only when no hospital
treatment (DBC-zorgtraject) is open for the same question, which the answering specialist attests. The
block is optional and written in Dutch, as the zorggroep's staff write the file::

    declaratie:                     # optional; without it the zorggroep declares S3 and is paid
      declarant: zorggroep          # zorggroep of praktijk: wie declareert bij de verzekeraar
      betaald_aan: zorggroep        # zorggroep, praktijk of onderaannemer; standaard: de declarant
      soort: S3                     # S3, M&I of eerstelijnsbudget
      verklaringen: [geen-open-dbc] # wat de specialist bij het antwoord verklaart; standaard geen

The prestatiecode and the tariff stay under ``tariffs`` (``s3_prestatie_code``, ``s3_tariff_cents``): they
are the code and tariff of whichever kind is declared. ``Agreement.declaration`` keeps the terms with
English codes ({"declarant": "practice", "payee": "practice", "kind": "M&I", "attestations": []}), empty
for a file without the block: reports/declaration_terms.py reads an empty one as the S3 default.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy.orm import Session

from triage_service.models import Agreement, Consult

#: The file's Dutch words and the codes they are stored as.
DECLARANTS = {"zorggroep": "zorggroep", "praktijk": "practice"}
PAYEES = {"zorggroep": "zorggroep", "praktijk": "practice", "onderaannemer": "subcontractor"}
KINDS = {"S3": "S3", "M&I": "M&I", "eerstelijnsbudget": "first-line-budget"}
#: What a specialist can attest when answering; the stored code is what Consult.attestations holds.
ATTESTATIONS = {"geen-open-dbc": "no-open-dbc"}


def _one_of(field: str, words: dict[str, str]) -> validate.OneOf:
    return validate.OneOf(list(words), error=f"onbekende waarde voor {field}: {{input}}; kies uit "
                                              + ", ".join(words))


class DeclarationTermsSchema(Schema):
    class Meta:
        unknown = RAISE  # a typo ("betaald_door") is an error, not a term silently left at its default

    error_messages = {"type": "declaratie geeft declarant, betaald_aan, soort en verklaringen (zie de toelichting "
                              "in agreements/declaration_terms.py)"}

    declarant = fields.String(validate=_one_of("declarant", DECLARANTS), load_default="zorggroep")
    betaald_aan = fields.String(validate=_one_of("betaald_aan", PAYEES), load_default=None)
    soort = fields.String(validate=_one_of("soort", KINDS), load_default="S3")
    verklaringen = fields.List(fields.String(validate=_one_of("verklaringen", ATTESTATIONS)), load_default=list,
                               error_messages={"invalid": "verklaringen is een lijst, bijvoorbeeld [geen-open-dbc]"})

    @validates_schema
    def _each_once(self, data: dict[str, Any], **_: Any) -> None:
        named = data.get("verklaringen", [])
        if len(set(named)) != len(named):
            raise ValidationError("noem elke verklaring een keer", "verklaringen")


def declaration_field() -> fields.Nested:
    """No default: a file without the block loads without the key, so its content hash (importer.py) stays as
    it was before issue 22 and an agreement already in use is not taken for changed terms."""
    return fields.Nested(DeclarationTermsSchema)


def stored(block: dict[str, Any] | None) -> dict[str, Any]:
    """As kept in ``Agreement.declaration``: English codes, every term filled in; {} without a block."""
    if not block:
        return {}
    declarant = DECLARANTS[block["declarant"]]
    return {"declarant": declarant, "payee": PAYEES[block["betaald_aan"]] if block["betaald_aan"] else declarant,
            "kind": KINDS[block["soort"]], "attestations": [ATTESTATIONS[a] for a in block["verklaringen"]]}


def attestations_required(session: Session, consult: Consult) -> tuple[str, ...]:
    """What the answering specialist must attest for this consult to be declared (its own agreement version)."""
    agreement = session.get(Agreement, consult.agreement_id) if consult.agreement_id else None
    if agreement is None:
        return ()
    return tuple(str(code) for code in (agreement.declaration or {}).get("attestations", []))
