"""Photos are encrypted at rest: plaintext never reaches disk, tampering and wrong keys fail loudly,
and key rotation re-wraps data keys without rewriting any blob."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from triage_service import cli
from triage_service.attachments.blobs import PiecesReader, load_keyring, read_blob, store_blob
from triage_service.database import session_scope
from triage_service.encryption.envelope import SEGMENT, DecryptionError, KeyRing
from triage_service.models import EncryptedBlob
from triage_service.settings import Settings
from triage_service.storage.filesystem import FilesystemBlobStore

# Recognisable plaintext spanning several segments, like a photo of a few hundred kB.
PLAINTEXT = (b"JPEG-LIKE-PHOTO-999990019-" * 20000)[: 3 * SEGMENT + 123]


@pytest.fixture
def store(settings: Settings) -> FilesystemBlobStore:
    return FilesystemBlobStore(settings.blob_path)


def _store(app: Flask, settings: Settings, store: FilesystemBlobStore, data: bytes = PLAINTEXT) -> str:
    with session_scope(app) as session:
        return store_blob(session, store, load_keyring(settings), io.BytesIO(data)).id


def _read(app: Flask, settings: Settings, store: FilesystemBlobStore, blob_id: str,
          ring: KeyRing | None = None) -> bytes:
    with session_scope(app) as session:
        return b"".join(read_blob(session, store, ring or load_keyring(settings), blob_id))


def _file_of(app: Flask, store: FilesystemBlobStore, blob_id: str) -> Path:
    with session_scope(app) as session:
        blob = session.get(EncryptedBlob, blob_id)
        assert blob is not None
        return store._path(blob.storage_name)


@pytest.mark.parametrize("size", [0, 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 123])
def test_a_blob_reads_back_exactly_as_stored(app: Flask, settings: Settings, store: FilesystemBlobStore,
                                            size: int) -> None:
    data = os.urandom(size)
    assert _read(app, settings, store, _store(app, settings, store, data)) == data


def test_no_plaintext_reaches_the_storage_folder(app: Flask, settings: Settings, store: FilesystemBlobStore) -> None:
    _store(app, settings, store)
    files = [p for p in settings.blob_path.rglob("*") if p.is_file()]
    assert files
    for path in files:
        content = path.read_bytes()
        assert b"JPEG-LIKE-PHOTO" not in content and b"999990019" not in content
        assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("offset", [0, 5, SEGMENT, 2 * SEGMENT + 100, -1])
def test_a_tampered_blob_fails_loudly(app: Flask, settings: Settings, store: FilesystemBlobStore,
                                      offset: int) -> None:
    blob_id = _store(app, settings, store)
    path = _file_of(app, store, blob_id)
    content = bytearray(path.read_bytes())
    content[offset] ^= 0x01
    path.write_bytes(bytes(content))
    with pytest.raises(DecryptionError):
        _read(app, settings, store, blob_id)


def test_a_truncated_blob_fails_loudly_even_at_a_segment_boundary(
        app: Flask, settings: Settings, store: FilesystemBlobStore) -> None:
    blob_id = _store(app, settings, store)
    path = _file_of(app, store, blob_id)
    path.write_bytes(path.read_bytes()[: 8 + 2 * (SEGMENT + 16)])
    with pytest.raises(DecryptionError):
        _read(app, settings, store, blob_id)


def test_a_blob_swapped_for_another_blobs_ciphertext_fails(
        app: Flask, settings: Settings, store: FilesystemBlobStore) -> None:
    first, second = _store(app, settings, store), _store(app, settings, store)
    _file_of(app, store, first).write_bytes(_file_of(app, store, second).read_bytes())
    with pytest.raises(DecryptionError):
        _read(app, settings, store, first)


def test_the_wrong_key_ring_cannot_open_a_blob(app: Flask, settings: Settings, store: FilesystemBlobStore) -> None:
    blob_id = _store(app, settings, store)
    with pytest.raises(DecryptionError):
        _read(app, settings, store, blob_id, ring=KeyRing.generate())


def test_after_rotate_keys_every_blob_still_opens_and_no_blob_was_rewritten(
        app: Flask, settings: Settings, store: FilesystemBlobStore, monkeypatch: pytest.MonkeyPatch) -> None:
    ids = [_store(app, settings, store) for _ in range(3)]
    before = {i: _file_of(app, store, i).read_bytes() for i in ids}
    old_active = load_keyring(settings).active
    monkeypatch.setattr(cli, "_app", lambda: app)

    result = CliRunner().invoke(cli.main, ["rotate-keys"])

    assert result.exit_code == 0, result.output
    assert "re-wrapped 3 data key(s)" in result.output
    new_active = load_keyring(settings).active
    assert new_active != old_active
    with session_scope(app) as session:
        assert set(session.scalars(select(EncryptedBlob.kek_id).where(EncryptedBlob.id.in_(ids)))) == {new_active}
    for blob_id in ids:
        assert _file_of(app, store, blob_id).read_bytes() == before[blob_id]
        assert _read(app, settings, store, blob_id) == PLAINTEXT


def test_rotate_keys_without_a_key_ring_asks_for_one_explicitly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 app: Flask) -> None:
    from triage_service.settings import load_settings

    other = load_settings({"TRIAGE_INSTANCE_PATH": str(tmp_path)})
    other_app = Flask("x")
    other_app.extensions.update(app.extensions)
    other_app.extensions["triage.settings"] = other
    monkeypatch.setattr(cli, "_app", lambda: other_app)
    refused = CliRunner().invoke(cli.main, ["rotate-keys"])
    assert refused.exit_code == 2 and "--new-keyring" in refused.output
    created = CliRunner().invoke(cli.main, ["rotate-keys", "--new-keyring"])
    assert created.exit_code == 0 and other.keyring_path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "ab" * 16 + "/../x", "AB" * 16, ""])
def test_the_store_refuses_names_it_did_not_generate(store: FilesystemBlobStore, name: str) -> None:
    with pytest.raises(KeyError):
        store.open(name)


def test_a_blob_stored_from_pieces_reads_back_as_their_concatenation(app: Flask, settings: Settings,
                                                                     store: FilesystemBlobStore) -> None:
    # A cleaned photo is views into the upload; pieces of every size straddle the 64 KiB segments.
    data = os.urandom(3 * SEGMENT + 500)
    view = memoryview(data)
    pieces = [view[0:2], view[2:SEGMENT - 1], view[SEGMENT - 1:SEGMENT + 7], b"", view[SEGMENT + 7:]]
    with session_scope(app) as session:
        blob_id = store_blob(session, store, load_keyring(settings), PiecesReader(pieces)).id
    assert _read(app, settings, store, blob_id) == data
