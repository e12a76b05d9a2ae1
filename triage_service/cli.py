"""The ``triage-service`` console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask
from sqlalchemy.orm import Session

from triage_service import create_app
from triage_service.cli_users import user_group
from triage_service.database import session_scope
from triage_service.errors import ConfigurationError, DomainError
from triage_service.models import UserRole
from triage_service.services.demo import DemoClient
from triage_service.settings import PROJECT_ROOT

GUNICORN_CONF = PROJECT_ROOT / "config" / "gunicorn.conf.py"


def _app() -> Flask:
    return create_app()


def _audit(session: Session, event: str, action: str, resource_type: str, resource_id: str | None = None,
           detail: str | None = None) -> None:
    """Administrative commands are audited like the API: who (the operating-system account) did what."""
    from triage_service import clock
    from triage_service.models import AuditAction
    from triage_service.security.audit import CLI_ACTOR, record

    record(session, CLI_ACTOR, event=event, action=AuditAction(action), resource_type=resource_type,
           resource_id=resource_id, detail=detail, at=clock.now())


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(2)


class _Commands(click.Group):
    """Settings that stop the service from starting are reported as a message, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            _fail(str(exc))
            return None


@click.group(cls=_Commands)
def main() -> None:
    """triage_service: meekijkconsult and referral triage over FHIR."""


main.add_command(user_group)


