"""``triage-service audit``: verifying and anchoring the NEN 7513 trail, and a patient's access history."""

from __future__ import annotations

import json

import click

from triage_service.cli.common import application, fail
from triage_service.database import session_scope


@click.group("audit")
def audit_group() -> None:
    """The audit trail (NEN 7513): verify the hash chain, anchor its head, a patient's access history."""



@audit_group.command("verify")
def audit_verify() -> None:
    """Check every entry against the chain and the anchors; exit 1 when anything was altered or removed."""
    from triage_service.audit.chain import verify

    app = application()
    with session_scope(app) as session:
        result = verify(session, app.extensions["triage.settings"].audit_anchor_path)
    for warning in result.warnings:
        click.echo(f"NOTE: {warning}")
    if result.intact:
        click.echo(f"The audit trail is intact: {result.checked} entries checked.")
        return
    for problem in result.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    fail(f"The audit trail was altered: {len(result.problems)} problem(s) in {result.checked} entries.")



@audit_group.command("anchor")
@click.option("--keep-running", is_flag=True,
              help="Anchor every TRIAGE_AUDIT_ANCHOR_SECONDS until stopped, and once more on SIGTERM "
                   "(how `serve` anchors: config/gunicorn.conf.py starts it)")
@click.option("--exit-with-parent", is_flag=True, hidden=True, help="Stop when the process that started it ends")
def audit_anchor(keep_running: bool, exit_with_parent: bool) -> None:
    """Append the chain's first and last entry to the anchor file (`serve` and `worker` do this on their own)."""
    from triage_service import clock
    from triage_service.audit.chain import write_anchor

    app = application()
    if keep_running:
        from triage_service.audit.anchoring import keep_anchoring

        keep_anchoring(app, exit_with_parent)
        return
    with session_scope(app) as session:
        written = write_anchor(session, app.extensions["triage.settings"].audit_anchor_path, clock.now())
    click.echo(f"Anchored entry {written[0]}." if written else "The audit trail is empty; nothing to anchor.")



@audit_group.command("patient")
@click.option("--bsn", required=True, help="The patient's BSN (read from the prompt when given as '-')")
@click.option("--fhir", "as_fhir", is_flag=True, help="Print a FHIR Bundle of AuditEvents instead of a table")
def audit_patient(bsn: str, as_fhir: bool) -> None:
    """Who saw or changed this patient's data, when, from where, acting for which organisation."""
    from triage_service import clock
    from triage_service.audit.queries import action_word, audit_bundle, patient_history, patient_refs
    from triage_service.audit.trail import CLI_ACTOR, record
    from triage_service.fhir.dutch import is_valid_bsn
    from triage_service.models import AuditAction

    if bsn == "-":  # keeps the BSN out of shell history and process lists
        bsn = click.prompt("BSN", hide_input=True)
    if not is_valid_bsn(bsn):
        fail("That is not a valid BSN (9 digits passing the elfproef).")
    with session_scope(application()) as session:
        entries = patient_history(session, bsn)
        refs = patient_refs(session, bsn)
        # Looking up a patient's history is itself access to patient data.
        record(session, CLI_ACTOR, event="audit.patient", action=AuditAction.READ,
               patient_ref=refs[0] if refs else None, detail=f"entries={len(entries)}", at=clock.now())
        if as_fhir:
            click.echo(json.dumps(audit_bundle(entries), indent=2, ensure_ascii=False))
            return
        if not entries:
            click.echo("No recorded access to this patient's data.")
            return
        for e in entries:
            who = f"{e.actor_kind}:{e.actor_id or '-'}"
            click.echo(f"{e.occurred_at:%Y-%m-%d %H:%M:%S}Z  {action_word(e):7}  {e.event:28}  {who:40}  "
                       f"org={e.organisation_id or '-'}  from={e.source_ip or '-'}  "
                       f"{e.resource_type or ''}/{e.resource_id or ''}  outcome={e.outcome.value}")
