"""Request bytes to a JSON value, refusing what ``json.loads`` would quietly accept: bytes that are not
UTF-8, duplicate object keys (the last would silently win), ``NaN``/``Infinity`` and numbers that overflow to
infinity, a body too large to walk, and a top level that is not a resource object (step 1 of parsing.py)."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

from triage_service.errors import N_
from triage_service.fhir.json_rules import (
    display_name,
)
from triage_service.outcome import Issue, Message, message

SAFE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")


class _DuplicateKeys(dict[str, Any]):
    """A JSON object in which some key occurred more than once."""

    duplicates: tuple[str, ...] = ()



class _NonFiniteNumber(ValueError):
    pass



def _object_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    # RFC 8259 only says names SHOULD be unique; json.loads keeps the last one.
    # For clinical data silently dropping a value is unacceptable: refuse.
    marked = _DuplicateKeys(result)
    marked.duplicates = tuple(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    return marked



def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)



def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf without complaint
        raise _NonFiniteNumber(text)
    return value



def _duplicate_key_issues(value: Any, path: str, depth: int = 0) -> list[Issue]:
    issues: list[Issue] = []
    if depth > 200:
        return issues
    if isinstance(value, _DuplicateKeys):
        for key in value.duplicates:
            issues.append(
                Issue(
                    "structure",
                    N_("Duplicate JSON property %(key)s (each property may occur only once)"),
                    f"{path}.{key}", params={"key": display_name(key)},
                )
            )
    if isinstance(value, dict):
        for key, child in value.items():
            issues.extend(_duplicate_key_issues(child, f"{path}.{key}", depth + 1))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            issues.extend(_duplicate_key_issues(child, f"{path}[{index}]", depth + 1))
    return issues



#: Far above any real request (the transaction example has about 150 elements).
MAX_JSON_ELEMENTS = 5000



def _more_elements_than(value: Any, limit: int) -> bool:
    """Count JSON values iteratively, stopping as soon as the limit is passed."""
    stack = [value]
    while stack:
        node = stack.pop()
        limit -= 1
        if limit < 0:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False



#: The json module's own messages, by how they begin, in words of ours: it writes English only, and some of its
#: messages quote a character of the body.
_JSON_PROBLEMS = (
    ("Expecting value", N_("a value was expected")),
    ("Expecting property name", N_("a property name in double quotes was expected")),
    ("Expecting ':'", N_("a colon was expected")),
    ("Expecting ','", N_("a comma was expected")),
    ("Unterminated string", N_("a string is not closed")),
    ("Invalid control character", N_("a string holds a control character (escape it)")),
    ("Invalid \\u", N_("a \\u escape does not have four hexadecimal digits")),
    ("Invalid \\escape", N_("a string holds an unknown escape")),
    ("Extra data", N_("more follows after the JSON value")),
    ("Illegal trailing comma", N_("a comma comes before the end of an object or array")),
)


def _json_problem(english: str) -> Message:
    for start, words in _JSON_PROBLEMS:
        if english.startswith(start):
            return message(words)
    return message(N_("its syntax is wrong"))


def parse_json_body(raw: bytes) -> tuple[Any, list[Issue]]:
    """Parse a request body as strict FHIR JSON.

    Returns ``(value, [])`` on success, ``(None, issues)`` otherwise; never raises.
    http://hl7.org/fhir/R4/json.html: UTF-8, one JSON object with a
    ``resourceType``. A UTF-8 byte order mark is tolerated (some .NET
    clients send one); any other encoding is refused.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return None, [Issue("structure", N_("Request body must be bytes"))]
    data = bytes(raw)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Issue("structure", N_("Request body is not valid UTF-8 (invalid byte at offset %(start)s)"),
                      params={"start": exc.start})]
    try:
        value = json.loads(
            text, object_pairs_hook=_object_hook, parse_constant=_reject_constant, parse_float=_parse_float
        )
    except _NonFiniteNumber:
        return None, [
            Issue("structure", N_("JSON numbers must be finite: NaN, Infinity and overflowing numbers are not allowed"))
        ]
    except json.JSONDecodeError as exc:
        return None, [
            Issue(
                "structure",
                N_("Request body is not valid JSON: %(msg)s (line %(lineno)s, column %(colno)s)"),
                params={"msg": _json_problem(exc.msg), "lineno": exc.lineno, "colno": exc.colno},
            )
        ]
    except RecursionError:
        return None, [Issue("structure", N_("Request body JSON is nested too deeply"))]
    except ValueError:  # e.g. an integer literal longer than Python allows
        return None, [Issue("structure", N_("Request body contains a number that cannot be represented"))]
    if _more_elements_than(value, MAX_JSON_ELEMENTS):
        # Validation cost grows with the number of elements, not bytes: a 15 MB body of 200,000
        # reason codes held a worker for a minute. Checked first, before any recursive walk.
        return None, [
            Issue(
                "too-costly",
                N_(
                    "The resource has more than %(limit)s JSON elements; a consult request "
                    "needs a few hundred (photos count as one element each)"
                ),
                params={"limit": MAX_JSON_ELEMENTS},
            )
        ]
    resource_type = value.get("resourceType") if isinstance(value, dict) else None
    root = resource_type if isinstance(resource_type, str) and SAFE_NAME.fullmatch(resource_type) else "$"
    duplicates = _duplicate_key_issues(value, root)
    if duplicates:
        return None, duplicates
    if not isinstance(value, dict):
        return None, [Issue("invalid", N_("Request body must be a JSON object (a FHIR resource)"))]
    if not isinstance(resource_type, str) or not resource_type.strip():
        return None, [Issue("invalid", N_("The resource has no 'resourceType' string property"), "resourceType")]
    return value, []
