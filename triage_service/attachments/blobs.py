"""Storing and reading encrypted blobs, and rotating the keys that protect them.

Plaintext never touches disk: it is encrypted while streaming into the store.
The blob's id is bound into every segment as associated data, so a ciphertext
cannot be swapped for another blob's, even with access to the store.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from triage_service.encryption.envelope import (
    KeyRing,
    Readable,
    WrappedKey,
    decrypt_stream,
    encrypt_stream,
    new_data_key,
)
from triage_service.errors import N_, NotFound
from triage_service.models import EncryptedBlob
from triage_service.models.base import new_id
from triage_service.private_files import replace_private_file
from triage_service.settings import Settings
from triage_service.storage import BlobStore


def load_keyring(settings: Settings) -> KeyRing:
    """The key ring from its file; outside production a missing one is generated (0600)."""
    if settings.keyring_path.exists():
        return KeyRing.from_json(settings.keyring_path.read_text(encoding="utf-8"))
    ring = KeyRing.generate(settings.env)
    save_keyring(settings, ring)
    return ring


def save_keyring(settings: Settings, ring: KeyRing) -> None:
    """Write atomically (temporary file + rename), readable by the owner only."""
    replace_private_file(settings.keyring_path, ring.to_json())


_WRITTEN = "triage.blobs_written"


@event.listens_for(Session, "after_commit")
def _keep_written_blobs(session: Session) -> None:
    session.info.pop(_WRITTEN, None)


@event.listens_for(Session, "after_rollback")
def _remove_written_blobs(session: Session) -> None:
    """A transaction that rolls back leaves no ciphertext behind either ("nothing half-stored")."""
    for store, name in session.info.pop(_WRITTEN, []):
        store.delete(name)


class PiecesReader:
    """``read(n)`` over a run of buffers without joining them: a cleaned photo is views into the upload,
    and joining them would copy the whole file once more."""

    def __init__(self, pieces: Iterable[bytes | memoryview]):
        self._pieces = deque(memoryview(piece) for piece in pieces)

    def read(self, size: int, /) -> bytes:
        parts: list[bytes] = []
        while size > 0 and self._pieces:
            piece = self._pieces[0]
            parts.append(bytes(piece[:size]))
            if len(piece) > size:
                self._pieces[0] = piece[size:]
            else:
                self._pieces.popleft()
            size -= len(parts[-1])
        return parts[0] if len(parts) == 1 else b"".join(parts)


def store_blob(session: Session, store: BlobStore, ring: KeyRing, source: Readable) -> EncryptedBlob:
    blob_id, data_key = new_id(), new_data_key()
    name, target = store.create()
    session.info.setdefault(_WRITTEN, []).append((store, name))
    try:
        with target:
            size = encrypt_stream(source, target, data_key, aad=blob_id.encode())
    except BaseException:
        store.delete(name)
        raise
    wrapped = ring.wrap(data_key)
    blob = EncryptedBlob(id=blob_id, storage_name=name, kek_id=wrapped.kek_id, wrapped_key=wrapped.wrapped,
                         size=size)
    session.add(blob)
    session.flush()
    return blob


def read_blob(session: Session, store: BlobStore, ring: KeyRing, blob_id: str) -> Iterator[bytes]:
    """Authenticated plaintext, segment by segment (DecryptionError on tampering or a wrong key)."""
    blob = session.get(EncryptedBlob, blob_id)
    if blob is None:
        raise NotFound(N_("No blob %(blob_id)s"), params={"blob_id": blob_id})
    data_key = ring.unwrap(WrappedKey(blob.kek_id, blob.wrapped_key))
    with store.open(blob.storage_name) as source:
        yield from decrypt_stream(source, data_key, aad=blob.id.encode())


def rewrap_all(session: Session, ring: KeyRing) -> int:
    """Re-wrap every data key not yet under the active KEK; returns how many changed."""
    changed = 0
    for blob in session.scalars(select(EncryptedBlob).where(EncryptedBlob.kek_id != ring.active)):
        wrapped = ring.rewrap(WrappedKey(blob.kek_id, blob.wrapped_key))
        blob.kek_id, blob.wrapped_key = wrapped.kek_id, wrapped.wrapped
        changed += 1
    session.flush()
    return changed