@main.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations to head)."""
    from triage_service.migrate import upgrade_database

    app = _app()
    upgrade_database(app.extensions["triage.engine"])
    click.echo(f"Database at {app.extensions['triage.engine'].url.render_as_string()} is up to date.")


@main.command("load-demo")
def load_demo_command() -> None:
    """Load demo organisations, agreements, GP-system clients and users (idempotent)."""
    _load_demo(_app())


def _load_demo(app: Flask) -> list[DemoClient]:
    from triage_service.services.demo import load_demo

    try:
        with session_scope(app) as session:
            clients = load_demo(session, app.extensions["triage.settings"])
    except DomainError as exc:
        _fail(f"Demo data could not be loaded: {exc.message}")
        raise  # unreachable: _fail exits
    click.echo(f"Demo data loaded: {len(clients)} GP-system clients, agreements from config/agreements/.")
    return clients


@main.command("import-agreements")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def import_agreements_command(path: Path) -> None:
    """Validate and import agreement files (a file or a folder of *.yaml); all or nothing."""
    from triage_service.services.agreements import AgreementImportError, import_agreements

    try:
        with session_scope(_app()) as session:
            agreements = import_agreements(session, path)
            summary = [f"{a.code} ({a.valid_from}..{a.valid_until or 'open'}): {len(a.profiles)} profiles"
                       for a in agreements]
            _audit(session, "cli.import-agreements", "U", "Agreement", detail=", ".join(a.code for a in agreements))
    except AgreementImportError as exc:
        for error in exc.errors:
            click.secho(str(error), fg="red", err=True)
        _fail("Nothing was imported.")
        return
    click.echo("Imported:\n  " + "\n  ".join(summary))


@main.command("agreements")
def agreements_command() -> None:
    """List the agreements with their validity, insurers, norms and profiles."""
    from sqlalchemy import select

    from triage_service.models import Agreement

    with session_scope(_app()) as session:
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


@main.group("absence")
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
    from triage_service.security.audit import CLI_ACTOR
    from triage_service.services.absences import add_absence

    try:
        with session_scope(_app()) as session:
            absence = add_absence(session, CLI_ACTOR, agb=agb, starts_at=_when(starts),
                                  ends_at=_when(ends) if ends else None, reason=reason)
            click.echo(f"Absence {absence.id} registered.")
    except DomainError as exc:
        _fail(exc.message)


@absence_group.command("end")
@click.argument("absence_id")
def absence_end(absence_id: str) -> None:
    from triage_service import clock
    from triage_service.security.audit import CLI_ACTOR
    from triage_service.services.absences import end_absence

    try:
        with session_scope(_app()) as session:
            end_absence(session, CLI_ACTOR, absence_id, clock.now())
            click.echo(f"Absence {absence_id} ended.")
    except DomainError as exc:
        _fail(exc.message)


@absence_group.command("list")
def absence_list() -> None:
    from sqlalchemy import select

    from triage_service import clock
    from triage_service.models import Absence
    from triage_service.routing.working_time import AMSTERDAM

    with session_scope(_app()) as session:
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


@main.command("route")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--practice-agb", required=True, help="AGB of the practice that would send it")
def route_command(path: Path, practice_agb: str) -> None:
    """Dry run: show why a ServiceRequest (FHIR JSON file) would or would not route. Stores nothing."""
    from triage_service.routing.explain import explain_file

    app = _app()
    session = app.extensions["triage.sessionmaker"]()
    try:
        lines, ok = explain_file(session, path.read_bytes(), practice_agb)
    finally:
        session.rollback()
        session.close()
    click.echo("\n".join(lines))
    if not ok:
        sys.exit(1)


@main.command("worker")
@click.option("--once", is_flag=True, help="Run one pass and exit (for cron or tests)")
@click.option("--interval", default=60, show_default=True, type=click.IntRange(min=1),
              help="Seconds between answer-norm passes")
@click.option("--notify-interval", default=2, show_default=True, type=click.IntRange(min=1),
              help="Seconds between webhook delivery passes")
@click.option("--exit-with-parent", is_flag=True, hidden=True, help="Stop when the process that started it ends")
def worker(once: bool, interval: int, notify_interval: int, exit_with_parent: bool) -> None:
    """Background jobs: webhook notifications (deliver, retry with backoff), e-mail notices of
    new assignments, and answer-norm monitoring (flag near-due, escalate overdue consults).

    Any number of workers may run side by side against PostgreSQL: consults, subscriptions and
    e-mail notices are claimed with SKIP LOCKED, so none is handled twice.
    """
    import time

    from triage_service import clock
    from triage_service.lifetime import Lifetime
    from triage_service.notifications.delivery import deliver_due
    from triage_service.notifications.email import send_due
    from triage_service.routing.deadlines import run_deadline_jobs
    from triage_service.security.anchoring import Anchorer
    from triage_service.services.blobs import load_keyring

    app = _app()
    settings = app.extensions["triage.settings"]
    factory = app.extensions["triage.sessionmaker"]
    lifetime = Lifetime(exit_with_parent)
    next_deadline_pass = 0.0
    # The chain's head, outside the database, on TRIAGE_AUDIT_ANCHOR_SECONDS and when the worker stops.
    anchorer = Anchorer(app)
    # In the app's context, every reading of the time below is the app's clock (triage_service/clock.py).
    with app.app_context():
        while lifetime.running:
            if clock.monotonic() >= next_deadline_pass:
                with session_scope(app) as session:
                    run = run_deadline_jobs(session, clock.now())
                if run.flagged or run.escalated or run.unassignable:
                    click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} flagged {run.flagged} near due, escalated "
                               f"{run.escalated}, {run.unassignable} overdue without anyone to take over")
                next_deadline_pass = clock.monotonic() + interval
            anchorer.tick()
            sent = deliver_due(factory, settings, load_keyring(settings), clock.now)
            if sent.delivered or sent.failed:
                click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} notifications: {sent.delivered} delivered, {sent.failed} "
                           f"failed, {sent.errored} subscription(s) set to error")
            mailed = send_due(factory, settings, clock.now)
            if mailed.sent or mailed.failed:
                click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} e-mail notices: {mailed.sent} sent, "
                           f"{mailed.failed} failed, {mailed.abandoned} given up")
            if once:
                break
            for _ in range(notify_interval):
                if lifetime.stopping:
                    break
                time.sleep(1)
        anchorer.anchor()


@main.command("rebuild-facts")
def rebuild_facts_command() -> None:
    """Recompute the monitoring's fact table from the consults (after a bulk load or restore)."""
    from triage_service.reports.facts import rebuild_facts

    with session_scope(_app()) as session:
        count = rebuild_facts(session)
        _audit(session, "cli.rebuild-facts", "E", "ConsultFact", detail=f"consults={count}")
    click.echo(f"Rebuilt the monitoring facts of {count} consult(s).")


@main.group("audit")
def audit_group() -> None:
    """The audit trail (NEN 7513): verify the hash chain, anchor its head, a patient's access history."""


@audit_group.command("verify")
def audit_verify() -> None:
    """Check every entry against the chain and the anchors; exit 1 when anything was altered or removed."""
    from triage_service.security.audit_chain import verify

    app = _app()
    with session_scope(app) as session:
        result = verify(session, app.extensions["triage.settings"].audit_anchor_path)
    for warning in result.warnings:
        click.echo(f"NOTE: {warning}")
    if result.intact:
        click.echo(f"The audit trail is intact: {result.checked} entries checked.")
        return
    for problem in result.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    _fail(f"The audit trail was altered: {len(result.problems)} problem(s) in {result.checked} entries.")


