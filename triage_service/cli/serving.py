"""Starting the service: the schema, the demo data, and gunicorn (``serve``, and ``demo`` for newcomers)."""

from __future__ import annotations

import os
import subprocess
import sys

import click
from flask import Flask

from triage_service.cli.common import application, fail
from triage_service.database import session_scope
from triage_service.demo import DemoClient
from triage_service.errors import DomainError
from triage_service.settings import PROJECT_ROOT

GUNICORN_CONF = PROJECT_ROOT / "config" / "gunicorn.conf.py"



@click.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema (Alembic migrations to head)."""
    from triage_service.migrate import upgrade_database

    app = application()
    upgrade_database(app.extensions["triage.engine"])
    click.echo(f"Database at {app.extensions['triage.engine'].url.render_as_string()} is up to date.")



@click.command("load-demo")
def load_demo_command() -> None:
    """Load demo organisations, agreements, GP-system clients and users (idempotent)."""
    _load_demo(application())



def _load_demo(app: Flask) -> list[DemoClient]:
    from triage_service.demo import load_demo

    try:
        with session_scope(app) as session:
            clients = load_demo(session, app.extensions["triage.settings"])
    except DomainError as exc:
        fail(f"Demo data could not be loaded: {exc.message}")
        raise  # unreachable: _fail exits
    click.echo(f"Demo data loaded: {len(clients)} GP-system clients, agreements from config/agreements/.")
    return clients



@click.command("serve")
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



@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 to try it from a phone on the same network)")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on")
def demo(host: str, port: int) -> None:
    """init-db + load-demo + serve, and print what a newcomer needs."""
    from triage_service.demo import DEMO_PASSWORD, DEMO_PRACTICE_USERS, DEMO_SCOPES, DEMO_STAFF, DEMO_USERS
    from triage_service.migrate import upgrade_database
    from triage_service.security.demo_credentials import DEMO_ROTA_MAKER

    scopes = " ".join(DEMO_SCOPES)
    secrets = "; ".join(f"{u[0]}: {u[3]}" for u in DEMO_USERS)
    practice_users = "\n".join(f"                      {u[0]} ({u[1]}): {u[4]}" for u in DEMO_PRACTICE_USERS)

    app = application()
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
  Urgent (HAP):       an urgent question from Huisartsenpost Rijnmond was sent just now: the cardiologist
                      on call ({DEMO_USERS[1][0]} or {DEMO_USERS[3][0]}, by the rota) sees the banner and
                      "Ik pak hem op"; untaken, the worker alerts again and calls the backup after 15 minutes.
                      Ask one yourself as huisarts-hap (below).
  Collaboration:      the first-line specialists (kaderhuisarts, optometrist, fysiotherapeut) each have a
                      consult waiting; the wound-care team (wondverpleegkundige, kaderhuisarts-wondzorg) a
                      queue to take from and an MDO agenda; the GP (huisarts) a back-referral from the
                      cardiologist to take over, and a consult answered by the backup hospital
                      (dermatoloog-maasstad, achtervang).
  On-call rota:       log in as {DEMO_ROTA_MAKER[0]} ({DEMO_ROTA_MAKER[1]}), same password, TOTP secret
                      {DEMO_ROTA_MAKER[3]}: the rota at {base}/inbox/rooster.
  GP portal:          {base}/login as a GP (phone or desktop): new consults with photos, the
                      specialist's questions and advice. Same password; TOTP secrets:
{practice_users}
  Zorggroep reports:  log in as {DEMO_STAFF[0]} ({DEMO_STAFF[1]}), same password, TOTP secret {DEMO_STAFF[3]}:
                      the dashboard at {base}/dashboard (figures, charts, CSV, closing a month).
  Webhooks:           a worker runs beside the server: it delivers notifications to subscribed GP
                      systems (POST {base}/fhir/Subscription), calls out urgent consults and watches
                      the answer norms.

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
