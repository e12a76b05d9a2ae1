"""The compiled translations are built from their source (``messages.po``) when the app starts.

Why not commit the ``.mo`` files: their bytes depend on the Babel release that wrote them (2.18 and 2.19
differ), so a committed file either drifts from its source or breaks on a library update. Compiling at
start takes a few milliseconds and always matches the source. The output goes to the instance folder
(writable, per deployment), never into the installed package, which may be read-only.
"""

from __future__ import annotations

import os
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

SOURCE = Path(__file__).parent / "translations"


def compile_catalogues(target: Path, source: Path = SOURCE) -> Path:
    """Compile every ``<locale>/LC_MESSAGES/messages.po`` under ``source`` into ``target``; returns ``target``.

    Each file is written beside its final name and renamed over it, so gunicorn workers starting together
    never read a half-written catalogue."""
    for po_file in sorted(source.glob("*/LC_MESSAGES/messages.po")):
        locale = po_file.parent.parent.name
        with po_file.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        mo_file = target / locale / "LC_MESSAGES" / "messages.mo"
        mo_file.parent.mkdir(parents=True, exist_ok=True)
        partial = mo_file.with_name(f".messages.{os.getpid()}.mo")
        with partial.open("wb") as handle:
            write_mo(handle, catalog)
        partial.replace(mo_file)
    return target
