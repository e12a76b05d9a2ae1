"""Blob storage: a small protocol, so the filesystem backend can be swapped for an S3-compatible store.

Backends only ever see ciphertext (``attachments/blobs.py`` encrypts before storing)
and names they generated themselves; a user-supplied file name never reaches disk.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol


class BlobStore(Protocol):
    def create(self) -> tuple[str, BinaryIO]:
        """A new, empty blob under a generated name, opened for writing."""

    def open(self, name: str) -> BinaryIO:
        """An existing blob, opened for reading; KeyError when it does not exist."""

    def delete(self, name: str) -> None:
        """Remove a blob (missing blobs are ignored)."""
