"""``triage-service user``: an operator gives an inbox account a new password or second factor.

Kept out of cli.py (which is long enough); registered there with ``main.add_command``. Both commands end
every session of the account, so a copied session cookie stops working at once.
"""

from __future__ import annotations

import click

from triage_service.cli.common import application, fail
from triage_service.database import session_scope
from triage_service.errors import DomainError


@click.group("user")
def user_group() -> None:
    """Inbox accounts: a new password or a new second factor (each ends the account's sessions)."""


@user_group.command("set-password")
@click.option("--username", required=True)
@click.password_option(help="At least 12 characters")
def set_password_command(username: str, password: str) -> None:
    """Set a new password (asked twice, never on the command line) and end the account's sessions."""
    from triage_service import clock
    from triage_service.accounts.credentials import set_password
    from triage_service.audit.trail import CLI_ACTOR

    try:
        with session_scope(application()) as session:
            set_password(session, CLI_ACTOR, username, password, clock.now())
    except DomainError as exc:
        fail(exc.message)
        return
    click.echo(f"New password set for {username}; every session of the account has ended.")


@user_group.command("reset-totp")
@click.option("--username", required=True)
def reset_totp_command(username: str) -> None:
    """Give the account a new TOTP secret (the old authenticator stops working) and end its sessions."""
    from triage_service import clock
    from triage_service.accounts.credentials import reset_totp
    from triage_service.accounts.registration import totp_uri
    from triage_service.audit.trail import CLI_ACTOR

    try:
        with session_scope(application()) as session:
            user = reset_totp(session, CLI_ACTOR, username, clock.now())
            uri = totp_uri(user)
    except DomainError as exc:
        fail(exc.message)
        return
    click.echo(f"New second factor for {username}; every session of the account has ended. "
               f"Add this to the user's authenticator app:\n  {uri}")
