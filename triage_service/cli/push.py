"""Web Push's own key: what an operator sets up once for production."""

from __future__ import annotations

import click


@click.command("push-keys")
def push_keys_command() -> None:
    """Print a new VAPID key pair for Web Push: the private key for TRIAGE_VAPID_PRIVATE_KEY (keep it secret, like
    TRIAGE_SECRET_KEY) and the public key browsers subscribe with. Needs no database or running service.

    A new key on a running installation ends every device's subscription: each user turns notifications on again.
    """
    import dataclasses

    from triage_service.notifications.push import vapid_public_key
    from triage_service.settings import Settings, new_vapid_private_key

    private = new_vapid_private_key()
    public = vapid_public_key(dataclasses.replace(Settings(), vapid_private_key=private))
    click.echo(f"TRIAGE_VAPID_PRIVATE_KEY={private}")
    click.echo(f"public key: {public}")