@audit_group.command("anchor")
@click.option("--keep-running", is_flag=True,
              help="Anchor every TRIAGE_AUDIT_ANCHOR_SECONDS until stopped, and once more on SIGTERM "
                   "(how `serve` anchors: config/gunicorn.conf.py starts it)")
@click.option("--exit-with-parent", is_flag=True, hidden=True, help="Stop when the process that started it ends")
def audit_anchor(keep_running: bool, exit_with_parent: bool) -> None:
    """Append the chain's first and last entry to the anchor file (`serve` and `worker` do this on their own)."""
    from triage_service import clock
    from triage_service.security.audit_chain import write_anchor

    app = _app()
    if keep_running:
        from triage_service.security.anchoring import keep_anchoring

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
    from triage_service.fhir.dutch import is_valid_bsn
    from triage_service.models import AuditAction
    from triage_service.security.audit import CLI_ACTOR, record
    from triage_service.services.audit_queries import action_word, audit_bundle, patient_history, patient_refs

    if bsn == "-":  # keeps the BSN out of shell history and process lists
        bsn = click.prompt("BSN", hide_input=True)
    if not is_valid_bsn(bsn):
        _fail("That is not a valid BSN (9 digits passing the elfproef).")
    with session_scope(_app()) as session:
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


@main.command("purge")
def purge_command() -> None:
    """Remove consults, patient data and photos past their retention period, and old audit entries."""
    from triage_service import clock
    from triage_service.services.attachments import blob_store
    from triage_service.services.retention import purge

    app = _app()
    settings = app.extensions["triage.settings"]
    with session_scope(app) as session:
        result = purge(session, settings, blob_store(settings), clock.now())
    click.echo(f"Removed {result.consults} consult(s), {result.resources} patient resource(s), {result.photos} "
               f"photo(s) and {result.audit_entries} audit entr(y/ies) past their retention period.")


@main.command("encrypt-existing")
def encrypt_existing_command() -> None:
    """Encrypt personal data stored before field encryption, and blind-index its identifiers (run once)."""
    from triage_service.security.field_crypto import encrypt_existing

    with session_scope(_app()) as session:
        counts = encrypt_existing(session)
        _audit(session, "cli.encrypt-existing", "U", "StoredResource",
               detail="; ".join(f"{t}={n}" for t, n in counts.items()))
    click.echo("Rewritten: " + ", ".join(f"{n} {table}" for table, n in counts.items()))


@main.command("rotate-keys")
@click.option("--new-keyring", is_flag=True, help="Create a key ring if none exists yet (production setup)")
@click.option("--field-key", is_flag=True, help="Also start a new field key and re-encrypt every field with it")
@click.option("--index-key", is_flag=True,
              help="Also replace the blind-index key and re-hash every identifier (stop the service first: "
                   "a running worker looks patients up with the key it started with)")
def rotate_keys(new_keyring: bool, field_key: bool, index_key: bool) -> None:
    """Add a new active key-encryption key and re-wrap every blob's data key with it.

    Blobs are not rewritten. The old keys stay in the ring (needed until every data key is
    re-wrapped); remove them by hand only after this command has finished. With ``--field-key``
    the personal-data fields are sealed again under a new field key (the blind index stays);
    ``--index-key`` replaces the blind-index key too (after a suspected leak of the key file).
    """
    from triage_service.security.crypto import KeyRing
    from triage_service.security.field_crypto import load_field_keys
    from triage_service.services.blobs import rewrap_all, save_keyring
    from triage_service.services.subscriptions import rewrap_subscription_secrets
    from triage_service.settings import load_settings

    try:
        app: Flask | None = _app()
        settings = app.extensions["triage.settings"] if app else load_settings(require_keys=False)
    except ConfigurationError:
        # A new installation: the service cannot start yet (production refuses to run without keys).
        app, settings = None, load_settings(require_keys=False)
    from triage_service.security.audit_keys import load_audit_keys

    if new_keyring and settings.keyring_path.exists() and not settings.audit_key_path.exists():
        # An installation from before keyed audit hashes: only the audit key is missing.
        load_audit_keys(settings.audit_key_path, create=True, made_for=settings.env)
        click.echo(f"Created the audit key at {settings.audit_key_path}")
        return
    if not settings.keyring_path.exists():
        if not new_keyring:
            _fail(f"No key ring at {settings.keyring_path}; pass --new-keyring to create one")
        save_keyring(settings, KeyRing.generate(settings.env))
        load_field_keys(settings.field_keys_path, create=True, made_for=settings.env)
        load_audit_keys(settings.audit_key_path, create=True, made_for=settings.env)
        click.echo(f"Created a key ring at {settings.keyring_path}, field keys at {settings.field_keys_path} "
                   f"and the audit key at {settings.audit_key_path}")
        return
    app = app or _app()
    ring = KeyRing.from_json(settings.keyring_path.read_text(encoding="utf-8")).with_new_active_key()
    # The ring with the new key is saved first: if re-wrapping fails half-way, every key still opens.
    save_keyring(settings, ring)
    with session_scope(app) as session:
        count = rewrap_all(session, ring)
        secrets = rewrap_subscription_secrets(session, ring)
        _audit(session, "cli.rotate-keys", "U", "KeyRing", ring.active,
               detail=f"blobs={count}; subscriptions={secrets}")
    click.echo(f"New active key {ring.active}; re-wrapped {count} data key(s) and {secrets} subscription "
               "secret(s).")
    if field_key or index_key:
        _rotate_field_key(app, settings, index_key)


