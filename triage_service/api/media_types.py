"""FHIR JSON as a client may name it: media types with parameters, and the FHIR version it asks for.

FHIR R4 (http.html#mime-type and #version-parameter) lets a client write ``application/fhir+json;
fhirVersion=4.0`` or ``application/fhir+json; charset=utf-8`` in Accept and Content-Type. Werkzeug's Accept
matching takes the parameters as part of the type, so both were refused with a 406 while they ask for exactly
what we serve. Here the parameters are read as what they are: ``q`` weighs the choice, ``charset`` on a
Content-Type must be UTF-8 (api/io.py; FHIR JSON is always UTF-8), and ``fhirVersion`` must name R4 (``4.0``,
or a patch release such as ``4.0.1``): another version gets a 406 on Accept and a 415 on Content-Type saying
which version we speak, as the specification asks. Any other parameter is ignored, as RFC 9110 section
12.5.1 lets a server do.
"""

from __future__ import annotations

from werkzeug.datastructures import MIMEAccept

#: What a client may ask for and get FHIR JSON: the FHIR type, plain JSON, the DSTU2-era name, and wildcards.
JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
_WILDCARDS = ("*/*", "application/*")
FHIR_VERSION = "4.0"


def _split(value: str) -> tuple[str, dict[str, str]]:
    base, *parts = value.split(";")
    params = {}
    for part in parts:
        name, _, val = part.partition("=")
        params[name.strip().lower()] = val.strip().strip('"')
    return base.strip().lower(), params


def speaks_version(params: dict[str, str]) -> bool:
    """Whether a media type's fhirVersion parameter, if any, names the version we serve (R4)."""
    version = params.get("fhirversion")
    return version is None or version == FHIR_VERSION or version.startswith(FHIR_VERSION + ".")


def accepts_fhir_json(accept: MIMEAccept) -> tuple[bool, str | None]:
    """Whether an Accept header lets us answer FHIR JSON; when not, the FHIR version it asked for instead, if
    that was the only reason (so the 406 can say so)."""
    if not accept:
        return True, None
    other_version = None
    for value, quality in accept:
        base, params = _split(value)
        if quality <= 0 or (base not in JSON_TYPES and base not in _WILDCARDS):
            continue
        if speaks_version(params):
            return True, None
        other_version = params.get("fhirversion")
    return False, other_version


def explicit_quality(accept: MIMEAccept, types: tuple[str, ...]) -> float:
    """The highest weight the client gave one of these types by name (wildcards do not count), 0 if none."""
    best = 0.0
    for value, quality in accept:
        base, params = _split(value)
        if base in types and speaks_version(params):
            best = max(best, float(quality))
    return best


def wants_fhir_resource(accept: MIMEAccept, native_type: str) -> bool:
    """Whether a Binary is to be sent as a FHIR Binary resource rather than in its own media type: FHIR R4
    (binary.html#rest) says so when the client asks for FHIR JSON by name; a client that names the native
    type with a higher weight gets the bytes, and one that names neither (``*/*``) too."""
    fhir = explicit_quality(accept, JSON_TYPES)
    return fhir > 0 and fhir >= explicit_quality(accept, (native_type, native_type.split("/")[0] + "/*"))
