"""Strict parsing of incoming FHIR JSON: bytes -> dict -> fhir.resources model.

Every request body goes through this layer *before* profile validation:

1. :func:`parse_json_body` turns raw bytes into a JSON value, refusing what
   ``json.loads`` would quietly accept: non-UTF-8 bytes, duplicate object keys
   (the last one would silently win), ``NaN``/``Infinity`` and numbers that
   overflow to infinity, and a top level that is not a resource object.
2. :func:`parse_resource` runs :func:`~triage_service.fhir.structure.check_structure`
   (nulls, empty arrays/objects/strings, strict base64, Attachment size/hash,
   fullUrl, extension, narrative, reference and contained-resource rules),
   then walks the raw JSON alongside the fhir.resources **R4B** field metadata
   (computed once per model class) to close the gaps pydantic leaves open,
   then validates with the R4B model class (cardinality, unknown elements,
   date/time and other lexical formats):

   * JSON types of primitives: pydantic's lax mode turns ``"yes"`` into
     ``True``, ``"5"`` into ``5`` and even parses a JSON *string* as an object
     where a complex element belongs; FHIR JSON (http://hl7.org/fhir/R4/json.html)
     fixes the JSON type of every primitive;
   * required bindings: ``json_schema_extra["enum_values"]`` of ``code``
     fields (e.g. ``ServiceRequest.status``), which fhir.resources does not check;
   * uri/url/canonical rules (no whitespace, absolute where FHIR demands it,
     valid lowercase ``urn:uuid:``), and strict base64 for every base64Binary field.

   Issues of the three layers are merged so one problem is reported once,
   by the layer that explains it best.

All problems come back as :class:`~triage_service.outcome.Issue` objects with
a FHIRPath-style ``expression`` (``ServiceRequest.reasonCode[0].coding[1].system``);
nothing here raises for bad input. Diagnostics say what is wrong, never the
offending value, because values may be patient data.
"""

from __future__ import annotations

import json
import logging
import math
import re
import types
import typing
import uuid
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, get_args, get_origin

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase
from pydantic import ValidationError

from triage_service.fhir.structure import (
    ABSOLUTE_URI,
    MAX_DEPTH,
    OID_URN,
    UUID_URN,
    check_structure,
    decode_base64_strict,
    display_name,
    is_resource_type,
    json_type,
)
from triage_service.outcome import Issue

__all__ = ["ParseResult", "parse_json_body", "parse_resource"]

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_\-]{0,63}")

# FHIR primitive type -> the JSON type json.html prescribes for it.
_JSON_BOOLEAN = frozenset({"boolean"})
_JSON_INTEGER = frozenset({"integer", "unsignedInt", "positiveInt"})
_JSON_NUMBER = frozenset({"decimal"})
_URI_TYPES = frozenset({"uri", "url", "canonical", "oid", "uuid"})

# pydantic error types that mean "wrong JSON shape" rather than "bad value".
_STRUCTURE_ERRORS = frozenset(
    {
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "string_type",
        "int_type",
        "bool_type",
        "float_type",
        "bytes_type",
        "decimal_type",
        "json_invalid",
        "json_type",
        "model_validation_format",
        "is_instance_of",
        "none_required",
        "fhir-validation-missing-resource-type",
        "fhir-validation-wrong-resource-type",
    }
)
# What the JSON should have been, for the common shape errors.
_EXPECTED_JSON = {
    "list_type": "array",
    "dict_type": "object",
    "model_type": "object",
    "model_attributes_type": "object",
    "json_invalid": "object",  # fhir.resources tried to parse a string as an object
    "json_type": "object",
    "string_type": "string",
    "int_type": "integer",
    "bool_type": "boolean",
    "float_type": "number",
    "decimal_type": "number",
}
_MISSING_ERRORS = frozenset({"missing", "model_field_validation.missing"})
# Parts of a pydantic error location that are validator internals, not elements.
_INTERNAL_LOC_PARTS = frozenset({"root", "str", "int", "float", "bool", "bytes", "list", "dict", "none"})
_LOC_RENAMES = {"resource_type": "resourceType"}
# fhir.resources derives enum_values from the element's short description. For
# these the description is not a required value set, so the list must not be
# used to refuse codes: CapabilityStatement.format is any MIME type
# ("xml | json | ttl | mime type"), Expression.language is an extensible binding.
_NOT_REQUIRED_BINDINGS = frozenset({("CapabilityStatement", "format"), ("Expression", "language")})
# base64Binary elements that check_structure reliably decodes already (Binary by
# its resourceType, a model-valid Attachment by its shape, with the size/hash
# rules): decoding a large photo twice is wasted time.
_BASE64_CHECKED_BY_STRUCTURE = frozenset({("Attachment", "data"), ("Attachment", "hash"), ("Binary", "data")})