def _rotate_field_key(app: Flask, settings: Any, index_key: bool) -> None:
    from triage_service.security import field_crypto

    keys = field_crypto.load_field_keys(settings.field_keys_path, create=False).with_new_active_key()
    if index_key:
        keys = keys.with_new_index_key()
    # Saved first, as for the key ring: a re-encryption that stops half-way leaves every field readable.
    field_crypto.save_field_keys(settings.field_keys_path, keys)
    field_crypto.configure(keys)
    with session_scope(app) as session:
        counts = field_crypto.encrypt_existing(session)
        _audit(session, "cli.rotate-keys.fields", "U", "FieldKeys", keys.active,
               detail=("index key replaced; " if index_key else "") + "; ".join(f"{t}={n}" for t, n in counts.items()))
    click.echo(f"New field key {keys.active}; re-encrypted " + ", ".join(f"{n} {t}" for t, n in counts.items()))


@main.command("register-client")
@click.option("--name", required=True, help="Name of the GP system installation")
@click.option("--organization-agb", required=True,
              help="AGB code of the GP practice it acts for (or the zorggroep, for reports.read/write)")
@click.option("--jwks", "jwks_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="JSON Web Key Set with the client's PUBLIC key(s)")
@click.option("--scope", "scopes", multiple=True, required=True, help="e.g. system/ServiceRequest.write")
@click.option("--client-id", default=None, help="Client id (generated when omitted)")
def register_client_command(name: str, organization_agb: str, jwks_file: Path, scopes: tuple[str, ...],
                            client_id: str | None) -> None:
    """Register a GP system (SMART Backend Services client) bound to one practice."""
    from triage_service.security.api_auth import load_jwks
    from triage_service.services.clients import register_client

    try:
        jwks = load_jwks(jwks_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        _fail(str(exc))
        return
    try:
        with session_scope(_app()) as session:
            client = register_client(session, name=name, organisation_agb=organization_agb, jwks=jwks,
                                     scopes=[s for scope in scopes for s in scope.split()], client_id=client_id)
            _audit(session, "cli.register-client", "C", "ApiClient", client.client_id, detail=client.scopes)
            click.echo(f"Registered client_id: {client.client_id}")
    except DomainError as exc:
        _fail(exc.message)


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in UserRole]), default=UserRole.SPECIALIST.value)
@click.option("--practitioner-agb", default=None, help="AGB of the specialist this account belongs to")
@click.option("--organisation-agb", default=None, help="AGB of the zorggroep a staff account belongs to")
@click.option("--email", default=None, help="Send this user a notice (no patient data) of each new assignment")
@click.password_option(help="At least 12 characters")
def create_user_command(username: str, display_name: str, role: str, practitioner_agb: str | None,
                        organisation_agb: str | None, email: str | None, password: str) -> None:
    """Create a web account; prints the TOTP enrolment URI for the second factor."""
    from triage_service.services.clients import create_user, totp_uri

    try:
        with session_scope(_app()) as session:
            user = create_user(session, username=username, display_name=display_name, role=UserRole(role),
                               password=password, practitioner_agb=practitioner_agb, email=email,
                               organisation_agb=organisation_agb)
            _audit(session, "cli.create-user", "C", "User", user.username, detail=f"role={role}")
            click.echo(f"User {user.username} created. Add this to an authenticator app:\n  {totp_uri(user)}")
    except DomainError as exc:
        _fail(exc.message)


