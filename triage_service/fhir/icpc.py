"""The ICPC-1-NL code table (NHG's Dutch edition of the International Classification of Primary Care), so a GP
can pick a complaint by code or by Dutch title, and an agreement can name the complaints it covers.

The table ships as package data (``icpc_1_nl.tsv``, see pyproject's package-data) rather than as Python, so a
new NHG release is a data change that a reviewer can diff line by line. Codes are the coding system
``dutch.ICPC_1_NL`` names in FHIR.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib.resources import files

#: A chapter letter (the 17 ICPC chapters; there is no C, E, G, I, J, M, O, Q or V), optionally a rubric of two
#: digits, optionally an NHG subcode of two more after a dot (NHG-Tabel 24 has subcodes such as "S97.03").
ICPC_CODE = re.compile(r"^[ABDFHKLNPRSTUWXYZ](\d{2}(\.\d{2})?)?$")

# What a search that is meant as a code looks like: a chapter letter and the start of a code ("s8", "T90.0").
_CODE_PREFIX = re.compile(r"^[ABDFHKLNPRSTUWXYZ]\d{0,2}(\.\d{0,2})?$")
_TABLE = "icpc_1_nl.tsv"
_HEADER = "code\ttitle"


@cache
def _table() -> dict[str, str]:
    """Code -> title, read once: the table is fixed for the life of the process (it only changes on deploy)."""
    text = files("triage_service.fhir").joinpath(_TABLE).read_text(encoding="utf-8")
    lines = text.splitlines()
    if not lines or lines[0] != _HEADER:
        raise ValueError(f"{_TABLE}: the first line must be {_HEADER!r}")
    table: dict[str, str] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        code, _, title = line.partition("\t")
        # A broken package file must fail loudly at first use, not show a GP a half-read pick list.
        if not ICPC_CODE.match(code) or not title.strip() or code in table:
            raise ValueError(f"{_TABLE} line {number}: not a new code and a title: {line!r}")
        table[code] = title.strip()
    return dict(sorted(table.items()))


def _fold(text: str) -> str:
    """Lower case without accents, so "essentiele" finds "Essentiële" and "seborroisch" finds "Seborroïsch":
    GPs type fast and a keyboard without dead keys is the rule, not the exception."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def _folded_titles() -> tuple[tuple[str, str, str], ...]:
    # Folded once, next to the code and the title as shown, since every keystroke in the form searches them all.
    return tuple((code, title, _fold(title)) for code, title in _table().items())


def _normal(code: str) -> str:
    return code.strip().upper()


def title(code: str) -> str | None:
    """The Dutch title of a code ("s82" and " S82 " are S82), or None for a code the table does not have."""
    return _table().get(_normal(code))


def chapter_of(code: str) -> str:
    """The chapter letter of a code ("S82.01" -> "S"). ValueError for what is not an ICPC code at all."""
    normal = _normal(code)
    if not ICPC_CODE.match(normal):
        raise ValueError(f"not an ICPC code: {code!r}")
    return normal[0]


def search(text: str, limit: int = 20) -> list[tuple[str, str]]:
    """The rows a GP means by ``text``, as (code, title): first the codes that start with it when it looks like
    a code ("s8" gives S80 to S89), then the rows whose title has every word of it, accents and case ignored
    ("eczeem" finds "Constitutioneel eczeem"); each group by code, at most ``limit`` rows in all."""
    query = text.strip()
    if not query or limit <= 0:
        return []
    found: list[tuple[str, str]] = []
    prefix = query.upper()
    if _CODE_PREFIX.match(prefix):
        found = [(code, name) for code, name in _table().items() if code.startswith(prefix)]
    seen = {code for code, _ in found}
    words = _fold(query).split()
    found += [(code, name) for code, name, folded in _folded_titles()
              if code not in seen and all(word in folded for word in words)]
    return found[:limit]


def codes_in(patterns: list[str]) -> list[tuple[str, str]]:
    """The table's rows an agreement covers, as (code, title) by code. A pattern is a whole chapter ("S": every
    row of the chapter) or a code ("S97": that row and its NHG subcodes such as S97.03); an agreement without
    patterns covers every code. ValueError for a pattern that is not an ICPC code, so a typo in an agreement
    shows at once instead of silently covering nothing."""
    table = _table()
    if not patterns:
        return list(table.items())
    wanted = []
    for pattern in patterns:
        normal = _normal(pattern)
        if not ICPC_CODE.match(normal):
            raise ValueError(f"not an ICPC chapter or code: {pattern!r}")
        wanted.append(normal)
    return [(code, name) for code, name in table.items()
            if any(_covers(pattern, code) for pattern in wanted)]


def _covers(pattern: str, code: str) -> bool:
    if len(pattern) == 1:
        return code[0] == pattern
    return code == pattern or code.startswith(pattern + ".")