@dataclass
class ParseResult:
    """Outcome of :func:`parse_resource`.

    ``model`` is set only when there are no error issues, so a caller can
    never store or act on a resource that failed a check.
    """

    model: FHIRAbstractModel | None
    issues: list[Issue] = field(default_factory=list)
    resource_type: str | None = None

    @property
    def ok(self) -> bool:
        return self.model is not None and not any(issue.is_error for issue in self.issues)


# ---------------------------------------------------------------------------------------
# JSON body
# ---------------------------------------------------------------------------------------


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
                    f"Duplicate JSON property {display_name(key)} (each property may occur only once)",
                    f"{path}.{key}",
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


def parse_json_body(raw: bytes) -> tuple[Any, list[Issue]]:
    """Parse a request body as strict FHIR JSON.

    Returns ``(value, [])`` on success, ``(None, issues)`` otherwise; never raises.
    http://hl7.org/fhir/R4/json.html: UTF-8, one JSON object with a
    ``resourceType``. A UTF-8 byte order mark is tolerated (some .NET
    clients send one); any other encoding is refused.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return None, [Issue("structure", "Request body must be bytes")]
    data = bytes(raw)
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Issue("structure", f"Request body is not valid UTF-8 (invalid byte at offset {exc.start})")]
    try:
        value = json.loads(
            text, object_pairs_hook=_object_hook, parse_constant=_reject_constant, parse_float=_parse_float
        )
    except _NonFiniteNumber:
        return None, [
            Issue("structure", "JSON numbers must be finite: NaN, Infinity and overflowing numbers are not allowed")
        ]
    except json.JSONDecodeError as exc:
        return None, [
            Issue("structure", f"Request body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
        ]
    except RecursionError:
        return None, [Issue("structure", "Request body JSON is nested too deeply")]
    except ValueError:  # e.g. an integer literal longer than Python allows
        return None, [Issue("structure", "Request body contains a number that cannot be represented")]
    if _more_elements_than(value, MAX_JSON_ELEMENTS):
        # Validation cost grows with the number of elements, not bytes: a 15 MB body of 200,000
        # reason codes held a worker for a minute. Checked first, before any recursive walk.
        return None, [Issue("too-costly", f"The resource has more than {MAX_JSON_ELEMENTS} JSON elements; a consult "
                                          "request needs a few hundred (photos count as one element each)")]
    resource_type = value.get("resourceType") if isinstance(value, dict) else None
    root = resource_type if isinstance(resource_type, str) and _SAFE_NAME.fullmatch(resource_type) else "$"
    duplicates = _duplicate_key_issues(value, root)
    if duplicates:
        return None, duplicates
    if not isinstance(value, dict):
        return None, [Issue("invalid", "Request body must be a JSON object (a FHIR resource)")]
    if not isinstance(resource_type, str) or not resource_type.strip():
        return None, [Issue("invalid", "The resource has no 'resourceType' string property", "resourceType")]
    return value, []


# ---------------------------------------------------------------------------------------
# Model field metadata (computed once per model class)
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    attr: str  # python attribute on the model
    name: str  # JSON element name
    is_list: bool  # the element repeats (a JSON array)
    primitive: str | None  # FHIR primitive type name; None for complex elements and resources
    element_class: type[FHIRAbstractModel] | None  # model of a complex element
    resource_position: bool  # holds any resource (contained, entry.resource): class from resourceType
    allowed: frozenset[str] | None  # required binding codes, when complete
    allowed_text: str
    decode_base64: bool  # a base64Binary that check_structure does not decode already


def _unwrap(annotation: Any) -> tuple[Any, tuple[Any, ...], bool]:
    """Strip Optional/List/Annotated from a field annotation: (base type, metadata, is_list)."""
    metadata: tuple[Any, ...] = ()
    is_list = False
    current = annotation
    while True:
        origin = get_origin(current)
        if origin in (typing.Union, types.UnionType):
            args = [arg for arg in get_args(current) if arg is not type(None)]
            if len(args) != 1:
                return current, metadata, is_list  # e.g. Union[AnyUrl, str] under Url()
            current = args[0]
        elif origin is list:
            is_list = True
            current = get_args(current)[0]
        elif origin is Annotated:
            metadata += tuple(current.__metadata__)
            current = get_args(current)[0]
        else:
            return current, metadata, is_list


def _primitive_type(base: Any, metadata: tuple[Any, ...]) -> str | None:
    for item in metadata:
        visit_name = getattr(item, "__visit_name__", None)
        if isinstance(visit_name, str):
            return visit_name
    if isinstance(base, type):
        if issubclass(base, FhirBase):
            return None
        if base is bool:
            return "boolean"
        if base is uuid.UUID:
            return "uuid"
        if base is int:
            return "integer"
        if base is str:
            return "string"
    return None


@cache
def _is_resource_class(klass: type[FHIRAbstractModel]) -> bool:
    return bool(klass.has_resource_base())


@cache
def _fields(klass: type[FHIRAbstractModel]) -> dict[str, _Field]:
    """JSON name -> field metadata of a model class; reflection happens once per class."""
    fields: dict[str, _Field] = {}
    for attr, info in klass.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        name = info.alias or attr
        if attr == "fhir_comments":
            continue
        base, metadata, is_list = _unwrap(info.annotation)
        primitive = None if attr.endswith("__ext") else _primitive_type(base, metadata)
        element_class: type[FHIRAbstractModel] | None = None
        resource_position = False
        if primitive is None and isinstance(base, type) and issubclass(base, FhirBase):
            model_class = base.get_model_klass()
            if _is_resource_class(model_class):
                resource_position = True  # abstract Resource: the value's resourceType decides
            else:
                element_class = model_class
        raw_enum = extra.get("enum_values")
        enum_values = [str(code) for code in raw_enum] if isinstance(raw_enum, list) else []
        allowed: frozenset[str] | None = None
        # fhir.resources truncates long value sets with a trailing "+": such a
        # list is incomplete and cannot be used to refuse a code.
        if (
            enum_values
            and primitive == "code"
            and (klass.__name__, name) not in _NOT_REQUIRED_BINDINGS
            and not any(code in ("+", "etc.") or not code.strip() or " " in code for code in enum_values)
        ):
            allowed = frozenset(enum_values)
        fields[name] = _Field(
            attr=attr,
            name=name,
            is_list=is_list,
            primitive=primitive,
            element_class=element_class,
            resource_position=resource_position,
            allowed=allowed,
            allowed_text=", ".join(enum_values) if allowed else "",
            decode_base64=primitive == "base64Binary" and (klass.__name__, name) not in _BASE64_CHECKED_BY_STRUCTURE,
        )
    return fields


def _resource_class(resource_type: str) -> type[FHIRAbstractModel] | None:
    if not is_resource_type(resource_type):
        return None
    return get_fhir_model_class(resource_type)


# ---------------------------------------------------------------------------------------
# Typed walk: raw JSON alongside the model field metadata
# ---------------------------------------------------------------------------------------


class _TypedWalk:
    """Walk the raw JSON alongside the (cached) model field metadata.

    Runs before pydantic so that every JSON-type problem is reported at its
    element, in words a developer understands, and so that fhir.resources
    never sees a number or array where its url validator expects a string
    (it raises TypeError there instead of a validation error).
    """

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def resource(self, raw: dict[str, Any], path: str, depth: int) -> None:
        resource_type = raw.get("resourceType")
        if isinstance(resource_type, str) and is_resource_type(resource_type):
            self.element(get_fhir_model_class(resource_type), raw, path, depth, in_resource=True)
        # anything else is a fatal structure issue reported by check_structure

    def element(
        self, klass: type[FHIRAbstractModel], raw: dict[str, Any], path: str, depth: int, in_resource: bool = False
    ) -> None:
        if depth > MAX_DEPTH:
            return
        fields = _fields(klass)
        for key, value in raw.items():
            meta = fields.get(key) if isinstance(key, str) else None
            if meta is None or value is None:
                continue  # unknown elements and nulls are reported by the other layers
            child_path = f"{path}.{key}"
            if isinstance(value, list):
                if not meta.is_list:
                    self.add(
                        "structure", f"Element {display_name(key)} does not repeat: it must not be an array", child_path
                    )
                    continue
                for index, item in enumerate(value):
                    self.item(meta, item, f"{child_path}[{index}]", in_resource, depth)
            elif meta.is_list:
                self.add(
                    "structure",
                    f"Element {display_name(key)} must be a JSON array, not a {json_type(value)}",
                    child_path,
                )
            else:
                self.item(meta, value, child_path, in_resource, depth)

    def item(self, meta: _Field, value: Any, path: str, in_resource: bool, depth: int) -> None:
        if value is None or isinstance(value, list):
            return  # null placeholders and arrays of arrays: check_structure
        if meta.primitive is None:
            if not isinstance(value, dict):
                # fhir.resources would even json-parse a *string* here into the object.
                self.add(
                    "structure",
                    f"Element {display_name(meta.name)} must be a JSON object, not a {json_type(value)}",
                    path,
                )
            elif meta.resource_position:
                self.resource(value, path, depth + 1)
            elif meta.element_class is not None:
                self.element(meta.element_class, value, path, depth + 1)
            return
        self.primitive(meta, value, path, in_resource)

    def primitive(self, meta: _Field, value: Any, path: str, in_resource: bool) -> None:
        kind = meta.primitive
        if kind in _JSON_BOOLEAN:
            expected_ok, expected = isinstance(value, bool), "boolean (true/false)"
        elif kind in _JSON_INTEGER:
            expected_ok, expected = isinstance(value, int) and not isinstance(value, bool), "integer number"
        elif kind in _JSON_NUMBER:
            expected_ok, expected = isinstance(value, (int, float)) and not isinstance(value, bool), "number"
        else:
            expected_ok, expected = isinstance(value, str), "string"
        if not expected_ok:
            # json.html#primitive: the JSON type of each primitive is fixed.
            self.add(
                "structure",
                f"Element {display_name(meta.name)} must be a JSON {expected}, not a {json_type(value)}",
                path,
            )
            return
        if not isinstance(value, str):
            return
        if meta.allowed is not None and value not in meta.allowed:
            self.add(
                "code-invalid",
                f"Code for {display_name(meta.name)} is not in the required value set; "
                f"allowed codes: {meta.allowed_text}",
                path,
            )
        if kind in _URI_TYPES:
            self.uri(meta, value, path, in_resource)
        elif kind == "base64Binary" and meta.decode_base64:
            try:
                decode_base64_strict(value)
            except ValueError as exc:
                self.add("value", f"Invalid base64Binary content: {exc}", path)

    def uri(self, meta: _Field, value: str, path: str, in_resource: bool) -> None:
        kind = meta.primitive
        if any(ch.isspace() for ch in value):
            # datatypes.html#uri: regex \S* - URIs contain no whitespace.
            self.add("value", f"{display_name(meta.name)} must not contain whitespace", path)
            return
        lowered = value.lower()
        if lowered.startswith("urn:uuid:") and not UUID_URN.fullmatch(value):
            self.add("value", "A 'urn:uuid:' URI must be followed by a valid lowercase UUID", path)
            return
        if lowered.startswith("urn:oid:") and not OID_URN.fullmatch(value):
            self.add("value", "A 'urn:oid:' URI must be followed by a valid OID", path)
            return
        absolute = bool(ABSOLUTE_URI.fullmatch(value))
        if kind == "canonical" and not absolute and not value.startswith("#"):
            # references.html#canonical: canonical URLs are absolute, or '#local' for contained.
            self.add("value", "Canonical URLs must be absolute URLs unless they are '#' fragment references", path)
        elif meta.name == "system" and kind == "uri":
            # Coding.system / Identifier.system / ValueSet.compose.include.system
            # identify a code system or namespace: a local reference resolves nowhere.
            if not absolute:
                self.add("value", "system must be an absolute URI, not a local reference", path)
            elif value.startswith("http://hl7.org/fhir/ValueSet/"):
                self.add("value", "system refers to a value set, not a code system", path)
        elif meta.name == "url" and kind == "uri" and in_resource and not absolute:
            # The canonical url of a (contained) conformance resource is absolute.
            self.add("value", "The canonical url of a resource must be an absolute URI", path)

    def add(self, code: str, diagnostics: str, expression: str) -> None:
        self.issues.append(Issue(code=code, diagnostics=diagnostics, expression=expression))


# ---------------------------------------------------------------------------------------
# pydantic errors -> issues
# ---------------------------------------------------------------------------------------


def _loc_to_expression(root: str, data: Any, loc: tuple[int | str, ...]) -> tuple[str, str | None]:
    """Turn a pydantic error location into a FHIRPath-style expression.

    The location is walked alongside the input: parts that exist in the data
    are elements (or array indexes); string parts met where the data is an
    array or a primitive (``'str'``, ``'list[str]'``, ``'function-wrap[...]'``)
    are pydantic internals and dropped. Returns (expression, last element name).
    """
    expression = root
    current: Any = data
    last: str | None = None
    missing = object()
    for part in loc:
        if isinstance(part, int):
            if isinstance(current, list) and 0 <= part < len(current):
                expression += f"[{part}]"
                current = current[part]
            continue
        part = _LOC_RENAMES.get(part, part)
        if isinstance(current, dict):
            if part in current:
                expression += f".{part}"
                last = part
                current = current[part]
            elif part not in _INTERNAL_LOC_PARTS and "[" not in part and "-" not in part:
                expression += f".{part}"  # a missing or misspelt element
                last = part
                current = missing
    return expression, last


def _scrub(message: str, value: Any) -> str:
    """Remove an echoed input value from a library message (it may be patient data)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        text = str(value)
        if len(text) >= 3 and text in message:
            message = message.replace(text, "<value>")
    return message


