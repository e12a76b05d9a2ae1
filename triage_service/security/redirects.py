"""Where a user-supplied ``next`` may send the browser: only to a path on this site.

An open redirect lends the service's address to phishing ("log in at triage.example.nl" that ends on
another host). Checking ``startswith("/") and not startswith("//")`` is not enough: browsers drop tabs and
newlines anywhere in a URL and read a backslash as a slash, so ``/\\t/evil.example`` or ``/\\evil.example``
reach ``//evil.example`` (WHATWG URL Standard, "basic URL parser"). So the rule here is an allow-list:
plain ASCII path characters, one leading slash, no dot segments, checked again after each layer of
percent-decoding (a proxy or a later redirect might decode once more). Anything else gets the default.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

#: RFC 3986 path, query and fragment characters (and ``%`` escapes); no backslash, space, quote, ``<``/``>``
#: or control character. The second character may not be a slash: ``//host`` is a network-path reference.
_LOCAL = re.compile(r"/(?!/)[A-Za-z0-9\-._~!$&'()*+,;=:@/%?#]*\Z")
_MAX_LENGTH = 2000
_DECODING_LAYERS = 4


def _is_local(value: str) -> bool:
    if not _LOCAL.match(value):
        return False
    path = re.split(r"[?#]", value, maxsplit=1)[0]
    # "/..//evil" would be normalised by the browser to "//evil" as a path; no page of ours needs dot segments.
    return not any(segment in (".", "..") for segment in path.split("/"))


def local_path(target: object, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (which the caller builds with url_for)."""
    if not isinstance(target, str) or not target or len(target) > _MAX_LENGTH:
        return default
    candidate = target
    for _ in range(_DECODING_LAYERS):
        if not _is_local(candidate):
            return default
        decoded = unquote(candidate)
        if decoded == candidate:
            return target
        candidate = decoded
    return default  # more layers of encoding than any page of ours produces
