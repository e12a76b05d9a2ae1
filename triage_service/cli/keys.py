"""The keys that protect personal data at rest: rotating them, and sealing what was stored before."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask

from triage_service.cli.common import application, audit, fail
from triage_service.database import session_scope
from triage_service.errors import ConfigurationError


@click.command("encrypt-existing")
def encrypt_existing_command() -> None:
    """Encrypt personal data stored before field encryption, and blind-index its identifiers (run once)."""
    from triage_service.records.sealing import encrypt_existing

    with session_scope(application()) as session:
        counts = encrypt_existing(session)
        audit(session, "cli.encrypt-existing", "U", "StoredResource",
               detail="; ".join(f"{t}={n}" for t, n in counts.items()))
    click.echo("Rewritten: " + ", ".join(f"{n} {table}" for table, n in counts.items()))



@click.command("rotate-keys")
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
    from triage_service.attachments.blobs import rewrap_all, save_keyring
    from triage_service.encryption.envelope import KeyRing
    from triage_service.encryption.fields import load_field_keys
    from triage_service.notifications.subscriptions import rewrap_subscription_secrets
    from triage_service.settings import load_settings

    try:
        app: Flask | None = application()
        settings = app.extensions["triage.settings"] if app else load_settings(require_keys=False)
    except ConfigurationError:
        # A new installation: the service cannot start yet (production refuses to run without keys).
        app, settings = None, load_settings(require_keys=False)
    from triage_service.audit.keys import load_audit_keys

    if new_keyring and settings.keyring_path.exists() and not settings.audit_key_path.exists():
        # An installation from before keyed audit hashes: only the audit key is missing.
        load_audit_keys(settings.audit_key_path, create=True, made_for=settings.env)
        click.echo(f"Created the audit key at {settings.audit_key_path}")
        return
    if not settings.keyring_path.exists():
        if not new_keyring:
            fail(f"No key ring at {settings.keyring_path}; pass --new-keyring to create one")
        save_keyring(settings, KeyRing.generate(settings.env))
        load_field_keys(settings.field_keys_path, create=True, made_for=settings.env)
        load_audit_keys(settings.audit_key_path, create=True, made_for=settings.env)
        click.echo(f"Created a key ring at {settings.keyring_path}, field keys at {settings.field_keys_path} "
                   f"and the audit key at {settings.audit_key_path}")
        return
    app = app or application()
    ring = KeyRing.from_json(settings.keyring_path.read_text(encoding="utf-8")).with_new_active_key()
    # The ring with the new key is saved first: if re-wrapping fails half-way, every key still opens.
    save_keyring(settings, ring)
    with session_scope(app) as session:
        count = rewrap_all(session, ring)
        secrets = rewrap_subscription_secrets(session, ring)
        audit(session, "cli.rotate-keys", "U", "KeyRing", ring.active,
               detail=f"blobs={count}; subscriptions={secrets}")
    click.echo(f"New active key {ring.active}; re-wrapped {count} data key(s) and {secrets} subscription "
               "secret(s).")
    if field_key or index_key:
        _rotate_field_key(app, settings, index_key)



def _rotate_field_key(app: Flask, settings: Any, index_key: bool) -> None:
    from triage_service.encryption import fields as field_crypto
    from triage_service.records.sealing import encrypt_existing

    keys = field_crypto.load_field_keys(settings.field_keys_path, create=False).with_new_active_key()
    if index_key:
        keys = keys.with_new_index_key()
    # Saved first, as for the key ring: a re-encryption that stops half-way leaves every field readable.
    field_crypto.save_field_keys(settings.field_keys_path, keys)
    field_crypto.configure(keys)
    with session_scope(app) as session:
        counts = encrypt_existing(session)
        audit(session, "cli.rotate-keys.fields", "U", "FieldKeys", keys.active,
               detail=("index key replaced; " if index_key else "") + "; ".join(f"{t}={n}" for t, n in counts.items()))
    click.echo(f"New field key {keys.active}; re-encrypted " + ", ".join(f"{n} {t}" for t, n in counts.items()))
