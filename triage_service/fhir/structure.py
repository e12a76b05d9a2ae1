"""Generic structural checks on raw FHIR JSON, run before any model is built.

fhir.resources (pydantic) is lenient where FHIR is strict: it accepts ``null``
values, empty arrays and objects, whitespace-only strings, leniently decoded
base64, Attachments whose ``size``/``hash`` contradict their ``data``,
relative ``fullUrl``\\ s and more. :func:`check_structure` walks the plain JSON
dict (as produced by :func:`triage_service.fhir.parsing.parse_json_body`) and
reports every such problem as an :class:`~triage_service.outcome.Issue`
with a FHIRPath-style ``expression``.

The checks are *generic*: they need no StructureDefinition, no terminology
server and (apart from the list of resource type names) no model. They
recognise elements by their JSON shape (an Attachment has ``contentType`` /
``data`` / ``size`` / ``hash``, an Extension sits in an ``extension`` array,
...) and by a few well-known positions (``contained``, ``Bundle.entry``).
Type-driven checks (JSON type of primitives, required bindings) need the model
metadata and live in :mod:`triage_service.fhir.parsing`.

Rules are cited from the FHIR R4 specification (http://hl7.org/fhir/R4/).
Diagnostics never echo element *values* (they may contain patient data); they
name the element and the rule instead.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fhir.resources.R4B import get_fhir_model_class

from triage_service.outcome import Issue, Severity

__all__ = [
    "ABSOLUTE_URI",
    "MAX_DEPTH",
    "MAX_STRING_CHARS",
    "OID_URN",
    "R4B_ONLY_RESOURCE_TYPES",
    "UUID_URN",
    "check_structure",
    "decode_base64_strict",
    "display_name",
    "is_resource_type",
    "json_type",
]

#: Deeper JSON than this is refused outright (FHIR resources are far shallower;
#: unbounded depth is a denial-of-service vector for every recursive walker).
MAX_DEPTH = 100
#: http://hl7.org/fhir/R4/datatypes.html#string: "strings SHALL NOT exceed 1MB
#: (1024*1024 characters) in size". base64Binary and xhtml are not strings.
MAX_STRING_CHARS = 1024 * 1024

# http://hl7.org/fhir/R4/datatypes.html#id: "[A-Za-z0-9\-\.]{1,64}".
_RESOURCE_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# RFC 3986 scheme; "absolute URI" means "has a scheme and something after it".
ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:\S+")
# http://hl7.org/fhir/R4/datatypes.html#oid and #uuid (lowercase, with the urn: prefix).
OID_URN = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+")
UUID_URN = re.compile(r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# The whitespace XML Schema allows inside base64Binary (space, tab, CR, LF); other
# Unicode "whitespace" such as U+00A0 is not base64 and stays to be refused.
_BASE64_WHITESPACE = re.compile("[ \t\r\n]+")
# http://hl7.org/fhir/R4/references.html#literal: relative references are
# [type]/[id] with an optional /_history/[vid]; in a transaction a conditional
# reference [type]?[search] is also allowed (http.html#trules).
_RELATIVE_REFERENCE = re.compile(r"(?P<type>[A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?")
_CONDITIONAL_REFERENCE = re.compile(r"(?P<type>[A-Z][A-Za-z]+)\?\S+")
# A RESTful fullUrl ends in [type]/[id] (bundle.html#bundle-unique).
_RESTFUL_TAIL = re.compile(r".*/(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})")
# Strings SHOULD NOT contain code points below 32 except tab, CR and LF
# (datatypes.html#string); NUL and friends also break databases and logs, so
# the service refuses them. Lone surrogates cannot be encoded as UTF-8 at all.
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")
# Active content that has no business in any FHIR string (stored-XSS guard for
# the specialist's viewer). Deliberately narrow: "<5 mg" or "a<b" pass.
_ACTIVE_CONTENT = re.compile(
    r"<\s*/?\s*(script|iframe|frame|frameset|object|embed|applet|form|style|link|meta|base|svg)\b",
    re.IGNORECASE,
)
# http://hl7.org/fhir/R4/narrative.html#xhtml (txt-1): no scripts, forms,
# frames, objects, head/body, base/link, event attributes or javascript: URLs.
_NARRATIVE_FORBIDDEN = re.compile(
    r"<\s*/?\s*(script|iframe|frame|frameset|object|embed|applet|form|input|button|select|"
    r"textarea|style|link|meta|base|head|body|html)\b"
    r"|<[^>]*\son[a-z]+\s*="
    r"|javascript\s*:",
    re.IGNORECASE,
)
_XHTML_NAMESPACE = re.compile(r"""<div\b[^>]*\sxmlns\s*=\s*["']http://www\.w3\.org/1999/xhtml["']""")
_TAG = re.compile(r"<[^>]*>")
# dateTime / instant lexical form, to compare Period.start and Period.end.
_DATE_TIME = re.compile(
    r"(?P<y>\d{4})(-(?P<m>\d{2})(-(?P<d>\d{2})"
    r"(T(?P<H>\d{2}):(?P<M>\d{2}):(?P<S>\d{2})(?P<f>\.\d+)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?"
)

# Attachment (http://hl7.org/fhir/R4/datatypes.html#Attachment) element names.
_ATTACHMENT_KEYS = frozenset(
    {"id", "extension", "contentType", "language", "data", "url", "size", "hash", "title", "creation"}
)
_PERIOD_KEYS = frozenset({"id", "extension", "start", "end"})
_NARRATIVE_KEYS = frozenset({"id", "extension", "status", "div"})
# Positions where a Signature (datatypes.html#Signature) sits in R4 resources.
_SIGNATURE_KEYS = frozenset({"signature", "sourceSignature", "proxySignature", "attestationSignature"})
# Strings that identify something: whitespace-only content there is never meaningful.
_IDENTIFYING_KEYS = frozenset({"id", "code", "system", "reference", "url", "fullUrl", "versionId"})
_PAGING_RELATIONS = frozenset({"first", "previous", "prev", "next", "last"})
_SINGLE_RELATIONS = _PAGING_RELATIONS | {"self"}
_ENTRY_REQUEST_TYPES = frozenset({"batch", "transaction", "history"})
_ENTRY_RESPONSE_TYPES = frozenset({"batch-response", "transaction-response", "history"})
_BUNDLE_TYPES = frozenset(
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
_NOT_RESOURCES = frozenset({"Resource", "DomainResource"})
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
    if not re.fullmatch(r"[A-Z][A-Za-z]{1,63}", name) or name in _NOT_RESOURCES or name in R4B_ONLY_RESOURCE_TYPES:
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
    compact = _BASE64_WHITESPACE.sub("", text)
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


def check_structure(resource: dict[str, Any], path: str | None = None) -> list[Issue]:
    """Return every structural problem in ``resource`` (a parsed JSON object).

    ``path`` is the FHIRPath prefix for expressions; it defaults to the
    resource type. Issues with severity ``fatal`` mean the content cannot be
    given to the model layer meaningfully (not a resource, unknown nested
    resource type, nesting too deep).
    """
    checker = _Checker()
    if not isinstance(resource, dict):
        checker.add("invalid", "A resource must be a JSON object", path, severity="fatal")
        return checker.issues
    resource_type = resource.get("resourceType")
    root = path or (resource_type if isinstance(resource_type, str) and _safe_name(resource_type) else "Resource")
    checker.resource(resource, root, depth=0, contained=False)
    return checker.issues


def _safe_name(name: str) -> bool:
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


def _parse_date_time(text: str) -> tuple[tuple[int, ...], int, datetime | None] | None:
    """Split a FHIR date/dateTime into (year, month, day), precision (1=year ..
    3=day, 4=time) and, for a full dateTime, the UTC instant; None if unparseable."""
    match = _DATE_TIME.fullmatch(text)
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


def _period_out_of_order(start: str, end: str) -> bool:
    """per-1: "If present, start SHALL have a lower value than end" (datatypes.html#Period),
    FHIRPath expression ``start <= end``.

    FHIRPath compares values of different precision on their common precision
    and yields *empty* (so the invariant fails) when they are equal there:
    start 2023-06-21 with end 2023-06-21T06:20:00Z fails, as the reference
    validator also decides; 2023-06-20 to 2023-06-21T06:20:00Z passes.
    """
    parsed_start, parsed_end = _parse_date_time(start), _parse_date_time(end)
    if parsed_start is None or parsed_end is None:
        return False
    (start_parts, start_precision, start_utc), (end_parts, end_precision, end_utc) = parsed_start, parsed_end
    if start_utc is not None and end_utc is not None:
        return start_utc > end_utc
    common = min(len(start_parts), len(end_parts))
    if start_parts[:common] != end_parts[:common]:
        return start_parts[:common] > end_parts[:common]
    return start_precision != end_precision


def _element_names(data: dict[Any, Any]) -> set[str]:
    """The element names of a JSON object, with '_x' primitive extensions counted as 'x'."""
    return {key.lstrip("_") for key in data if isinstance(key, str)}


def _iter_strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Every string value below ``value`` (not keys)."""
    if depth > MAX_DEPTH:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _iter_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from _iter_strings(item, depth + 1)


class _Checker:
    """One walk over one resource tree, collecting issues."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []
        # Element ids must be unique within a resource (Element.id: "Unique id
        # for the element within a resource"); one set per resource being walked.
        self._element_ids: list[set[str]] = []

    def add(self, code: str, diagnostics: str, expression: str | None, severity: Severity = "error") -> None:
        self.issues.append(Issue(code=code, diagnostics=diagnostics, expression=expression, severity=severity))

    # -- resources -------------------------------------------------------------------------

    def resource(self, data: Any, path: str, depth: int, contained: bool) -> None:
        """Check a value that sits where a resource must be."""
        if not isinstance(data, dict):
            self.add("structure", f"A resource must be a JSON object, not {json_type(data)}", path, "fatal")
            return
        resource_type = data.get("resourceType")
        if not isinstance(resource_type, str) or not resource_type:
            # http://hl7.org/fhir/R4/json.html#resources: "resourceType" is always present.
            self.add("required", "The resource has no 'resourceType' string", path, "fatal")
            return
        if not is_resource_type(resource_type):
            shown = f" '{resource_type}'" if _safe_name(resource_type) else ""
            self.add("not-supported", f"Resource type{shown} is not a FHIR R4 resource type", path, "fatal")
            return
        self._element_ids.append(set())
        try:
            self._resource_rules(data, path, resource_type, contained)
            self.obj(data, path, depth, parent_key=None)
        finally:
            self._element_ids.pop()

    def _resource_rules(self, data: dict[str, Any], path: str, resource_type: str, contained: bool) -> None:
        resource_id = data.get("id")
        if resource_id is not None and (not isinstance(resource_id, str) or not _RESOURCE_ID.fullmatch(resource_id)):
            # datatypes.html#id; fhir.resources allows 255 characters.
            self.add(
                "value",
                "Resource id must be a string of 1-64 characters from A-Z, a-z, 0-9, '-' and '.'",
                f"{path}.id",
            )
        if contained:
            self._contained_resource_rules(data, path)
        if isinstance(data.get("contained"), list):
            self._container_rules(data, path)
        if resource_type == "Bundle":
            self._bundle_rules(data, path)
        elif resource_type == "Binary" and "data" in data:
            self.base64(data["data"], f"{path}.data")

    def _contained_resource_rules(self, data: dict[str, Any], path: str) -> None:
        # http://hl7.org/fhir/R4/domainresource.html#invs
        if "contained" in data:
            self.add(
                "invariant", "A contained resource SHALL NOT contain nested resources (dom-2)", f"{path}.contained"
            )
        meta = data.get("meta")
        if isinstance(meta, dict):
            if "versionId" in meta or "lastUpdated" in meta:
                self.add(
                    "invariant",
                    "A contained resource SHALL NOT have meta.versionId or meta.lastUpdated (dom-4)",
                    f"{path}.meta",
                )
            if "security" in meta:
                self.add("invariant", "A contained resource SHALL NOT have a security label (dom-5)", f"{path}.meta")
        if "id" not in data:
            # references.html#contained: contained resources are referenced by '#id'.
            self.add("required", "A contained resource must have an id", path)

    def _container_rules(self, data: dict[str, Any], path: str) -> None:
        contained = data["contained"]
        seen: set[str] = set()
        local_refs: set[str] | None = None
        for index, item in enumerate(contained):
            if not isinstance(item, dict):
                continue
            item_id = item.get("id")
            if not isinstance(item_id, str):
                continue
            item_path = f"{path}.contained[{index}]"
            if item_id in seen:
                self.add("invariant", "Two contained resources have the same id", f"{item_path}.id")
            seen.add(item_id)
            # dom-3: a contained resource SHALL be referenced from elsewhere in the
            # resource or SHALL refer to the containing resource ('#').
            if local_refs is None:
                local_refs = {text for text in _iter_strings(data) if text.startswith("#")}
            if f"#{item_id}" not in local_refs and not any(text == "#" for text in _iter_strings(item)):
                self.add(
                    "invariant",
                    "Contained resource is not referenced from the containing resource "
                    "and does not refer to it (dom-3)",
                    item_path,
                )

    # -- Bundle ----------------------------------------------------------------------------

    def _bundle_rules(self, bundle: dict[str, Any], path: str) -> None:
        """http://hl7.org/fhir/R4/bundle.html#invs and the fullUrl rules of bundle.html#bundle-unique."""
        # Only known types drive the type-dependent rules (an unknown type is a
        # binding error reported by the model layer, and is never echoed).
        raw_type = bundle.get("type")
        bundle_type = raw_type if isinstance(raw_type, str) and raw_type in _BUNDLE_TYPES else None
        if "total" in bundle and bundle_type not in ("searchset", "history"):
            self.add("invariant", "total only when a search or history (bdl-1)", f"{path}.total")
        self._bundle_links(bundle, path, bundle_type)
        entries = bundle.get("entry")
        if not isinstance(entries, list):
            return
        search_types = self._searched_types(bundle) if bundle_type == "searchset" else None
        full_urls: dict[str, list[str | None]] = {}
        for index, entry in enumerate(entries):
            entry_path = f"{path}.entry[{index}]"
            if not isinstance(entry, dict):
                continue
            resource = entry.get("resource")
            if "resource" not in entry and "request" not in entry and "response" not in entry:
                self.add(
                    "invariant", "A bundle entry must have a resource, a request or a response (bdl-5)", entry_path
                )
            if bundle_type is not None:
                self._entry_request_response(entry, entry_path, bundle_type)
            if "search" in entry and bundle_type != "searchset":
                self.add("invariant", "entry.search only when a search (bdl-2)", f"{entry_path}.search")
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url:
                self._full_url(full_url, resource, f"{entry_path}.fullUrl")
                version = None
                if isinstance(resource, dict) and isinstance(resource.get("meta"), dict):
                    raw_version = resource["meta"].get("versionId")
                    version = raw_version if isinstance(raw_version, str) else None
                full_urls.setdefault(full_url, []).append(version)
            if bundle_type == "searchset" and isinstance(resource, dict):
                self._search_entry(entry, resource, entry_path, search_types)
        if bundle_type != "history":
            # bdl-7: "FullUrl must be unique in a bundle, or else entries with the
            # same fullUrl must have different meta.versionId (except in history bundles)".
            for versions in full_urls.values():
                if len(versions) > 1 and (None in versions or len(set(versions)) != len(versions)):
                    self.add(
                        "invariant",
                        "The same fullUrl is used by more than one entry without distinct meta.versionId (bdl-7)",
                        f"{path}.entry",
                    )
                    break

    def _bundle_links(self, bundle: dict[str, Any], path: str, bundle_type: str | None) -> None:
        links = bundle.get("link")
        if not isinstance(links, list):
            return
        seen: set[str] = set()
        for index, link in enumerate(links):
            if not isinstance(link, dict) or not isinstance(link.get("relation"), str):
                continue
            relation = link["relation"]
            link_path = f"{path}.link[{index}].relation"
            if relation in _SINGLE_RELATIONS and relation in seen:
                self.add("invariant", f"The link relation '{relation}' can only occur once", link_path)
            seen.add(relation)
            if relation in _PAGING_RELATIONS and bundle_type not in ("searchset", "history", None):
                self.add(
                    "invariant",
                    f"The paging link relation '{relation}' is only allowed in a searchset or history",
                    link_path,
                )

    @staticmethod
    def _searched_types(bundle: dict[str, Any]) -> set[str] | None:
        """Resource types a searchset's self link asked for, when that can be told."""
        links = bundle.get("link")
        for link in links if isinstance(links, list) else []:
            if not isinstance(link, dict) or link.get("relation") != "self" or not isinstance(link.get("url"), str):
                continue
            parts = urlsplit(link["url"])
            last = parts.path.rstrip("/").rsplit("/", 1)[-1]
            if is_resource_type(last):
                return {last}
            types = parse_qs(parts.query).get("_type")
            if types:
                names = {name.strip() for value in types for name in value.split(",")}
                if names and all(is_resource_type(name) for name in names):
                    return names
        return None

    def _entry_request_response(self, entry: dict[str, Any], entry_path: str, bundle_type: str) -> None:
        needs_request = bundle_type in _ENTRY_REQUEST_TYPES
        needs_response = bundle_type in _ENTRY_RESPONSE_TYPES
        request = entry.get("request")
        if needs_request and request is None:
            self.add(
                "required",
                f"Every entry of a {bundle_type} Bundle must have a request (bdl-3)",
                f"{entry_path}.request",
            )
        elif not needs_request and "request" in entry:
            self.add(
                "invariant", f"A {bundle_type} Bundle entry must not have a request (bdl-3)", f"{entry_path}.request"
            )
        if isinstance(request, dict):
            for element in ("method", "url"):
                if element not in request:
                    self.add("required", f"entry.request.{element} is required", f"{entry_path}.request.{element}")
        if needs_response and "response" not in entry:
            self.add(
                "required",
                f"Every entry of a {bundle_type} Bundle must have a response (bdl-4)",
                f"{entry_path}.response",
            )
        elif not needs_response and "response" in entry:
            self.add(
                "invariant", f"A {bundle_type} Bundle entry must not have a response (bdl-4)", f"{entry_path}.response"
            )

    def _full_url(self, full_url: str, resource: Any, path: str) -> None:
        # bundle.html: fullUrl is an absolute URI; the service accepts the three
        # forms references can resolve against: urn:uuid, urn:oid and http(s) URLs.
        lowered = full_url.lower()
        if lowered.startswith("urn:uuid:"):
            if not UUID_URN.fullmatch(full_url):
                self.add("value", "fullUrl 'urn:uuid:' must be followed by a valid lowercase UUID", path)
            return
        if lowered.startswith("urn:oid:"):
            if not OID_URN.fullmatch(full_url):
                self.add("value", "fullUrl 'urn:oid:' must be followed by a valid OID", path)
            return
        parts = urlsplit(full_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in full_url):
            self.add(
                "value",
                "fullUrl must be an absolute URI: urn:uuid:<uuid>, urn:oid:<oid> or an http(s) URL",
                path,
            )
            return
        if "/_history/" in full_url:
            self.add("invariant", "fullUrl cannot be a version specific reference (bdl-8)", path)
            return
        # "fullUrl SHALL NOT disagree with the id in the resource" (bundle.html#bundle-unique)
        tail = _RESTFUL_TAIL.fullmatch(parts.path)
        if tail and is_resource_type(tail["type"]) and isinstance(resource, dict):
            resource_id = resource.get("id")
            if tail["type"] != resource.get("resourceType") or (
                isinstance(resource_id, str) and tail["id"] != resource_id
            ):
                self.add(
                    "invariant",
                    "fullUrl looks like a RESTful URL but does not end with the resource's type and id",
                    path,
                )

    def _search_entry(
        self, entry: dict[str, Any], resource: dict[str, Any], entry_path: str, search_types: set[str] | None
    ) -> None:
        search = entry.get("search")
        mode = search.get("mode") if isinstance(search, dict) else None
        resource_type = resource.get("resourceType")
        if mode == "outcome" and resource_type != "OperationOutcome":
            self.add(
                "invariant", "An entry with search.mode 'outcome' must be an OperationOutcome", f"{entry_path}.resource"
            )
        if mode in ("match", "include") and "id" not in resource:
            self.add("required", "Search results must have ids", f"{entry_path}.resource.id")
        if (
            mode == "match"
            and search_types is not None
            and not (isinstance(resource_type, str) and resource_type in search_types)
        ):
            self.add(
                "invariant",
                "A search match is not of the resource type that was searched for",
                f"{entry_path}.resource",
            )

    # -- generic JSON walk -----------------------------------------------------------------

    def value(self, value: Any, path: str, depth: int, key: str) -> None:
        if depth > MAX_DEPTH:
            self.add("structure", f"JSON is nested deeper than {MAX_DEPTH} levels", path, "fatal")
            return
        if isinstance(value, dict):
            if "resourceType" in value:
                self.resource(value, path, depth, contained=False)
            else:
                self.obj(value, path, depth, parent_key=key)
        elif isinstance(value, str):
            self.string(value, path, key)
        elif isinstance(value, float) and not math.isfinite(value):
            self.add("structure", "NaN and Infinity are not JSON numbers", path)

    def obj(self, data: dict[str, Any], path: str, depth: int, parent_key: str | None) -> None:
        if not data:
            # ele-1: "All FHIR elements must have a @value or children"
            self.add(
                "structure", "Empty objects are not allowed (ele-1: an element must have a value or children)", path
            )
            return
        if depth > MAX_DEPTH:
            self.add("structure", f"JSON is nested deeper than {MAX_DEPTH} levels", path, "fatal")
            return
        is_resource = "resourceType" in data
        is_extension = parent_key in ("extension", "modifierExtension")
        if is_resource:
            base64_keys = {"data"} if data.get("resourceType") == "Binary" else set()
        else:
            base64_keys = self._element_shape_rules(data, path, parent_key)
        for key, child in data.items():
            child_path = f"{path}.{key}"
            if not isinstance(key, str) or not key or key != key.strip():
                self.add(
                    "structure", f"Element name {display_name(str(key))} has leading or trailing whitespace", child_path
                )
                continue
            if key == "fhir_comments":
                # DSTU2 JSON comments; json.html (R4) has no comments at all.
                self.add("structure", "Unknown element 'fhir_comments' (not in FHIR R4)", child_path)
                continue
            if key == "resourceType":
                continue
            if child is None:
                # json.html: "null" is never a valid value of a JSON property.
                self.add("structure", f"Element {display_name(key)} is null; omit the element instead", child_path)
                continue
            if isinstance(child, list):
                self.array(data, key, child, path, depth + 1, parent_is_extension=is_extension)
                continue
            if key.startswith("_") and isinstance(data.get(key[1:]), list):
                self.add(
                    "structure", f"{display_name(key)} must be an array because {display_name(key[1:])} is", child_path
                )
            if key == "id" and not is_resource and parent_key != "element":
                # ElementDefinition.id repeats between snapshot and differential by design.
                self._element_id(child, child_path)
            if key in base64_keys:
                continue  # decoded strictly by the shape rules above
            if key.endswith("Base64Binary"):
                self.base64(child, child_path)
                continue
            if key == "div" and isinstance(child, str) and self._is_narrative(data):
                continue  # checked by the Narrative rules
            if (
                key in ("resource", "outcome")
                and isinstance(child, dict)
                and ("resourceType" in child or (key == "resource" and parent_key in ("entry", "parameter", "part")))
            ):
                # Bundle.entry.resource, Parameters.parameter.resource, entry.response.outcome
                self.resource(child, child_path, depth + 1, contained=False)
                continue
            self.value(child, child_path, depth + 1, key)

    def array(
        self, parent: dict[str, Any], key: str, items: list[Any], path: str, depth: int, parent_is_extension: bool
    ) -> None:
        array_path = f"{path}.{key}"
        if not items:
            # json.html: "arrays are never empty" (an element with no values is omitted).
            self.add("structure", f"Empty arrays are not allowed; omit {display_name(key)} instead", array_path)
            return
        partner_key = key[1:] if key.startswith("_") else f"_{key}"
        partner: Any = parent.get(partner_key)
        if partner is not None and not isinstance(partner, list):
            if key.startswith("_"):
                self.add(
                    "structure", f"{display_name(key)} is an array but {display_name(partner_key)} is not", array_path
                )
            partner = None
        elif isinstance(partner, list) and len(partner) != len(items):
            if not key.startswith("_"):
                # json.html#primitive: the _x array has one entry (or null) per value.
                self.add(
                    "structure",
                    f"{display_name(key)} and {display_name(partner_key)} must have the same number of entries",
                    array_path,
                )
            partner = None
        is_extension_list = key in ("extension", "modifierExtension")
        is_resource_list = key == "contained" and "resourceType" in parent
        for index, item in enumerate(items):
            item_path = f"{array_path}[{index}]"
            if item is None:
                # Only primitive arrays and their _x siblings may hold null, and only
                # as a placeholder for an entry the other array fills (json.html#primitive).
                if partner is None or partner[index] is None:
                    self.add(
                        "structure",
                        f"Null in array {display_name(key)} (only allowed as a placeholder aligned with the '_' array)",
                        item_path,
                    )
                continue
            if isinstance(item, list):
                self.add("structure", "Arrays of arrays do not exist in FHIR JSON", item_path)
                continue
            if is_resource_list:
                self.resource(item, item_path, depth + 1, contained=True)
                continue
            if is_extension_list:
                if not isinstance(item, dict):
                    self.add("structure", f"An extension must be a JSON object, not {json_type(item)}", item_path)
                    continue
                self._extension(item, item_path, nested=parent_is_extension)
            if key.endswith("Base64Binary"):
                self.base64(item, item_path)
                continue
            self.value(item, item_path, depth + 1, key)

    def string(self, text: str, path: str, key: str) -> None:
        if not text:
            # json.html#primitive: "property values can never be empty strings".
            self.add("structure", "Empty strings are not allowed; omit the element instead", path)
            return
        if key in _IDENTIFYING_KEYS and text.isspace():
            self.add("value", f"{display_name(key)} must not consist of whitespace only", path)
            return
        if len(text) > MAX_STRING_CHARS:
            self.add("value", f"String exceeds the FHIR limit of {MAX_STRING_CHARS} characters", path)
        if _BAD_CHARS.search(text):
            self.add("value", "String contains control characters or unpaired surrogates", path)
        if _ACTIVE_CONTENT.search(text):
            self.add("value", "String contains embedded active HTML content (script, iframe, ...)", path)

    # -- datatype-shaped rules -------------------------------------------------------------

    @staticmethod
    def _is_attachment(data: dict[str, Any]) -> bool:
        names = _element_names(data)
        return names <= _ATTACHMENT_KEYS and bool(names & {"data", "hash", "size", "contentType"})

    @staticmethod
    def _is_narrative(data: dict[str, Any]) -> bool:
        return _element_names(data) <= _NARRATIVE_KEYS

    def _element_shape_rules(self, data: dict[str, Any], path: str, parent_key: str | None) -> set[str]:
        """Rules for datatypes recognised by shape; returns the keys already
        decoded as base64Binary (so the generic string rules skip them)."""
        base64_keys: set[str] = set()
        if self._is_attachment(data):
            self._attachment(data, path)
            base64_keys = {"data", "hash"}
        elif "data" in data and (parent_key in _SIGNATURE_KEYS or {"who", "when"} <= data.keys()):
            self.base64(data["data"], f"{path}.data")  # Signature.data is base64Binary
            base64_keys = {"data"}
        if self._is_narrative(data) and "div" in data:
            self._narrative(data["div"], f"{path}.div")
        if _element_names(data) <= _PERIOD_KEYS:
            start, end = data.get("start"), data.get("end")
            if isinstance(start, str) and isinstance(end, str) and _period_out_of_order(start, end):
                self.add("invariant", "Period start SHALL have a lower value than end (per-1)", path)
        reference = data.get("reference")
        if isinstance(reference, str) and reference:
            self._reference(reference, f"{path}.reference")
        return base64_keys

    def _attachment(self, data: dict[str, Any], path: str) -> None:
        """datatypes.html#Attachment: data is base64Binary, size its decoded length,
        hash the base64 SHA-1 of it; att-1: data needs a contentType."""
        decoded: bytes | None = None
        if "data" in data:
            if "contentType" not in data:
                self.add("invariant", "An Attachment with data SHALL have a contentType (att-1)", f"{path}.contentType")
            decoded = self.base64(data["data"], f"{path}.data")
        size = data.get("size")
        if decoded is not None and isinstance(size, int) and not isinstance(size, bool) and size != len(decoded):
            self.add("value", "Attachment size does not match the length of the decoded data", f"{path}.size")
        if "hash" in data:
            digest = self.base64(data["hash"], f"{path}.hash")
            # Only comparable when the data is inline; with just a url the hash
            # cannot be verified here (and HL7's own examples carry hex-in-base64).
            if digest is not None and decoded is not None and hashlib.sha1(decoded).digest() != digest:  # noqa: S324 - FHIR R4 mandates SHA-1 here
                self.add("value", "Attachment hash is not the base64 SHA-1 of the decoded data", f"{path}.hash")

    def base64(self, value: Any, path: str) -> bytes | None:
        if not isinstance(value, str):
            self.add("structure", f"base64Binary must be a JSON string, not {json_type(value)}", path)
            return None
        if not value:
            self.add("structure", "Empty strings are not allowed; omit the element instead", path)
            return None
        try:
            return decode_base64_strict(value)
        except ValueError as exc:
            self.add("value", f"Invalid base64Binary content: {exc}", path)
            return None

    def _narrative(self, div: Any, path: str) -> None:
        """narrative.html#xhtml: the div is XHTML with a <div> root in the XHTML namespace."""
        if not isinstance(div, str):
            self.add("structure", f"Narrative div must be a JSON string, not {json_type(div)}", path)
            return
        stripped = div.strip()
        if not stripped.startswith("<div") or (not stripped.endswith("</div>") and not stripped.endswith("/>")):
            self.add("value", "Narrative div must be a single <div> element", path)
            return
        if not _XHTML_NAMESPACE.match(stripped):
            self.add("value", 'Narrative div must declare xmlns="http://www.w3.org/1999/xhtml"', path)
        if _NARRATIVE_FORBIDDEN.search(stripped):
            self.add(
                "invariant",
                "Narrative contains forbidden XHTML (scripts, forms, frames, objects, event attributes; txt-1)",
                path,
            )
        if _BAD_CHARS.search(stripped):
            self.add("value", "Narrative contains control characters or unpaired surrogates", path)
        # txt-2: "The narrative SHALL have some non-whitespace content"
        if not _TAG.sub("", stripped).strip() and "<img" not in stripped.lower():
            self.add("invariant", "Narrative SHALL have some non-whitespace content (txt-2)", path)

    def _reference(self, reference: str, path: str) -> None:
        """references.html#literal: an absolute URL, a relative [type]/[id],
        '#local' for contained resources, or urn:uuid/urn:oid within a Bundle."""
        if reference.isspace() or any(ch.isspace() for ch in reference):
            self.add("value", "Reference.reference must not contain whitespace", path)
            return
        if reference.startswith("#"):
            return
        lowered = reference.lower()
        if lowered.startswith("urn:uuid:"):
            if not UUID_URN.fullmatch(reference):
                self.add("value", "Reference 'urn:uuid:' must be followed by a valid lowercase UUID", path)
            return
        if lowered.startswith("urn:oid:"):
            if not OID_URN.fullmatch(reference):
                self.add("value", "Reference 'urn:oid:' must be followed by a valid OID", path)
            return
        if ABSOLUTE_URI.match(reference):
            return
        match = _RELATIVE_REFERENCE.fullmatch(reference) or _CONDITIONAL_REFERENCE.fullmatch(reference)
        if match is None or not is_resource_type(match["type"]):
            self.add(
                "value",
                "Relative references must be of the form [ResourceType]/[id] (or a conditional [ResourceType]?[query])",
                path,
            )

    def _extension(self, ext: dict[str, Any], path: str, nested: bool) -> None:
        """extensibility.html: url is required (absolute unless inside a complex
        extension) and ext-1: "Must have either extensions or value[x], not both"."""
        url = ext.get("url")
        if url is None:
            self.add("required", "Extension.url is required", f"{path}.url")
        elif isinstance(url, str) and url and not nested and not ABSOLUTE_URI.fullmatch(url):
            self.add("value", "Extension.url must be an absolute URL", f"{path}.url")
        values = {name for name in _element_names(ext) if name.startswith("value") and name[5:6].isupper()}
        has_children = "extension" in ext
        if len(values) > 1:
            self.add("structure", "An extension can have only one value[x]", path)
        if has_children and values:
            self.add("invariant", "Must have either extensions or value[x], not both (ext-1)", path)
        elif not has_children and not values:
            self.add("invariant", "Must have either extensions or value[x] (ext-1)", path)

    def _element_id(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value:
            return  # reported as a type / empty-string problem elsewhere
        if not self._element_ids:
            return
        ids = self._element_ids[-1]
        if value in ids:
            self.add("value", "Duplicate element id within the resource", path)
        ids.add(value)
