"""The ``triage-service`` console script."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask

from triage_service import create_app
from triage_service.database import session_scope
from triage_service.errors import DomainError
from triage_service.models import UserRole
from triage_service.services.demo import DemoClient
from triage_service.settings import PROJECT_ROOT

GUNICORN_CONF = PROJECT_ROOT / "config" / "gunicorn.conf.py"


def _app() -> Flask:
    return create_app()


def _fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(2)


@click.group()
def main() -> None:
    """triage_service: meekijkconsult and referral triage over FHIR."""


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
    except AgreementImportError as exc:
        for error in exc.errors:
            click.secho(str(error), fg="red", err=True)
        _fail("Nothing was imported.")
        return
    click.echo("Imported:\n  " + "\n  ".join(summary))


@main.command("register-client")
@click.option("--name", required=True, help="Name of the GP system installation")
@click.option("--organization-agb", required=True, help="AGB code of the GP practice it acts for")
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
            click.echo(f"Registered client_id: {client.client_id}")
    except DomainError as exc:
        _fail(exc.message)


@main.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in UserRole]), default=UserRole.SPECIALIST.value)
@click.option("--practitioner-agb", default=None, help="AGB of the specialist this account belongs to")
@click.password_option(help="At least 12 characters")
def create_user_command(username: str, display_name: str, role: str, practitioner_agb: str | None,
                        password: str) -> None:
    """Create a web account; prints the TOTP enrolment URI for the second factor."""
    from triage_service.services.clients import create_user, totp_uri

    try:
        with session_scope(_app()) as session:
            user = create_user(session, username=username, display_name=display_name, role=UserRole(role),
                               password=password, practitioner_agb=practitioner_agb)
            click.echo(f"User {user.username} created. Add this to an authenticator app:\n  {totp_uri(user)}")
    except DomainError as exc:
        _fail(exc.message)


@main.command("client-assertion")
@click.option("--client-id", required=True)
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="The client's private key (PEM, EC P-384)")
@click.option("--token-url", default="http://127.0.0.1:8000/oauth/token", show_default=True)
@click.option("--kid", default=None)
def client_assertion_command(client_id: str, key_file: Path, token_url: str, kid: str | None) -> None:
    """Print a signed client assertion, as a GP system would make it (for trying the API with curl)."""
    from triage_service.models.base import utcnow
    from triage_service.services.clients import client_assertion

    click.echo(client_assertion(client_id, key_file.read_bytes(), token_url, utcnow(), kid=kid))


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
    from triage_service.services.demo import DEMO_PASSWORD, DEMO_SCOPES, DEMO_USERS

    scopes = " ".join(DEMO_SCOPES)

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
  Web users:          {", ".join(u[0] for u in DEMO_USERS)}, password {DEMO_PASSWORD!r},
                      TOTP secrets {", ".join(u[3] for u in DEMO_USERS)} (inbox: see the web inbox issue)

Get a token and post a consult (in a second terminal):
  A=$(.venv/bin/triage-service client-assertion --client-id {first.client_id} --key {first.key_file} \\
      --token-url {base}/oauth/token)
  T=$(curl -s {base}/oauth/token -d grant_type=client_credentials \\
      -d client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer \\
      -d client_assertion=$A -d scope="{scopes}" \\
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -X POST {base}/fhir/ServiceRequest -H "Authorization: Bearer $T" \\
      -H 'Content-Type: application/fhir+json' --data @{example}
""")
    _exec_gunicorn(host, port)


if __name__ == "__main__":  # pragma: no cover
    main()