def _validation_issues(error: ValidationError, root: str, data: dict[str, Any]) -> list[Issue]:
    issues: list[Issue] = []
    for detail in error.errors(include_url=False, include_context=False, include_input=True):
        expression, name = _loc_to_expression(root, data, tuple(detail["loc"]))
        element = display_name(name) if name else "the resource"
        error_type = str(detail["type"])
        message = _scrub(str(detail["msg"]), detail.get("input"))
        if error_type == "extra_forbidden":
            issues.append(Issue("structure", f"Unknown element {element} (not in FHIR R4)", expression))
        elif error_type in _MISSING_ERRORS:
            issues.append(Issue("required", f"Required element {element} is missing", expression))
        elif error_type in _STRUCTURE_ERRORS:
            expected = _EXPECTED_JSON.get(error_type)
            if expected:
                found = json_type(detail.get("input"))
                issues.append(
                    Issue("structure", f"Element {element} must be a JSON {expected}, not a {found}", expression)
                )
            else:
                issues.append(Issue("structure", f"Wrong JSON structure for {element}: {message}", expression))
        else:
            issues.append(Issue("value", f"Invalid value for {element}: {_readable(message)}", expression))
    return issues


#: pydantic's wording for FHIR's date types, and what a developer must send instead.
_DATE_HINTS = (
    ("Date value string", "a FHIR date that exists: YYYY, YYYY-MM or YYYY-MM-DD"),
    ("valid datetime or date", "a FHIR dateTime that exists: YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with a timezone"),
    ("DateTime value string", "a FHIR dateTime that exists: YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with a timezone"),
    ("Instant value string", "a FHIR instant: YYYY-MM-DDThh:mm:ss with a timezone"),
)


