"""The ``triage-service`` console script: one command group per concern, each in its own module.

Every command works on the application that :func:`_app` builds; the group hands that builder to the
commands through click's context (:func:`triage_service.cli.common.app`), so a test can replace it here.
"""

from __future__ import annotations

import click
from flask import Flask

from triage_service import create_app
from triage_service.cli import agreements, audit, background, clients, keys, push, rota, serving, users
from triage_service.cli.common import fail
from triage_service.errors import ConfigurationError

# The folder whose config/ and fhir_profiles/ the commands read (the CLI's tests find the examples through it).
from triage_service.settings import PROJECT_ROOT as PROJECT_ROOT


def _app() -> Flask:
    return create_app()


class _Commands(click.Group):
    """Settings that stop the service from starting are reported as a message, not a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConfigurationError as exc:
            fail(str(exc))
            return None


@click.group(cls=_Commands)
@click.pass_context
def main(ctx: click.Context) -> None:
    """triage_service: meekijkconsult and referral triage over FHIR."""
    ctx.obj = lambda: _app()  # looked up when a command asks, so that a replaced _app is the one used


for command in (
    serving.init_db, serving.load_demo_command, serving.serve, serving.demo,
    agreements.import_agreements_command, agreements.agreements_command, agreements.absence_group,
    agreements.route_command, rota.rota_group,
    background.worker, background.rebuild_facts_command, background.purge_command,
    audit.audit_group,
    keys.encrypt_existing_command, keys.rotate_keys, push.push_keys_command,
    clients.register_client_command, clients.create_user_command, clients.client_assertion_command,
    clients.launch_token_command,
    users.user_group,
):
    main.add_command(command)
