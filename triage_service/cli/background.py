"""The work that runs beside the web server: notifications, answer norms, facts, retention."""

from __future__ import annotations

import click

from triage_service.cli.common import application, audit
from triage_service.database import session_scope


@click.command("worker")
@click.option("--once", is_flag=True, help="Run one pass and exit (for cron or tests)")
@click.option("--interval", default=60, show_default=True, type=click.IntRange(min=1),
              help="Seconds between answer-norm passes")
@click.option("--notify-interval", default=2, show_default=True, type=click.IntRange(min=1),
              help="Seconds between webhook delivery passes")
@click.option("--exit-with-parent", is_flag=True, hidden=True, help="Stop when the process that started it ends")
def worker(once: bool, interval: int, notify_interval: int, exit_with_parent: bool) -> None:
    """Background jobs: webhook notifications (deliver, retry with backoff), e-mail notices of
    new assignments, the call-out of urgent consults (alert again, pass on to the backup and the
    group), Web Push messages to specialists' devices, and answer-norm monitoring (flag near-due,
    escalate overdue consults).

    Any number of workers may run side by side against PostgreSQL: consults, call-outs, subscriptions,
    e-mail notices and push messages are claimed with SKIP LOCKED, so none is handled twice.
    """
    import time

    from triage_service import clock
    from triage_service.attachments.blobs import load_keyring
    from triage_service.audit.anchoring import Anchorer
    from triage_service.consults.callouts import run_callout_jobs
    from triage_service.lifetime import Lifetime
    from triage_service.notifications.delivery import deliver_due
    from triage_service.notifications.email import send_due
    from triage_service.notifications.push_delivery import send_push_due
    from triage_service.routing.deadlines import run_deadline_jobs

    app = application()
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
            # Every pass, not every answer-norm interval: an urgent consult's alerts repeat every few minutes, and
            # the alerts queued here go out with the e-mail and push sends just below.
            with session_scope(app) as session:
                called = run_callout_jobs(session, clock.now())
            if called.alerted or called.escalated:
                click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} urgent call-outs: {called.alerted} alerted, "
                           f"{called.escalated} passed on to the backup or the group, {called.closed} closed")
            sent = deliver_due(factory, settings, load_keyring(settings), clock.now)
            if sent.delivered or sent.failed:
                click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} notifications: {sent.delivered} delivered, {sent.failed} "
                           f"failed, {sent.errored} subscription(s) set to error")
            mailed = send_due(factory, settings, clock.now)
            if mailed.sent or mailed.failed:
                click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} e-mail notices: {mailed.sent} sent, "
                           f"{mailed.failed} failed, {mailed.abandoned} given up")
            pushed = send_push_due(factory, settings, clock.now)
            if pushed.sent or pushed.failed or pushed.removed:
                click.echo(f"{clock.now():%Y-%m-%d %H:%M:%S} push notices: {pushed.sent} sent, "
                           f"{pushed.failed} failed, {pushed.abandoned} given up, {pushed.removed} device(s) gone")
            if once:
                break
            for _ in range(notify_interval):
                if lifetime.stopping:
                    break
                time.sleep(1)
        anchorer.anchor()



@click.command("rebuild-facts")
def rebuild_facts_command() -> None:
    """Recompute the monitoring's fact table from the consults (after a bulk load or restore)."""
    from triage_service.reports.facts import rebuild_facts

    with session_scope(application()) as session:
        count = rebuild_facts(session)
        audit(session, "cli.rebuild-facts", "E", "ConsultFact", detail=f"consults={count}")
    click.echo(f"Rebuilt the monitoring facts of {count} consult(s).")



@click.command("purge")
def purge_command() -> None:
    """Remove consults, patient data, photos and unsent portal drafts past their retention period, and old audit
    entries."""
    from triage_service import clock
    from triage_service.attachments.documents import blob_store
    from triage_service.records.retention import purge

    app = application()
    settings = app.extensions["triage.settings"]
    with session_scope(app) as session:
        result = purge(session, settings, blob_store(settings), clock.now())
    click.echo(f"Removed {result.consults} consult(s), {result.resources} patient resource(s), {result.photos} "
               f"photo(s), {result.drafts} unsent portal draft(s) and {result.audit_entries} audit entr(y/ies) "
               "past their retention period.")
