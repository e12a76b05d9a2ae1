"""The lexical rules of FHIR JSON that every structural check shares: resource type names, ids, URIs,
dates, strict base64, the shapes of well-known elements, and the collector the checks report into."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from triage_service.outcome import Issue, Severity

#: Deeper JSON than this is refused outright (FHIR resources are far shallower;
#: unbounded depth is a denial-of-service vector for every recursive walker).
MAX_DEPTH = 100



#: http://hl7.org/fhir/R4/datatypes.html#string: "strings SHALL NOT exceed 1MB
#: (1024*1024 characters) in size". base64Binary and xhtml are not strings.
MAX_STRING_CHARS = 1024 * 1024



# http://hl7.org/fhir/R4/datatypes.html#id: "[A-Za-z0-9\-\.]{1,64}".
RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")



# RFC 3986 scheme; "absolute URI" means "has a scheme and something after it".
ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")



# http://hl7.org/fhir/R4/datatypes.html#oid and #uuid (lowercase, with the urn: prefix).
OID_URN = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")



UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")



# The whitespace XML Schema allows inside base64Binary (space, tab, CR, LF); other
# Unicode "whitespace" such as U+00A0 is not base64 and stays to be refused.
BASE64_WHITESPACE = re.compile("[ \t\r\n]+")



# http://hl7.org/fhir/R4/references.html#literal: relative references are
# [type]/[id] with an optional /_history/[vid]; in a transaction a conditional
# reference [type]?[search] is also allowed (http.html#trules).
RELATIVE_REFERENCE = re.compile(r"(?P<type>[A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?")



CONDITIONAL_REFERENCE = re.compile(r"(?P<type>[A-Z][A-Za-z]+)\?\S+")



# A RESTful fullUrl ends in [type]/[id] (bundle.html#bundle-unique).
RESTFUL_TAIL = re.compile(r".*/(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})")



# Strings SHOULD NOT contain code points below 32 except tab, CR and LF
# (datatypes.html#string); NUL and friends also break databases and logs, so
# the service refuses them. Lone surrogates cannot be encoded as UTF-8 at all.
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")



# Active content that has no business in any FHIR string (stored-XSS guard for
# the specialist's viewer). Deliberately narrow: "<5 mg" or "a<b" pass.
ACTIVE_CONTENT = re.compile(
    r"<\s*/?\s*(script|iframe|frame|frameset|object|embed|applet|form|style|link|meta|base|svg)\b",
    re.IGNORECASE,
)



# http://hl7.org/fhir/R4/narrative.html#xhtml (txt-1): no scripts, forms,
# frames, objects, head/body, base/link, event attributes or javascript: URLs.
NARRATIVE_FORBIDDEN = re.compile(
    r"<\s*/?\s*(script|iframe|frame|frameset|object|embed|applet|form|input|button|select|"
    r"textarea|style|link|meta|base|head|body|html)\b"
    r"|<[^>]*\son[a-z]+\s*="
    r"|javascript\s*:",
    re.IGNORECASE,
)



XHTML_NAMESPACE = re.compile(r"""<div\b[^>]*\sxmlns\s*=\s*["']http://www\.w3\.org/1999/xhtml["']""")



TAG = re.compile(r"<[^>]*>")



# dateTime / instant lexical form, to compare Period.start and Period.end.
DATE_TIME = re.compile(
    r"(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?P<f>\.\d+)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)



# Attachment (http://hl7.org/fhir/R4/datatypes.html#Attachment) element names.
ATTACHMENT_KEYS = frozenset(
    {"id", "extension", "contentType", "language", "data", "url", "size", "hash", "title", "creation"}
)



PERIOD_KEYS = frozenset({"id", "extension", "start", "end"})



NARRATIVE_KEYS = frozenset({"id", "extension", "status", "div"})



# Positions where a Signature (datatypes.html#Signature) sits in R4 resources.
SIGNATURE_KEYS = frozenset({"signature", "sourceSignature", "proxySignature", "attestationSignature"})



# Strings that identify something: whitespace-only content there is never meaningful.
IDENTIFYING_KEYS = frozenset({"id", "code", "system", "reference", "url", "fullUrl", "versionId"})



PAGING_RELATIONS = frozenset({"first", "previous", "prev", "next", "last"})



SINGLE_RELATIONS = PAGING_RELATIONS | {"self"}



ENTRY_REQUEST_TYPES = frozenset({"batch", "transaction", "history"})



ENTRY_RESPONSE_TYPES = frozenset({"batch-response", "transaction-response", "history"})



BUNDLE_TYPES = frozenset(
    {
        "document",
        "message",
        "transaction",
        "transaction-response",
        "batch",
        "batch-response",
        "history",
        "searchset",
        "collection",
    }
)



NOT_RESOURCES = frozenset({"Resource", "DomainResource"})



#: Resource types the R4B models know but FHIR R4 (4.0.1, our wire format) does
#: not have; accepting them would let R4B-only content in through the R4 API.
R4B_ONLY_RESOURCE_TYPES = frozenset(
    {
        "AdministrableProductDefinition",
        "Citation",
        "ClinicalUseDefinition",
        "EvidenceReport",
        "Ingredient",
        "ManufacturedItemDefinition",
        "MedicinalProductDefinition",
        "NutritionProduct",
        "PackagedProductDefinition",
        "RegulatedAuthorization",
        "SubscriptionStatus",
        "SubscriptionTopic",
        "SubstanceDefinition",
    }
)



@lru_cache(maxsize=512)
def is_resource_type(name: str) -> bool:
    """True if ``name`` is a concrete FHIR R4 resource type that the R4B models support.

    Cached per name: the first call for a type imports its model module.
    """
    if not re.fullmatch(r"[A-Z][A-Za-z]{1,63}", name) or name in NOT_RESOURCES or name in R4B_ONLY_RESOURCE_TYPES:
        return False
    try:
        klass = get_fhir_model_class(name)
    except (ValueError, ImportError, AttributeError):
        return False
    return bool(klass.has_resource_base()) and klass.get_resource_type() == name



def decode_base64_strict(text: str) -> bytes:
    """Decode a FHIR base64Binary value strictly.

    http://hl7.org/fhir/R4/datatypes.html#base64Binary allows whitespace
    between the characters (HL7's own examples wrap lines), so ASCII whitespace
    is removed first. Everything else must be standard RFC 4648 base64 with
    correct padding and zero pad bits: the URL-safe alphabet, stray characters
    (``QUJD%%%%``) or missing padding raise :class:`ValueError` instead of
    being silently skipped as Python's default decoder and fhir.resources do.
    """
    if not isinstance(text, str):
        raise ValueError("base64 content must be a JSON string")
    compact = BASE64_WHITESPACE.sub("", text)
    if not compact:
        raise ValueError("base64 content is empty")
    if not compact.isascii():
        raise ValueError("base64 content contains non-ASCII characters")
    try:
        decoded = base64.b64decode(compact, validate=True)
    except binascii.Error as exc:
        raise ValueError(f"not valid base64 ({exc})") from None
    # Non-zero pad bits decode "successfully" but are not canonical base64
    # (RFC 4648 section 3.5); a second encoder would produce other text.
    if base64.b64encode(decoded).decode("ascii") != compact:
        raise ValueError("not canonical base64 (non-zero padding bits)")
    return decoded



def safe_name(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9_\-]{0,63}", name))



def display_name(key: str) -> str:
    """An element name quoted for diagnostics (names are not patient data, but a
    hostile key could be long or carry anything: keep it short)."""
    shown = key if len(key) <= 64 else key[:61] + "..."
    return repr(shown)



def json_type(value: Any) -> str:
    """The JSON type name of a parsed value, for diagnostics that must not show the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__



def parse_date_time(text: str) -> tuple[tuple[int, ...], int, datetime | None] | None:
    """Split a FHIR date/dateTime into (year, month, day), precision (1=year ..
    3=day, 4=time) and, for a full dateTime, the UTC instant; None if unparseable."""
    match = DATE_TIME.fullmatch(text)
    if match is None:
        return None
    parts = tuple(int(match[name]) for name in ("y", "m", "d") if match[name] is not None)
    if match["H"] is None:
        return parts, len(parts), None
    if match["tz"] is None:
        return None  # a time without a zone is invalid anyway (the model layer reports it)
    try:
        stamp = datetime.fromisoformat(
            f"{match['y']}-{match['m']}-{match['d']}T{match['H']}:{match['M']}:{match['S']}"
            f"{match['f'] or ''}{match['tz'].replace('Z', '+00:00')}"
        )
    except ValueError:
        return None
    return parts, 4, stamp.astimezone(UTC)



def period_out_of_order(start: str, end: str) -> bool:
    """per-1: "If present, start SHALL have a lower value than end" (datatypes.html#Period),
    FHIRPath expression ``start <= end``.

    FHIRPath compares values of different precision on their common precision
    and yields *empty* (so the invariant fails) when they are equal there:
    start 2023-06-21 with end 2023-06-21T06:20:00Z fails, as the reference
    validator also decides; 2023-06-20 to 2023-06-21T06:20:00Z passes.
    """
    parsed_start, parsed_end = parse_date_time(start), parse_date_time(end)
    if parsed_start is None or parsed_end is None:
        return False
    (start_parts, start_precision, start_utc), (end_parts, end_precision, end_utc) = parsed_start, parsed_end
    if start_utc is not None and end_utc is not None:
        return start_utc > end_utc
    common = min(len(start_parts), len(end_parts))
    if start_parts[:common] != end_parts[:common]:
        return start_parts[:common] > end_parts[:common]
    return start_precision != end_precision



def element_names(data: dict[Any, Any]) -> set[str]:
    """The element names of a JSON object, with '_x' primitive extensions counted as 'x'."""
    return {key.lstrip("_") for key in data if isinstance(key, str)}



def iter_strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string value below ``value`` (not keys)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item, depth + 1)


class IssueCollector:
    """What every rule of the structural check reports into: the issues found, and the element ids seen
    in each resource being walked."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        # Element ids must be unique within a resource (Element.id: "Unique id
        # for the element within a resource"); one set per resource being walked.
        self.element_ids: list[set[str]] = []

    def add(self, code: str, message: str, expression: str | None, severity: Severity = "error",
            **params: object) -> None:
        """``message`` is a template marked with ``N_``; ``params`` its values (outcome.py)."""
        self.issues.append(Issue(code, message, expression, severity, params))
