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

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.agreements.backup_terms import store_organisation as store_backup_organisation
from triage_service.agreements.backup_terms import stored as backup_stored
from triage_service.agreements.business_terms import REPORTING_KEYS, stored
from triage_service.agreements.context_terms import stored as context_stored
from triage_service.agreements.declaration_terms import stored as declaration_stored
from triage_service.agreements.schema import AgreementSchema
from triage_service.agreements.team_terms import store_team
from triage_service.agreements.yaml_lines import flatten_errors, line_of, load_with_lines
from triage_service.errors import InvalidInput
from triage_service.models import (
    Agreement,
    Consult,
    Organisation,
    OrganisationKind,
    PatientProfile,
    Practitioner,
    PractitionerRoleKind,
)


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
    # A team's members keep their own organisations: stored before the specialists fall back to ``sub``.
    store_team(session, data.get("team"), sub)
    for post in data["out_of_hours_posts"]:
        _organisation(session, post["agb"], post["name"], OrganisationKind.OUT_OF_HOURS_POST)
    for insurer in data["insurers"]:
        if session.scalar(select(Organisation).where(Organisation.uzovi == insurer["uzovi"])) is None:
            session.add(Organisation(uzovi=insurer["uzovi"], name=insurer["name"], kind=OrganisationKind.INSURER))
    for spec in data["specialists"]:
        practitioner = session.scalar(select(Practitioner).where(Practitioner.agb == spec["agb"]))
        if practitioner is None:
            session.add(Practitioner(agb=spec["agb"], name=spec["name"], role=PractitionerRoleKind.SPECIALIST,
                                     specialism=spec["specialism"], organisation_id=sub.id))
    store_backup_organisation(session, data.get("achtervang"))
    # The hash covers the terms consults are routed and paid under. The monitoring targets and the
    # collaboration's own costs are reporting parameters: left out, so a file that gains them (or corrects
    # one) keeps its agreement and its consults, and a file without them hashes as it did before issue 22.
    # The backup (achtervang) is left out too: a consult that overflows keeps its backup's terms on its own
    # Overflow row (agreements/backup_terms.py), so a backup can be added to an agreement in use.
    # So is a team's membership (agreements/team_terms.py): members join and leave without a new version.
    terms = {key: value for key, value in data.items()
             if key not in REPORTING_KEYS and key not in ("achtervang", "team")}
    content_hash = hashlib.sha256(json.dumps(terms, sort_keys=True, default=str).encode()).hexdigest()
    existing = session.scalar(select(Agreement).where(Agreement.code == data["code"],
                                                      Agreement.valid_from == data["valid_from"]))
    if existing is not None:
        if existing.content_hash == content_hash:
            existing.monitoring_targets, existing.costs = stored(data["monitoring"]), stored(data["costs"])
            existing.backup = backup_stored(data.get("achtervang"))
            return existing  # the same terms: at most the reporting parameters changed
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
        out_of_hours_posts=[post["agb"] for post in data["out_of_hours_posts"]], callout=data["callout"],
        norm_minutes=data["normtijd"], monitoring_targets=stored(data["monitoring"]), costs=stored(data["costs"]),
        declaration=declaration_stored(data.get("declaratie")),
        backup=backup_stored(data.get("achtervang")),
        context_required=context_stored(data.get("context_required")),
        profiles=[PatientProfile(
            position=i, name=p["name"], specialism=p["specialism"], icpc=p["icpc"], min_age=p["age"].get("min"),
            max_age=p["age"].get("max"), sex=p["sex"], postcode_ranges=p["postcodes"], consult_forms=p["consult_forms"],
            categories=p["categories"],
            min_photos=p["min_photos"], physical_contact_required=p["physical_contact_required"],
            requesters=p["requesters"], priorities=p["priorities"],
            hours={"from": p["hours"]["start"], "until": p["hours"]["until"]} if p["hours"] else None,
        ) for i, p in enumerate(data["profiles"])],
    )
    session.add(agreement)
    session.flush()
    return agreement


def active_on(agreement: Agreement, day: date) -> bool:
    return agreement.valid_from <= day and (agreement.valid_until is None or day <= agreement.valid_until)
