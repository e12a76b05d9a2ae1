"""The key of the audit trail's keyed hashes (HMAC-SHA-256) and of the signed anchors.

Why a key: with plain SHA-256 anyone who can write to the database can edit an entry and
recompute every later hash. With a key that is not in the database, only someone who also
holds the key file can. The key lives in its own file (``TRIAGE_AUDIT_KEY_PATH``), beside the
key ring and the field keys and like them never in the database or its backups; it is separate
from the field keys so that an auditor can be given what ``audit verify`` needs without the keys
that open patient data. Each key has an id, stored on every entry it hashed (``hash_key``), so a
new key can be started (``with_new_active_key``) while entries hashed with an old one still verify.

Outside production a missing file is generated (``made_for`` records the environment, and
production refuses files generated for another one: settings.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from triage_service.errors import ConfigurationError
from triage_service.private_files import create_private_file, replace_private_file


@dataclass(frozen=True)
class AuditKeys:
    keys: dict[str, bytes]
    active: str
    #: The environment the keys were generated for; production refuses any other (settings.py).
    made_for: str = "development"

    @classmethod
    def generate(cls, made_for: str = "development") -> AuditKeys:
        kid = f"ak-{secrets.token_hex(4)}"
        return cls({kid: secrets.token_bytes(32)}, kid, made_for)

    @classmethod
    def from_json(cls, text: str) -> AuditKeys:
        data = json.loads(text)
        return cls({k: base64.b64decode(v, validate=True) for k, v in data["keys"].items()}, data["active"],
                   data.get("made_for", "unknown"))

    def to_json(self) -> str:
        return json.dumps({"made_for": self.made_for, "active": self.active,
                           "keys": {k: base64.b64encode(v).decode() for k, v in self.keys.items()}}, indent=2)

    def with_new_active_key(self) -> AuditKeys:
        """A new key for new entries; the old ones stay, so the entries they hashed still verify."""
        kid = f"ak-{secrets.token_hex(4)}"
        return AuditKeys({**self.keys, kid: secrets.token_bytes(32)}, kid, self.made_for)

    def mac(self, kid: str, data: bytes) -> str | None:
        """HMAC-SHA-256 of ``data`` under key ``kid`` (hex), or None when the key is unknown."""
        key = self.keys.get(kid)
        return hmac.new(key, data, hashlib.sha256).hexdigest() if key is not None else None

    def matches(self, kid: str, data: bytes, expected: str) -> bool:
        actual = self.mac(kid, data)
        return actual is not None and hmac.compare_digest(actual, expected)


def save_audit_keys(path: Path, keys: AuditKeys) -> None:
    """Written atomically and readable by the owner only, like the key ring."""
    replace_private_file(path, keys.to_json())


def load_audit_keys(path: Path, create: bool, made_for: str = "development") -> AuditKeys:
    if path.exists():
        return AuditKeys.from_json(path.read_text(encoding="utf-8"))
    if not create:
        raise ConfigurationError(f"No audit key at {path}; create it with `triage-service rotate-keys "
                                 "--new-keyring` on first installation")
    return AuditKeys.from_json(create_private_file(path, AuditKeys.generate(made_for).to_json()))


class _Keys:
    """The process's audit keys, set by ``create_app``: the chain is computed in a session event, which
    has no other way to reach them."""

    current: AuditKeys | None = None


def configure(keys: AuditKeys) -> None:
    _Keys.current = keys


def current() -> AuditKeys:
    if _Keys.current is None:
        raise RuntimeError("the audit key is not configured: create the app first")
    return _Keys.current
