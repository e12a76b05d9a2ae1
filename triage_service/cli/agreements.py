"""The collaboration agreements, the specialists' absences, and a dry run of routing."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import click

from triage_service.cli.common import application, audit, fail
from triage_service.database import session_scope
from triage_service.errors import DomainError


@click.command("import-agreements")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def import_agreements_command(path: Path) -> None:
    """Validate and import agreement files (a file or a folder of *.yaml); all or nothing."""
    from triage_service.agreements.importer import AgreementImportError, import_agreements

    try:
        with session_scope(application()) as session:
            agreements = import_agreements(session, path)
            summary = [f"{a.code} ({a.valid_from}..{a.valid_until or 'open'}): {len(a.profiles)} profiles"
                       for a in agreements]
            audit(session, "cli.import-agreements", "U", "Agreement", detail=", ".join(a.code for a in agreements))
    except AgreementImportError as exc:
        for error in exc.errors:
            click.secho(str(error), fg="red", err=True)
        fail("Nothing was imported.")
        return
    click.echo("Imported:\n  " + "\n  ".join(summary))



@click.command("agreements")
def agreements_command() -> None:
    """List the agreements with their validity, insurers, norms and profiles."""
    from sqlalchemy import select

    from triage_service.models import Agreement

    with session_scope(application()) as session:
        for a in session.scalars(select(Agreement).order_by(Agreement.code, Agreement.valid_from)):
            norms = ", ".join(f"{p}: {_norm_text(n)}" for p, n in a.answer_norms.items())
            click.echo(f"{a.code}  {a.name}  ({a.valid_from}..{a.valid_until or 'open'})  "
                       f"insurers {', '.join(a.insurers)}  forms {', '.join(a.consult_forms)}  "
                       f"{'group queue' if a.group_queue else 'individual'}  S3 {a.s3_tariff_cents / 100:.2f} EUR")
            click.echo(f"    norms: {norms}")
            for p in a.profiles:
                ages = f"{p.min_age or 0}+" if p.max_age is None else f"{p.min_age or 0}-{p.max_age}"
                click.echo(f"    - {p.name}: {p.specialism}, ICPC {', '.join(p.icpc) or 'all'}, age {ages}, "
                           f"forms {', '.join(p.consult_forms)}, photos >= {p.min_photos}"
                           + (", physical contact required" if p.physical_contact_required else ""))



def _norm_text(norm: dict[str, int]) -> str:
    unit, amount = next(iter(norm.items()))
    word = unit.replace("working_", "working ")
    return f"{amount} {word.removesuffix('s') if amount == 1 else word}"



@click.group("absence")
def absence_group() -> None:
    """Register when a specialist is away (routing passes them by)."""



def _when(value: str) -> datetime:
    """A date (start of that day in Amsterdam) or an ISO date-time with timezone."""
    from triage_service.routing.working_time import AMSTERDAM

    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter("use YYYY-MM-DD or an ISO date-time such as 2026-12-01T08:00+01:00") from exc
    return parsed.replace(tzinfo=AMSTERDAM) if parsed.tzinfo is None else parsed



@absence_group.command("add")
@click.option("--agb", required=True, help="AGB code of the specialist")
@click.option("--from", "starts", required=True, help="YYYY-MM-DD or ISO date-time")
@click.option("--until", "ends", default=None, help="YYYY-MM-DD (exclusive) or ISO date-time; omit for open-ended")
@click.option("--reason", default=None)
def absence_add(agb: str, starts: str, ends: str | None, reason: str | None) -> None:
    from triage_service.agreements.absences import add_absence
    from triage_service.audit.trail import CLI_ACTOR

    try:
        with session_scope(application()) as session:
            absence = add_absence(session, CLI_ACTOR, agb=agb, starts_at=_when(starts),
                                  ends_at=_when(ends) if ends else None, reason=reason)
            click.echo(f"Absence {absence.id} registered.")
    except DomainError as exc:
        fail(exc.message)



@absence_group.command("end")
@click.argument("absence_id")
def absence_end(absence_id: str) -> None:
    from triage_service import clock
    from triage_service.agreements.absences import end_absence
    from triage_service.audit.trail import CLI_ACTOR

    try:
        with session_scope(application()) as session:
            end_absence(session, CLI_ACTOR, absence_id, clock.now())
            click.echo(f"Absence {absence_id} ended.")
    except DomainError as exc:
        fail(exc.message)



@absence_group.command("list")
def absence_list() -> None:
    from sqlalchemy import select

    from triage_service import clock
    from triage_service.models import Absence
    from triage_service.routing.working_time import AMSTERDAM

    with session_scope(application()) as session:
        now = clock.now()
        rows = session.scalars(select(Absence).where((Absence.ends_at.is_(None)) | (Absence.ends_at > now))
                               .order_by(Absence.starts_at)).all()
        for a in rows:
            # Shown in Amsterdam time, as it was entered.
            starts = a.starts_at.astimezone(AMSTERDAM)
            ends = f"{a.ends_at.astimezone(AMSTERDAM):%Y-%m-%d %H:%M}" if a.ends_at else "open"
            click.echo(f"{a.id}  {a.practitioner.agb} {a.practitioner.name}  {starts:%Y-%m-%d %H:%M}..{ends}  "
                       f"{a.reason or ''}")
        if not rows:
            click.echo("No current or future absences.")



@click.command("route")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--practice-agb", required=True, help="AGB of the practice that would send it")
def route_command(path: Path, practice_agb: str) -> None:
    """Dry run: show why a ServiceRequest (FHIR JSON file) would or would not route. Stores nothing."""
    from triage_service.consults.route_preview import explain_file

    app = application()
    session = app.extensions["triage.sessionmaker"]()
    try:
        lines, ok = explain_file(session, path.read_bytes(), practice_agb)
    finally:
        session.rollback()
        session.close()
    click.echo("\n".join(lines))
    if not ok:
        sys.exit(1)
