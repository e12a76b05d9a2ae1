"""Personal data encrypted at rest, field by field, and a keyed blind index for exact-match lookups.

What is encrypted: the stored FHIR resources (Patient with BSN, name and address; the consult
request with its contained patient and the clinical question), the thread's messages, the
free texts specialists type (reasons), and the inbox users' TOTP secrets. Each value is sealed
with AES-256-GCM under a *field key* (the key id travels in the token, so keys can be added
without re-encrypting at once), with the column's name as associated data so a ciphertext cannot
be moved to another column. The column types that do this as rows are written and read are in
columns.py.

Identifiers (BSN, AGB, a HIS's own ids) are found by exact match through a *blind index*:
HMAC-SHA256 of ``system|value`` under a separate index key. The database holds neither a BSN nor a
reversible form of it. The keys live in a file beside the key ring (``TRIAGE_FIELD_KEYS_PATH``),
never in the database; outside production a missing file is generated.

Values written before encryption existed (plain JSON / text) are still read; ``triage-service
encrypt-existing`` rewrites them (records/sealing.py).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from triage_service.encryption.envelope import DecryptionError
from triage_service.errors import ConfigurationError
from triage_service.private_files import create_private_file, replace_private_file

PREFIX = "enc:v1:"


@dataclass(frozen=True)
class FieldKeys:
    data_keys: dict[str, bytes]
    active: str
    index_key: bytes
    #: The environment the keys were generated for; production refuses any other (settings.py).
    made_for: str = "development"

    @classmethod
    def generate(cls, made_for: str = "development") -> FieldKeys:
        kid = f"fk-{secrets.token_hex(4)}"
        return cls({kid: AESGCM.generate_key(bit_length=256)}, kid, secrets.token_bytes(32), made_for)

    @classmethod
    def from_json(cls, text: str) -> FieldKeys:
        data = json.loads(text)
        return cls({k: base64.b64decode(v, validate=True) for k, v in data["data_keys"].items()}, data["active"],
                   base64.b64decode(data["index_key"], validate=True), data.get("made_for", "unknown"))

    def with_new_active_key(self) -> FieldKeys:
        """A new active data key; the old ones stay, so what they sealed still opens. The index key stays:
        changing it would need every identifier in plaintext again."""
        kid = f"fk-{secrets.token_hex(4)}"
        return FieldKeys({**self.data_keys, kid: AESGCM.generate_key(bit_length=256)}, kid, self.index_key,
                         self.made_for)

    def with_new_index_key(self) -> FieldKeys:
        """A new blind-index key. Safe because every identifier it hashes is also stored sealed:
        ``encrypt_existing`` opens each and hashes it again. Audit entries name patients by internal id,
        so the (immutable) trail needs nothing recomputed."""
        return dataclasses.replace(self, index_key=secrets.token_bytes(32))

    def to_json(self) -> str:
        return json.dumps({"made_for": self.made_for, "active": self.active,
                           "index_key": base64.b64encode(self.index_key).decode(),
                           "data_keys": {k: base64.b64encode(v).decode() for k, v in self.data_keys.items()}},
                          indent=2)


def save_field_keys(path: Path, keys: FieldKeys) -> None:
    """Written atomically and readable by the owner only, like the key ring."""
    replace_private_file(path, keys.to_json())


def load_field_keys(path: Path, create: bool, made_for: str = "development") -> FieldKeys:
    if path.exists():
        return FieldKeys.from_json(path.read_text(encoding="utf-8"))
    if not create:
        raise ConfigurationError(f"No field keys at {path}; create them with `triage-service rotate-keys "
                                 "--new-keyring` on first installation")
    return FieldKeys.from_json(create_private_file(path, FieldKeys.generate(made_for).to_json()))


class _Keys:
    """The process's field keys, set once by ``create_app`` (column types have no other way to reach them)."""

    current: FieldKeys | None = None


def configure(keys: FieldKeys) -> None:
    _Keys.current = keys


def _keys() -> FieldKeys:
    if _Keys.current is None:
        raise RuntimeError("field keys are not configured: create the app first")
    return _Keys.current


def seal(plaintext: str, context: str) -> str:
    keys = _keys()
    nonce = os.urandom(12)
    sealed = AESGCM(keys.data_keys[keys.active]).encrypt(nonce, plaintext.encode(), context.encode())
    return f"{PREFIX}{keys.active}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(token: str, context: str) -> str:
    kid, _, payload = token.removeprefix(PREFIX).partition(":")
    key = _keys().data_keys.get(kid)
    if key is None:
        raise DecryptionError(f"unknown field key {kid!r}")
    raw = base64.b64decode(payload)
    try:
        return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
    except InvalidTag as exc:
        raise DecryptionError("an encrypted field failed authentication") from exc


def blind_index(system: str, value: str) -> str:
    """The lookup token of an identifier: equal identifiers give equal tokens, nothing else can be read."""
    digest = hmac.new(_keys().index_key, f"{system}|{value}".encode(), hashlib.sha256).hexdigest()
    return f"hmac:{digest}"