def _readable(message: str) -> str:
    for marker, hint in _DATE_HINTS:
        if marker in message:
            return f"must be {hint}"
    return message


def _merge(*layers: list[Issue]) -> list[Issue]:
    """Concatenate layers, dropping an issue of a later layer when an earlier
    one already points at the same element (pydantic and our checks often see
    the same problem), or at an ancestor whose JSON *shape* was already refused
    (below a null, an unknown element or a misplaced value only noise follows)."""
    merged: list[Issue] = []
    seen: set[str] = set()
    opaque: tuple[str, ...] = ()
    for layer in layers:
        accepted = [
            issue
            for issue in layer
            if not (issue.expression and (issue.expression in seen or issue.expression.startswith(opaque)))
        ]
        merged.extend(accepted)
        seen |= {issue.expression for issue in accepted if issue.expression}
        opaque += tuple(
            prefix
            for issue in accepted
            if issue.code == "structure" and issue.expression
            for prefix in (issue.expression + ".", issue.expression + "[")
        )
    return merged


# ---------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------


def parse_resource(data: Any, expected_type: str | None = None) -> ParseResult:
    """Validate a parsed JSON value as a FHIR R4 resource (see the module docstring).

    ``expected_type`` is the type the endpoint accepts (e.g. ``ServiceRequest``
    for ``POST /fhir/ServiceRequest``); a different ``resourceType`` is an
    ``invalid`` issue. Never raises for bad input.
    """
    if not isinstance(data, dict):
        return ParseResult(None, [Issue("invalid", "A FHIR resource must be a JSON object")], None)
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return ParseResult(
            None, [Issue("invalid", "The resource has no 'resourceType' string property", "resourceType")], None
        )
    safe_type = resource_type if _SAFE_NAME.fullmatch(resource_type) else None
    klass = _resource_class(resource_type)
    if klass is None:
        shown = f" '{safe_type}'" if safe_type else ""
        issue = Issue("not-supported", f"Resource type{shown} is not supported: not a FHIR R4 resource type", safe_type)
        return ParseResult(None, [issue], safe_type)
    if expected_type is not None and resource_type != expected_type:
        article = "an" if expected_type[:1] in "AEIOU" else "a"
        issue = Issue("invalid", f"Expected {article} {expected_type} resource, not {resource_type}", resource_type)
        return ParseResult(None, [issue], resource_type)

    structural = check_structure(data, resource_type)
    if any(issue.severity == "fatal" for issue in structural):
        return ParseResult(None, structural, resource_type)

    walker = _TypedWalk()
    walker.resource(data, resource_type, 0)
    typed_issues = walker.issues

    model: FHIRAbstractModel | None = None
    model_issues: list[Issue] = []
    try:
        model = klass.model_validate(data)
    except ValidationError as exc:
        model_issues = _validation_issues(exc, resource_type, data)
    except Exception as exc:  # a model library failure must become a 400, never a 500
        if not any(issue.is_error for issue in structural + typed_issues):
            # Nothing we found explains it: a case the layers above should learn about.
            logger.warning("fhir.resources raised %s for a %s", type(exc).__name__, resource_type, exc_info=exc)
            model_issues = [Issue("structure", "The resource could not be parsed as FHIR R4 JSON", resource_type)]

    issues = _merge(structural, typed_issues, model_issues)
    if any(issue.is_error for issue in issues):
        model = None
    return ParseResult(model, issues, resource_type)
