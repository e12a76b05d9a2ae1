"""Strict parsing of incoming FHIR JSON: bytes -> dict -> fhir.resources model.

Every request body goes through this layer *before* profile validation:

1. :func:`~triage_service.fhir.json_body.parse_json_body` turns raw bytes into a JSON value, refusing what
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

import logging
from dataclasses import dataclass, field
from typing import Any

from fhir_core.fhirabstractmodel import FHIRAbstractModel
from pydantic import ValidationError

from triage_service.errors import N_
from triage_service.fhir.json_body import SAFE_NAME
from triage_service.fhir.json_rules import (
    display_name,
    json_type,
)
from triage_service.fhir.structure import check_structure
from triage_service.fhir.typed_walk import TypedWalk, resource_class
from triage_service.outcome import Issue

__all__ = ["ParseResult", "parse_resource"]

logger = logging.getLogger(__name__)



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


# ---------------------------------------------------------------------------------------
# Model field metadata (computed once per model class)
# ---------------------------------------------------------------------------------------


# ---------------------------------------------------------------------------------------
# Typed walk: raw JSON alongside the model field metadata
# ---------------------------------------------------------------------------------------


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
            issues.append(Issue("structure", N_("Unknown element %(element)s (not in FHIR R4)"), expression,
                          params={"element": element}))
        elif error_type in _MISSING_ERRORS:
            issues.append(Issue("required", N_("Required element %(element)s is missing"), expression,
                          params={"element": element}))
        elif error_type in _STRUCTURE_ERRORS:
            expected = _EXPECTED_JSON.get(error_type)
            if expected:
                found = json_type(detail.get("input"))
                issues.append(
                    Issue(
                        "structure",
                        N_("Element %(element)s must be a JSON %(expected)s, not a %(found)s"),
                        expression,
                        params={"element": element, "expected": expected, "found": found},
                    )
                )
            else:
                issues.append(Issue("structure", N_("Wrong JSON structure for %(element)s: %(detail)s"), expression,
                              params={"element": element, "detail": message}))
        else:
            issues.append(Issue("value", N_("Invalid value for %(element)s: %(detail)s"), expression,
                          params={"element": element, "detail": _readable(message)}))
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
        return ParseResult(None, [Issue("invalid", N_("A FHIR resource must be a JSON object"))], None)
    resource_type = data.get("resourceType")
    if not isinstance(resource_type, str) or not resource_type:
        return ParseResult(
            None, [Issue("invalid", N_("The resource has no 'resourceType' string property"), "resourceType")], None
        )
    safe_type = resource_type if SAFE_NAME.fullmatch(resource_type) else None
    klass = resource_class(resource_type)
    if klass is None:
        shown = f" '{safe_type}'" if safe_type else ""
        issue = Issue("not-supported", N_("Resource type%(shown)s is not supported: not a FHIR R4 resource type"),
                      safe_type, params={"shown": shown})
        return ParseResult(None, [issue], safe_type)
    if expected_type is not None and resource_type != expected_type:
        expected = N_("Expected an %(expected_type)s resource, not %(resource_type)s") if expected_type[:1] in "AEIOU" \
            else N_("Expected a %(expected_type)s resource, not %(resource_type)s")
        issue = Issue("invalid", expected, resource_type,
                      params={"expected_type": expected_type, "resource_type": resource_type})
        return ParseResult(None, [issue], resource_type)

    structural = check_structure(data, resource_type)
    if any(issue.severity == "fatal" for issue in structural):
        return ParseResult(None, structural, resource_type)

    walker = TypedWalk()
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
            model_issues = [Issue("structure", N_("The resource could not be parsed as FHIR R4 JSON"), resource_type)]

    issues = _merge(structural, typed_issues, model_issues)
    if any(issue.is_error for issue in issues):
        model = None
    return ParseResult(model, issues, resource_type)
