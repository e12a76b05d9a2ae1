"""Key files and other secrets on disk: readable by the owner only, never seen half-written.

One place for the two ways the key ring, the field keys and the audit key are written, so that every key
file gets the same care."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def replace_private_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (0600), replacing what was there in one rename: a reader sees the old file
    or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


def create_private_file(path: Path, text: str) -> str:
    """Create ``path`` (0600) holding ``text`` unless it exists; returns what the file holds afterwards.

    Written whole under a private name, then linked into place: of two processes of one instance starting at
    the same moment, one wins the link and the other reads the complete file the first one made."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    try:
        os.link(temporary, path)
    except FileExistsError:
        return path.read_text(encoding="utf-8")
    finally:
        temporary.unlink()
    return text
