"""What every command shares: the application it works on, the audit entry of an operator's action, and how
a command fails (a message and exit status 2, never a traceback)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import cast

import click
from flask import Flask
from sqlalchemy.orm import Session


def application() -> Flask:
    """The application this command works on: the one the ``triage-service`` group was given to build."""
    build = cast(Callable[[], Flask], click.get_current_context().find_root().obj)
    return build()


def audit(session: Session, event: str, action: str, resource_type: str, resource_id: str | None = None,
           detail: str | None = None) -> None:
    """Administrative commands are audited like the API: who (the operating-system account) did what."""
    from triage_service import clock
    from triage_service.audit.trail import CLI_ACTOR, record
    from triage_service.models import AuditAction

    record(session, CLI_ACTOR, event=event, action=AuditAction(action), resource_type=resource_type,
           resource_id=resource_id, detail=detail, at=clock.now())



def fail(message: str) -> None:
    click.secho(message, fg="red", err=True)
    sys.exit(2)
