"""gunicorn's access logger, made safe against log forging.

gunicorn writes the request path and headers into the access log as received,
so ``/fhir/x%0a127.0.0.1 "POST /oauth/token" 200`` would add a forged line, and
NUL or 0xff bytes make the log unreadable to grep. Every atom is escaped to
printable ASCII before formatting, after the secret of a patient's upload link is cut out of the path.
Used by ``config/gunicorn.conf.py``.
"""

from __future__ import annotations

import re
from typing import Any

from gunicorn.glogging import Logger

#: The secret of a patient's upload link (/foto/<secret>, portal/patient_page.py): whoever reads the log must
#: not be able to use the link, so it is replaced before the line is written.
_LINK_SECRET = re.compile(r"(/foto/)[^/?\s]+")


def escape(value: str) -> str:
    """Control characters, backslashes and non-ASCII as visible escapes (``\\x0a``), the rest unchanged."""
    if value.isascii() and value.isprintable() and "\\" not in value:
        return value  # the common case costs one scan
    return "".join(c if " " <= c <= "~" and c != "\\" else f"\\x{ord(c):02x}" if ord(c) < 256
                   else f"\\u{ord(c):04x}" for c in value)


class SafeAccessLogger(Logger):  # type: ignore[misc]  # gunicorn ships no type information
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {key: escape(_LINK_SECRET.sub(r"\1-", value)) if isinstance(value, str) else value
                for key, value in atoms.items()}
