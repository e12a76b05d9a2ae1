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

Long values (the FHIR documents, advice, messages) are compressed (raw DEFLATE) before they are sealed:
ciphertext does not compress, and the stored consult request was 6.2 of the 15.5 KB a consult takes in the
database (benchmarks/national.py). Such a token says ``enc:v2:``, a plain one ``enc:v1:``, and the version is part
of the associated data, so relabelling a token fails authentication instead of handing out garbage. Compressing
before encrypting lets the length of a value hint at how repetitive it is; at rest that needs both the database and
a way to plant text beside a secret in the same document many times over, and a BSN or name is a few bytes of a
multi-kilobyte resource, so the gain (about 40% of the database) is worth it. Short values (TOTP secrets, a BSN,
reasons) stay ``v1``: below ``_COMPRESS_FROM`` characters DEFLATE saves nothing.

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
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from triage_service.encryption.envelope import DecryptionError
from triage_service.errors import ConfigurationError
from triage_service.private_files import create_private_file, replace_private_file

PREFIX = "enc:"
_PLAIN = "v1"
_DEFLATED = "v2"
_COMPRESS_FROM = 256


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
    data = plaintext.encode()
    version = _PLAIN
    if len(data) >= _COMPRESS_FROM:
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)  # raw DEFLATE: no zlib header or checksum, GCM authenticates
        packed = packer.compress(data) + packer.flush()
        if len(packed) < len(data):
            data, version = packed, _DEFLATED
    nonce = os.urandom(12)
    sealed = AESGCM(keys.data_keys[keys.active]).encrypt(nonce, data, _associated(version, context))
    return f"{PREFIX}{version}:{keys.active}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(token: str, context: str) -> str:
    version, _, rest = token.removeprefix(PREFIX).partition(":")
    kid, _, payload = rest.partition(":")
    if version not in (_PLAIN, _DEFLATED):
        raise DecryptionError(f"unknown sealed-value version {version!r}")
    key = _keys().data_keys.get(kid)
    if key is None:
        raise DecryptionError(f"unknown field key {kid!r}")
    raw = base64.b64decode(payload)
    try:
        data = AESGCM(key).decrypt(raw[:12], raw[12:], _associated(version, context))
    except InvalidTag as exc:
        raise DecryptionError("an encrypted field failed authentication") from exc
    return (zlib.decompress(data, -15) if version == _DEFLATED else data).decode()


def is_sealed(value: str) -> bool:
    """Whether a stored text is a sealed token of a version this module opens (rather than a value written
    before encryption existed, which is read as it is)."""
    return value.startswith((f"{PREFIX}{_PLAIN}:", f"{PREFIX}{_DEFLATED}:"))


def key_id_of(token: str) -> str:
    """The id of the field key a sealed value was sealed with (key rotation, ``encrypt-existing``)."""
    return token.removeprefix(PREFIX).split(":", 2)[1]


def _associated(version: str, context: str) -> bytes:
    # v1 tokens were sealed with the column's name alone; v2 binds its version too.
    return context.encode() if version == _PLAIN else f"{context}|{version}".encode()


def blind_index(system: str, value: str) -> str:
    """The lookup token of an identifier: equal identifiers give equal tokens, nothing else can be read."""
    digest = hmac.new(_keys().index_key, f"{system}|{value}".encode(), hashlib.sha256).hexdigest()
    return f"hmac:{digest}"


