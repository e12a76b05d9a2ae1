"""Registering GP systems and inbox accounts, and signing a client assertion as a GP system would."""

from __future__ import annotations

from pathlib import Path

import click

from triage_service.cli.common import application, audit, fail
from triage_service.database import session_scope
from triage_service.errors import DomainError
from triage_service.models.user import UserRole


@click.command("register-client")
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
    from triage_service.accounts.registration import register_client
    from triage_service.security.api_auth import load_jwks

    try:
        jwks = load_jwks(jwks_file.read_text(encoding="utf-8"))
    except ValueError as exc:
        fail(str(exc))
        return
    try:
        with session_scope(application()) as session:
            client = register_client(session, name=name, organisation_agb=organization_agb, jwks=jwks,
                                     scopes=[s for scope in scopes for s in scope.split()], client_id=client_id)
            audit(session, "cli.register-client", "C", "ApiClient", client.client_id, detail=client.scopes)
            click.echo(f"Registered client_id: {client.client_id}")
    except DomainError as exc:
        fail(exc.message)



@click.command("create-user")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True)
@click.option("--role", type=click.Choice([r.value for r in UserRole]), default=UserRole.SPECIALIST.value)
@click.option("--practitioner-agb", default=None, help="AGB of the specialist or GP this account belongs to")
@click.option("--organisation-agb", default=None,
              help="AGB of the zorggroep (zorggroep-staff) or GP practice (practice-staff) the account belongs to")
@click.option("--email", default=None,
              help="Send this user notices (no patient data): a specialist of each new assignment, a GP or practice "
                   "staff of each question or advice for the practice")
@click.password_option(help="At least 12 characters")
def create_user_command(username: str, display_name: str, role: str, practitioner_agb: str | None,
                        organisation_agb: str | None, email: str | None, password: str) -> None:
    """Create a web account; prints the TOTP enrolment URI for the second factor."""
    from triage_service.accounts.registration import create_user, totp_uri

    try:
        with session_scope(application()) as session:
            user = create_user(session, username=username, display_name=display_name, role=UserRole(role),
                               password=password, practitioner_agb=practitioner_agb, email=email,
                               organisation_agb=organisation_agb)
            audit(session, "cli.create-user", "C", "User", user.username, detail=f"role={role}")
            click.echo(f"User {user.username} created. Add this to an authenticator app:\n  {totp_uri(user)}")
    except DomainError as exc:
        fail(exc.message)



@click.command("client-assertion")
@click.option("--client-id", required=True)
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="The client's private key (PEM): EC P-384 (signs ES384) or RSA (signs RS384)")
@click.option("--token-url", default="http://127.0.0.1:8000/oauth/token", show_default=True)
@click.option("--kid", default=None)
def client_assertion_command(client_id: str, key_file: Path, token_url: str, kid: str | None) -> None:
    """Print a signed client assertion, as a GP system would make it (for trying the API with curl)."""
    from triage_service import clock
    from triage_service.accounts.registration import client_assertion

    try:
        click.echo(client_assertion(client_id, key_file.read_bytes(), token_url, clock.now(), kid=kid))
    except (ValueError, TypeError) as exc:  # not a PEM private key, or a password-protected one
        fail(f"Cannot sign with {key_file}: {exc}")
    except DomainError as exc:
        fail(exc.message)


@click.command("launch-token")
@click.option("--client-id", required=True)
@click.option("--key", "key_file", required=True, type=click.Path(exists=True, path_type=Path),
              help="The GP system's private key (PEM), as for client-assertion")
@click.option("--launch-url", default="http://127.0.0.1:8000/huisarts/launch", show_default=True)
@click.option("--kid", default=None)
@click.option("--gp-agb", required=True, help="The GP who opens the portal")
@click.option("--practice-agb", required=True)
@click.option("--bsn", required=True)
@click.option("--birth-date", required=True, help="YYYY-MM-DD")
@click.option("--sex", "gender", type=click.Choice(["female", "male", "other"]), required=True)
@click.option("--family", required=True)
@click.option("--given", default="")
@click.option("--postcode", default="")
@click.option("--insurer", "uzovi", required=True, help="UZOVI code of the patient's insurer")
@click.option("--icpc", default="")
@click.option("--question", default="")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write a page with a button that opens the portal with this launch (as a HIS would)")
def launch_token_command(client_id: str, key_file: Path, launch_url: str, kid: str | None, gp_agb: str,
                         practice_agb: str, bsn: str, birth_date: str, gender: str, family: str, given: str,
                         postcode: str, uzovi: str, icpc: str, question: str, html_file: Path | None) -> None:
    """Print a signed launch of the portal with the GP and patient in context (valid for 2 minutes, once)."""
    import html

    from triage_service import clock
    from triage_service.accounts.registration import launch_token

    context = {"practitioner": {"agb": gp_agb}, "organization": {"agb": practice_agb},
               "patient": {"bsn": bsn, "birthDate": birth_date, "gender": gender, "family": family, "given": given,
                           "postalCode": postcode},
               "insurer": {"uzovi": uzovi}, "icpc": icpc, "question": question}
    with application().app_context():  # the service's clock: the launch is checked against it
        now = clock.now()
    try:
        token = launch_token(client_id, key_file.read_bytes(), launch_url, now, context, kid=kid)
    except (ValueError, TypeError) as exc:
        fail(f"Cannot sign with {key_file}: {exc}")
        return
    except DomainError as exc:
        fail(exc.message)
        return
    if html_file is not None:
        # The page holds a BSN: written for its owner only, and to be deleted after use.
        html_file.write_text(f"""<!doctype html><meta charset="utf-8"><title>HIS</title>
<form method="post" action="{html.escape(launch_url)}"><input type="hidden" name="launch" value="{html.escape(token)}">
<button type="submit">Open het portaal met deze patiënt</button></form>
""", encoding="utf-8")
        html_file.chmod(0o600)
    click.echo(token)
