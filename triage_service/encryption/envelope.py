"""The one place that uses ``cryptography`` directly (ARCHITECTURE.md, principle 7).

Envelope encryption for blobs (photos, documents, thumbnails): every blob gets a
fresh 256-bit data key; the data key is wrapped (AES-256-GCM) by a key-encryption
key (KEK) that is named by its id, so KEKs can rotate by re-wrapping data keys
without rewriting any blob.

The blob itself is sealed in 64 KiB segments, each AES-256-GCM with its own nonce
(a random prefix, the segment counter and a last-segment flag; the construction of
Hoang, Reyhanitabar, Rogaway and Vizar's "STREAM", as Google Tink uses it). A
download can then be streamed while every byte handed out is already
authenticated, and truncating, reordering or splicing segments fails loudly.
Tampering or a wrong key raises :class:`DecryptionError`, never returns garbage.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO, Protocol

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SEGMENT = 64 * 1024
_TAG = 16
_VERSION = b"\x01"
_PREFIX = 7  # random nonce prefix; + 4-byte counter + 1-byte last flag = 12-byte GCM nonce


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


class DecryptionError(Exception):
    """A blob or wrapped key failed authentication: tampered, truncated, or the wrong key."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key encrypted under a named KEK: what is stored beside (not inside) the blob."""

    kek_id: str
    wrapped: bytes


class KeyRing:
    """Key-encryption keys by id; new data keys are wrapped with the active one."""

    def __init__(self, keys: Mapping[str, bytes], active: str, made_for: str = "development"):
        if active not in keys:
            raise ValueError(f"the active key {active!r} is not in the key ring")
        for kid, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {kid!r} must be 32 bytes (AES-256)")
        self._keys = dict(keys)
        self.active = active
        #: The environment the ring was generated for; production refuses any other (settings.py).
        self.made_for = made_for

    @classmethod
    def from_json(cls, text: str) -> KeyRing:
        """``{"active": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}}``."""
        data = json.loads(text)
        return cls({kid: base64.b64decode(value, validate=True) for kid, value in data["keys"].items()},
                   data["active"], data.get("made_for", "unknown"))

    def to_json(self) -> str:
        return json.dumps({"made_for": self.made_for, "active": self.active,
                           "keys": {k: base64.b64encode(v).decode() for k, v in self._keys.items()}}, indent=2)

    def with_new_active_key(self) -> KeyRing:
        """A ring with a freshly generated active KEK (the old ones stay, to unwrap existing keys)."""
        kid = f"kek-{secrets.token_hex(4)}"
        return KeyRing({**self._keys, kid: AESGCM.generate_key(bit_length=256)}, kid, self.made_for)

    @classmethod
    def generate(cls, made_for: str = "development") -> KeyRing:
        kid = f"kek-{secrets.token_hex(4)}"
        return cls({kid: AESGCM.generate_key(bit_length=256)}, kid, made_for)

    def wrap(self, data_key: bytes) -> WrappedKey:
        nonce = os.urandom(12)
        # The KEK id is authenticated too: a wrapped key cannot be relabelled to another KEK.
        sealed = AESGCM(self._keys[self.active]).encrypt(nonce, data_key, self.active.encode())
        return WrappedKey(self.active, nonce + sealed)

    def unwrap(self, wrapped: WrappedKey) -> bytes:
        key = self._keys.get(wrapped.kek_id)
        if key is None:
            raise DecryptionError(f"unknown key-encryption key {wrapped.kek_id!r}")
        try:
            return AESGCM(key).decrypt(wrapped.wrapped[:12], wrapped.wrapped[12:], wrapped.kek_id.encode())
        except InvalidTag as exc:
            raise DecryptionError("a wrapped data key failed authentication") from exc

    def rewrap(self, wrapped: WrappedKey) -> WrappedKey:
        """The same data key under the active KEK (key rotation; the blob is untouched)."""
        return wrapped if wrapped.kek_id == self.active else self.wrap(self.unwrap(wrapped))


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def encrypt_stream(source: Readable, target: BinaryIO, data_key: bytes, aad: bytes = b"") -> int:
    """Encrypt ``source`` into ``target`` segment by segment; returns the plaintext length.

    Holds at most two segments in memory, whatever the size of the blob.
    """
    aead, prefix = AESGCM(data_key), os.urandom(_PREFIX)
    target.write(_VERSION + prefix)
    total, counter = 0, 0
    current = source.read(SEGMENT)
    while True:
        following = source.read(SEGMENT)
        last = not following
        target.write(aead.encrypt(_nonce(prefix, counter, last), current, aad))
        total += len(current)
        if last:
            return total
        current, counter = following, counter + 1
        if counter >= 2**32 - 1:
            raise ValueError("blob too large for one stream")


def decrypt_stream(source: BinaryIO, data_key: bytes, aad: bytes = b"") -> Iterator[bytes]:
    """Authenticated plaintext segments of a blob written by :func:`encrypt_stream`."""
    header = source.read(1 + _PREFIX)
    if len(header) != 1 + _PREFIX or header[:1] != _VERSION:
        raise DecryptionError("not an encrypted blob of a known version")
    aead, prefix = AESGCM(data_key), header[1:]
    counter = 0
    current = source.read(SEGMENT + _TAG)
    while True:
        following = source.read(SEGMENT + _TAG)
        last = not following
        try:
            yield aead.decrypt(_nonce(prefix, counter, last), current, aad)
        except InvalidTag as exc:
            raise DecryptionError("blob failed authentication (tampered, truncated or wrong key)") from exc
        if last:
            return
        current, counter = following, counter + 1


def generate_client_keypair(kid: str) -> tuple[bytes, dict[str, Any]]:
    """An EC P-384 key pair (SMART's ES384): the private key as PEM, and the public JWKS to register."""
    private = ec.generate_private_key(ec.SECP384R1())
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public_jwk: dict[str, Any] = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(private.public_key()))
    public_jwk.update({"kid": kid, "alg": "ES384", "use": "sig"})
    return pem, {"keys": [public_jwk]}
