"""The default blob store: files under one root folder, two levels of fan-out, owner-only permissions."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO

from triage_service.settings import ensure_private_dir

_NAME = re.compile(r"^[0-9a-f]{32}$")


class FilesystemBlobStore:
    def __init__(self, root: Path):
        ensure_private_dir(root)
        self.root = root.resolve()

    def _path(self, name: str) -> Path:
        # Names are ours (32 hex characters), and the resolved path must stay under the root:
        # nothing a request carries can point outside it.
        if not _NAME.match(name):
            raise KeyError(name)
        path = (self.root / name[:2] / name[2:4] / name).resolve()
        if not path.is_relative_to(self.root):
            raise KeyError(name)
        return path

    def create(self) -> tuple[str, BinaryIO]:
        name = secrets.token_hex(16)
        path = self._path(name)
        ensure_private_dir(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return name, os.fdopen(fd, "wb")

    def open(self, name: str) -> BinaryIO:
        try:
            return self._path(name).open("rb")
        except FileNotFoundError as exc:
            raise KeyError(name) from exc

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError, KeyError):
            self._path(name).unlink()
