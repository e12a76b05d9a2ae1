"""Patient, Organization, PractitionerRole and Coverage as the GP system sends them.

These are not profiled by us (nl-core defines them); we check the few rules a
consult depends on: a valid BSN and a full birth date (age-based routing), AGB
codes for the GP and practice, a UZOVI code for the insurer (the S3 declaration
goes to that insurer).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.encryption.fields import blind_index
from triage_service.errors import N_, InvalidInput, NotSupported, PreconditionFailed
from triage_service.fhir import dutch
from triage_service.models import StoredResource
from triage_service.outcome import Issue, message

SUPPORTING_TYPES = ("Patient", "Organization", "PractitionerRole", "Coverage")


def identifier_values(resource: dict[str, Any], system: str) -> list[str]:
    return [i["value"] for i in resource.get("identifier", [])
            if isinstance(i, dict) and i.get("system") == system and isinstance(i.get("value"), str)]


#: The identifier index's columns (models/consult.py ConsultIdentifier) hold this many characters.
MAX_IDENTIFIER_LENGTH = 255


def identifier_issues(resource: dict[str, Any], expr: str) -> list[Issue]:
    """Identifiers the identifier index cannot hold: one listed twice names one business id twice (the copy
    would collide with the first), and a system or value longer than the index's columns (PostgreSQL refuses
    it, a 500 before this check; found by benchmarks/fuzz_api.py)."""
    seen: set[tuple[object, object]] = set()
    issues = []
    identifiers = resource.get("identifier")
    for index, ident in enumerate(identifiers if isinstance(identifiers, list) else []):
        if not isinstance(ident, dict):
            continue
        for part in ("system", "value"):
            if isinstance(ident.get(part), str) and len(ident[part]) > MAX_IDENTIFIER_LENGTH:
                issues.append(Issue("value", N_("An identifier's %(part)s may be at most %(limit)s characters long"),
                                    f"{expr}.identifier[{index}].{part}",
                                    params={"part": part, "limit": MAX_IDENTIFIER_LENGTH}))
        key = (ident.get("system"), ident.get("value"))
        if key in seen:
            issues.append(Issue("business-rule", N_("This identifier (system and value) is listed twice; list each "
                                                    "identifier once"), f"{expr}.identifier[{index}]"))
        seen.add(key)
    return issues


def check_patient(patient: dict[str, Any], expr: str) -> list[Issue]:
    issues: list[Issue] = []
    bsns = identifier_values(patient, dutch.BSN)
    if len(bsns) != 1:
        issues.append(Issue("required", N_("The patient needs exactly one identifier with system %(bsn)s (BSN)"),
                            f"{expr}.identifier", params={"bsn": dutch.BSN}))
    elif not dutch.is_valid_bsn(bsns[0]):
        issues.append(Issue("value", N_("The patient's BSN is not a valid BSN (9 digits passing the elfproef)"),
                            f"{expr}.identifier"))
    birth = patient.get("birthDate")
    if not isinstance(birth, str) or len(birth) != 10:
        issues.append(Issue("required", N_("The patient's birthDate must be a full date (YYYY-MM-DD): routing "
                                           "depends on the patient's age"), f"{expr}.birthDate"))
    if patient.get("gender") not in ("male", "female", "other", "unknown"):
        issues.append(Issue("required", N_("The patient's gender is required"), f"{expr}.gender"))
    for index, address in enumerate(patient.get("address", [])):
        # Routing by region uses the postcode, so a Dutch address must carry a real one.
        country = str(address.get("country", "NL")).strip().upper()
        postcode = address.get("postalCode")
        if country in dutch.NETHERLANDS and isinstance(postcode, str) and not dutch.is_valid_postcode(postcode):
            issues.append(Issue("value", N_("A Dutch postalCode is four digits and two letters (e.g. 1234 AB)"),
                                f"{expr}.address[{index}].postalCode"))
    return issues


def check_organization_agb(org: dict[str, Any], expr: str, what: str) -> list[Issue]:
    """``what`` names the organisation in a sentence (a template marked with ``N_``, e.g. "practice")."""
    agbs = identifier_values(org, dutch.AGB)
    if not agbs:
        return [Issue("required", N_("The %(what)s needs an identifier with system %(agb)s (AGB code)"),
                      f"{expr}.identifier", params={"what": message(what), "agb": dutch.AGB})]
    if not all(dutch.is_valid_agb(a) for a in agbs):
        return [Issue("value", N_("The %(what)s's AGB code must be 8 digits"), f"{expr}.identifier",
                params={"what": message(what)})]
    return []


def check_supporting(resource: dict[str, Any], expr: str) -> list[Issue]:
    """Rules for a supporting resource posted on its own or in a transaction."""
    rtype = resource.get("resourceType")
    if rtype == "Patient":
        return check_patient(resource, expr)
    if rtype == "Organization":
        agbs, uzovis = identifier_values(resource, dutch.AGB), identifier_values(resource, dutch.UZOVI)
        if not agbs and not uzovis:
            return [Issue("required", N_("The organization needs an AGB (%(agb)s) or UZOVI (%(uzovi)s) identifier"),
                    f"{expr}.identifier", params={"agb": dutch.AGB, "uzovi": dutch.UZOVI})]
        if not all(map(dutch.is_valid_agb, agbs)) or not all(map(dutch.is_valid_uzovi, uzovis)):
            return [Issue("value", N_("An AGB code must be 8 digits and a UZOVI code 4 digits"), f"{expr}.identifier")]
    return []


def birth_date(patient: dict[str, Any]) -> date:
    return date.fromisoformat(patient["birthDate"])


def parse_instant(value: str) -> datetime:
    """A FHIR dateTime as an aware UTC datetime (date-only values mean midnight UTC)."""
    if len(value) == 10:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise InvalidInput(N_("A dateTime with a time must carry a timezone"))
    return parsed.astimezone(UTC)


def parse_if_none_exist(header: str) -> tuple[str, str]:
    """``identifier=system|value`` from an If-None-Exist header (the only criterion we support)."""
    from urllib.parse import parse_qsl

    pairs = parse_qsl(header.removeprefix("?"), keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != "identifier":
        raise NotSupported(N_("If-None-Exist supports exactly one criterion: identifier=system|value"))
    system, sep, value = pairs[0][1].partition("|")
    if not sep or not system or not value:
        raise InvalidInput(N_("If-None-Exist identifier must be written as system|value"))
    return system, value


def find_by_identifier(session: Session, organisation_id: str, resource_type: str, system: str,
                       value: str) -> StoredResource | None:
    matches = session.scalars(
        select(StoredResource).where(StoredResource.organisation_id == organisation_id,
                                     StoredResource.resource_type == resource_type,
                                     StoredResource.identifier_token == blind_index(system, value))).all()
    if len(matches) > 1:
        # FHIR conditional create: multiple matches -> 412 Precondition Failed.
        raise PreconditionFailed(N_("If-None-Exist matches more than one resource"))
    return matches[0] if matches else None


def primary_identifier_token(resource: dict[str, Any]) -> str | None:
    """The blind index of the identifier used for matching: BSN for patients, AGB/UZOVI for organisations,
    else the first. Only the keyed hash is stored, so the table holds no BSN."""
    preferred = {"Patient": [dutch.BSN], "Organization": [dutch.AGB, dutch.UZOVI],
                 "PractitionerRole": [dutch.AGB]}.get(str(resource.get("resourceType")), [])
    identifiers = [i for i in resource.get("identifier", []) if isinstance(i, dict) and i.get("system")
                   and i.get("value")]
    for system in preferred:
        for ident in identifiers:
            if ident["system"] == system:
                return blind_index(system, str(ident["value"]))
    return blind_index(str(identifiers[0]["system"]), str(identifiers[0]["value"])) if identifiers else None
