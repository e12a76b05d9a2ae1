"""Which of the requested scopes a GP system gets: the part of each that its registration covers.

SMART App Launch (2.x, "Scopes and launch context") lets a client ask for scopes in the v1 syntax
(``system/Task.read``, ``.write``, ``.*``) or the v2 syntax (``system/Task.rs``, ``.cruds``), with a wildcard
resource type (``system/*.read``), and lets the server grant less than was asked. Comparing the strings, as
we once did, refused a client registered for ``system/*.*`` that asked for ``system/Task.read``, and one
registered for Task.read and Task.write that asked for ``system/Task.*``.

So each scope is read as what it permits: per resource type, a set of the v2 letters c, r, u, d, s (v1 read is
``rs``, write is ``cud``, ``*`` all five). A requested scope wholly covered by the registration is granted as
it was written, so a client gets back the string it asked for. One covered only in part is granted as the part
that is covered, one scope per resource type, written in the syntax the client used where that syntax can say
it (v1 has no word for "read but not search"), else in v2 letters; the token response's ``scope`` tells the
client what it got, as RFC 6749 section 5.1 asks when that differs from the request. A v2 scope with a query
(``system/Observation.rs?category=laboratory``) narrows what it permits; it is granted as written when the
registration covers it without the query, and never widened.

The reporting scopes (``reports.read``, ``reports.write``) are not FHIR scopes and are granted only as
registered.
"""

from __future__ import annotations

from collections.abc import Iterable

_ALL = frozenset("cruds")
_V1_WORDS = {"read": frozenset("rs"), "write": frozenset("cud"), "*": _ALL}
_V1_BY_LETTERS = {letters: word for word, letters in _V1_WORDS.items()}
_V2_ORDER = "cruds"


def _letters(access: str) -> frozenset[str] | None:
    """What an access part permits, or None when it is not one we know (then it grants nothing)."""
    if access in _V1_WORDS:
        return _V1_WORDS[access]
    if access and set(access) <= _ALL and len(set(access)) == len(access):
        return frozenset(access)
    return None


def _parse(scope: str) -> tuple[str, str, str] | None:
    """(resource type or *, access, query) of a ``system/`` scope; None for anything else."""
    context, _, rest = scope.partition("/")
    if context != "system" or "." not in rest:
        return None
    rtype, _, access = rest.partition(".")
    access, _, query = access.partition("?")
    return rtype, access, query


def permissions(scopes: Iterable[str], resource_types: Iterable[str]) -> dict[str, frozenset[str]]:
    """Per resource type, the letters the (registered) scopes permit; query-restricted ones are left out,
    as a restriction never covers a wider request."""
    types = frozenset(resource_types)
    permitted: dict[str, set[str]] = {}
    for scope in scopes:
        parsed = _parse(scope)
        if parsed is None or parsed[2]:
            continue
        rtype, access, _ = parsed
        letters = _letters(access)
        if letters is None:
            continue
        for each in (types if rtype == "*" else {rtype} & types):
            permitted.setdefault(each, set()).update(letters)
    return {rtype: frozenset(letters) for rtype, letters in permitted.items()}


def _written(rtype: str, letters: frozenset[str], v1: bool) -> str:
    if v1 and letters in _V1_BY_LETTERS:
        return f"system/{rtype}.{_V1_BY_LETTERS[letters]}"
    return f"system/{rtype}." + "".join(letter for letter in _V2_ORDER if letter in letters)


def granted_scopes(requested: Iterable[str], registered: Iterable[str], resource_types: Iterable[str],
                   other_scopes: Iterable[str] = ()) -> list[str]:
    """The scopes to grant, in the order asked, each at most once.

    ``other_scopes`` are non-FHIR scopes (the reporting API's) granted when asked and registered, verbatim."""
    registered = list(registered)
    types = sorted(set(resource_types))
    allowed = permissions(registered, types)
    others = set(other_scopes) & set(registered)
    granted: list[str] = []
    for scope in requested:
        parsed = _parse(scope)
        if parsed is None:
            if scope in others:
                granted.append(scope)
            continue
        rtype, access, query = parsed
        asked = _letters(access)
        asked_types = types if rtype == "*" else [rtype] if rtype in types else []
        if asked is None or not asked_types:
            continue
        covered = {each: asked & allowed.get(each, frozenset()) for each in asked_types}
        if all(letters == asked for letters in covered.values()):
            granted.append(scope)
        elif not query:
            granted.extend(_written(each, letters, access in _V1_WORDS) for each, letters in covered.items()
                           if letters)
    return list(dict.fromkeys(granted))