@main.command("client-assertion")
@click.option("--client-id", required=True)
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="The client's private key (PEM): EC P-384 (signs ES384) or RSA (signs RS384)")
@click.option("--token-url", default="http://127.0.0.1:8000/oauth/token", show_default=True)
@click.option("--kid", default=None)
def client_assertion_command(client_id: str, key_file: Path, token_url: str, kid: str | None) -> None:
    """Print a signed client assertion, as a GP system would make it (for trying the API with curl)."""
    from triage_service import clock
    from triage_service.services.clients import client_assertion

    try:
        click.echo(client_assertion(client_id, key_file.read_bytes(), token_url, clock.now(), kid=kid))
    except (ValueError, TypeError) as exc:  # not a PEM private key, or a password-protected one
        _fail(f"Cannot sign with {key_file}: {exc}")
    except DomainError as exc:
        _fail(exc.message)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the service under gunicorn (settings in config/gunicorn.conf.py)."""
    _exec_gunicorn(host, port)


def _exec_gunicorn(host: str, port: int) -> None:
    args = [sys.executable, "-m", "gunicorn", "--config", str(GUNICORN_CONF), "--bind", f"{host}:{port}",
            "triage_service:create_app()"]
    sys.stdout.flush()
    os.execv(sys.executable, args)  # noqa: S606 - replaces this process with gunicorn, fixed arguments


@main.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def demo(host: str, port: int) -> None:
    """init-db + load-demo + serve, and print what a newcomer needs."""
    from triage_service.migrate import upgrade_database
    from triage_service.services.demo import DEMO_PASSWORD, DEMO_SCOPES, DEMO_STAFF, DEMO_USERS

    scopes = " ".join(DEMO_SCOPES)
    secrets = "; ".join(f"{u[0]}: {u[3]}" for u in DEMO_USERS)

    app = _app()
    upgrade_database(app.extensions["triage.engine"])
    clients = _load_demo(app)
    base = f"http://{host}:{port}"
    example = PROJECT_ROOT / "fhir_profiles" / "examples" / "ServiceRequest-example-dermatology-contained.json"
    first = clients[0]
    click.echo(f"""
triage_service demo
  FHIR base URL:      {base}/fhir   (CapabilityStatement: {base}/fhir/metadata)
  SMART discovery:    {base}/.well-known/smart-configuration
  Token endpoint:     {base}/oauth/token
  GP-system clients:  {", ".join(f"{c.client_id} ({c.practice})" for c in clients)}
  Private keys:       {app.extensions["triage.settings"].instance_path / "demo-clients"}
  Specialist inbox:   {base}/login  (Dutch; English via the button at the top)
  Demo specialists:   {", ".join(f"{u[0]} ({u[1]})" for u in DEMO_USERS)}, password {DEMO_PASSWORD!r}
  Second factor:      add the TOTP secret to an authenticator app ({secrets}),
                      or print the current code:
                      .venv/bin/python -c "import pyotp; print(pyotp.TOTP('{DEMO_USERS[0][3]}').now())"
                      Two demo consults, a referral to triage and an ECMS to plan are waiting in
                      {DEMO_USERS[0][0]}'s inbox; a video consult to plan in {DEMO_USERS[1][0]}'s.
  Zorggroep reports:  log in as {DEMO_STAFF[0]} ({DEMO_STAFF[1]}), same password, TOTP secret {DEMO_STAFF[3]}:
                      the dashboard at {base}/dashboard (figures, charts, CSV, closing a month).
  Webhooks:           a worker runs beside the server: it delivers notifications to subscribed GP
                      systems (POST {base}/fhir/Subscription) and watches the answer norms.

Get a token and post a consult (in a second terminal; the README's examples use $BASE too):
  BASE={base}
  A=$(.venv/bin/triage-service client-assertion --client-id {first.client_id} --key {first.key_file} \\
      --token-url $BASE/oauth/token)
  T=$(curl -s $BASE/oauth/token -d grant_type=client_credentials \\
      -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\
      -d client_assertion=$A -d scope="{scopes}" \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -X POST $BASE/fhir/ServiceRequest -H "Authorization: Bearer $T" \\
      -H 'Content-Type: application/fhir+json' --data @{example}
""")
    # Webhooks and answer norms need the worker; in the demo it runs beside the server and
    # stops by itself when the server (this process, after exec) ends.
    subprocess.Popen([sys.executable, "-m", "triage_service.cli", "worker", "--exit-with-parent"])
    _exec_gunicorn(host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
