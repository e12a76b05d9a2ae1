"""Dutch identifier systems (Nictiz nl-core NamingSystems) and their checks."""

from __future__ import annotations

import re

NS = "http://fhir.nl/fhir/NamingSystem/"
BSN = NS + "bsn"
AGB = NS + "agb-z"
UZOVI = NS + "uzovi"
URA = NS + "ura"
BIG = NS + "big"
ICPC_1_NL = "http://hl7.org/fhir/sid/icpc-1-nl"
VEKTIS_SPECIALISM = "urn:oid:2.16.840.1.113883.2.4.6.7"

_AGB = re.compile(r"^\d{8}$")
_UZOVI = re.compile(r"^\d{4}$")
_POSTCODE = re.compile(r"^([1-9]\d{3})\s?([A-Za-z]{2})?$")
_FULL_POSTCODE = re.compile(r"^[1-9]\d{3} ?[A-Za-z]{2}$")
#: How a HIS may write the Netherlands in Address.country (ISO 3166 codes or the Dutch name).
NETHERLANDS = frozenset({"NL", "NLD", "NEDERLAND", "THE NETHERLANDS", "NETHERLANDS"})


def is_valid_postcode(value: str) -> bool:
    """A Dutch postcode: four digits (not starting with 0), optional space, two letters ("3011 AB")."""
    return bool(_FULL_POSTCODE.match(value.strip()))


def is_valid_bsn(value: str) -> bool:
    """The BSN "elfproef": 9 digits, weighted sum (9..2, and -1 for the last) divisible by 11.

    https://www.rvig.nl/ (BSN specification). 8-digit numbers are historically
    padded with a leading zero; we require the 9-digit form FHIR NamingSystem uses.
    """
    if len(value) != 9 or not value.isdigit() or value == "000000000":
        return False
    digits = [int(c) for c in value]
    total = sum(d * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - digits[8]
    return total % 11 == 0


def is_valid_agb(value: str) -> bool:
    return bool(_AGB.match(value))


def is_valid_uzovi(value: str) -> bool:
    return bool(_UZOVI.match(value))


def postcode_digits(postal_code: str | None) -> int | None:
    """The 4-digit numeric part of a Dutch postcode ("3011 AB" -> 3011), or None."""
    if not postal_code:
        return None
    match = _POSTCODE.match(postal_code.strip())
    return int(match.group(1)) if match else None
