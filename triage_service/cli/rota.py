"""The on-call rota (dienstrooster) from the console: import a CSV or iCalendar file, show the coming days."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click
from sqlalchemy.orm import Session

from triage_service.cli.common import application, audit, fail
from triage_service.database import session_scope


@click.group("rota")
def rota_group() -> None:
    """The on-call rota of a specialist organisation, per specialism (agreements/rota.py)."""


_ORGANISATION = click.option("--organisation", "organisation_agb", required=True,
                             help="AGB code of the specialist organisation")
_SPECIALISM = click.option("--specialism", required=True, help="specialism code, e.g. 0320 (cardiology)")


def _rota_of(session: Session, organisation_agb: str, specialism: str) -> str:
    """The organisation's id, after checking that it keeps a rota for this specialism; else the command fails."""
    from sqlalchemy import select

    from triage_service.agreements.rota import rota_specialisms
    from triage_service.models import Organisation, OrganisationKind

    organisation = session.scalar(select(Organisation).where(Organisation.agb == organisation_agb))
    if organisation is None or organisation.kind is not OrganisationKind.SPECIALIST_ORGANISATION:
        fail(f"No specialist organisation with AGB {organisation_agb}")
        raise AssertionError  # fail() exits
    known = rota_specialisms(session, organisation.id)
    if specialism not in known:
        fail(f"{organisation.name} has no specialists of specialism {specialism} "
             f"(it has: {', '.join(known) or 'none'})")
    return organisation.id


@rota_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_ORGANISATION
@_SPECIALISM
def rota_import(path: Path, organisation_agb: str, specialism: str) -> None:
    """Import a rota (.csv or .ics); it replaces the shifts between its first start and its last end. All or
    nothing: every problem is listed with its line."""
    from triage_service.agreements.rota import import_rota, local
    from triage_service.agreements.rota_files import RotaRefused, read_rota_file
    from triage_service.audit.trail import CLI_ACTOR

    rota = read_rota_file(path.name, path.read_bytes())
    try:
        with session_scope(application()) as session:
            result = import_rota(session, CLI_ACTOR, rota, organisation_id=_rota_of(session, organisation_agb,
                                                                                     specialism),
                                 specialism=specialism)
    except RotaRefused as refused:
        for error in refused.errors:
            click.secho(str(error), fg="red", err=True)
        fail(f"Nothing was imported: {len(refused.errors)} problem(s).")
        return
    click.echo(f"Imported {result.stored} shifts from {local(result.starts_at)} until {local(result.ends_at)} "
               f"(Dutch time); {result.replaced} shifts of that period replaced.")


@rota_group.command("show")
@_ORGANISATION
@_SPECIALISM
@click.option("--days", default=14, show_default=True, type=click.IntRange(1, 366), help="how many days ahead")
def rota_show(organisation_agb: str, specialism: str, days: int) -> None:
    """The shifts from now on, in Dutch time, with who is on call now and any hours without anyone."""
    from triage_service import clock
    from triage_service.agreements.rota import local, shifts_between, uncovered_periods

    with session_scope(application()) as session:
        organisation_id = _rota_of(session, organisation_agb, specialism)
        now = clock.now()
        shifts = shifts_between(session, organisation_id, specialism, now, now + timedelta(days=days))
        rows = [(shift.starts_at, f"{local(shift.starts_at)} .. {local(shift.ends_at)}  on call: "
                 f"{shift.practitioner.agb} {shift.practitioner.name}  backup: {shift.backup.agb} {shift.backup.name}"
                 + ("  <- on call now" if shift.starts_at <= now < shift.ends_at else "")) for shift in shifts]
        rows += [(start, f"{local(start)} .. {local(end)}  NOBODY ON CALL")
                 for start, end in uncovered_periods(shifts, now, now + timedelta(days=days))]
        audit(session, "cli.rota.show", "R", "OnCallShift", detail=f"organisation={organisation_agb}; "
              f"specialism={specialism}; days={days}")
    for _, row in sorted(rows):
        click.echo(row)
