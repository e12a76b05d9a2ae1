"""The walk of raw FHIR JSON beside fhir.resources' R4B field metadata (step 2 of parsing.py): it closes
the gaps pydantic's lax mode leaves open. Each primitive must have the JSON type FHIR JSON fixes for it
(http://hl7.org/fhir/R4/json.html), codes of required bindings must be in their value set, uri, url and
canonical values must be well formed, and every base64Binary must be strict base64. The field metadata is
computed once per model class."""

from __future__ import annotations

import types
import typing
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, get_args, get_origin

from fhir.resources.R4B import get_fhir_model_class
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import FhirBase

from triage_service.errors import N_
from triage_service.fhir.json_rules import (
    ABSOLUTE_URI,
    MAX_DEPTH,
    OID_URN,
    UUID_URN,
    decode_base64_strict,
    display_name,
    is_resource_type,
    json_type,
)
from triage_service.outcome import Issue

# FHIR primitive type -> the JSON type json.html prescribes for it.
_JSON_BOOLEAN = frozenset({"boolean"})



_JSON_INTEGER = frozenset({"integer", "unsignedInt", "positiveInt"})



_JSON_NUMBER = frozenset({"decimal"})



_URI_TYPES = frozenset({"uri", "url", "canonical", "oid", "uuid"})



# fhir.resources derives enum_values from the element's short description. For
# these the description is not a required value set, so the list must not be
# used to refuse codes: CapabilityStatement.format is any MIME type
# ("xml | json | ttl | mime type"), Expression.language is an extensible binding.
_NOT_REQUIRED_BINDINGS = frozenset({("CapabilityStatement", "format"), ("Expression", "language")})



# base64Binary elements that check_structure reliably decodes already (Binary by
# its resourceType, a model-valid Attachment by its shape, with the size/hash
# rules): decoding a large photo twice is wasted time.
_BASE64_CHECKED_BY_STRUCTURE = frozenset({("Attachment", "data"), ("Attachment", "hash"), ("Binary", "data")})



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



def resource_class(resource_type: str) -> type[FHIRAbstractModel] | None:
    if not is_resource_type(resource_type):
        return None
    return get_fhir_model_class(resource_type)



class TypedWalk:
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
                        "structure",
                        N_("Element %(key)s does not repeat: it must not be an array"),
                        child_path,
                        key=display_name(key),
                    )
                    continue
                for index, item in enumerate(value):
                    self.item(meta, item, f"{child_path}[{index}]", in_resource, depth)
            elif meta.is_list:
                self.add(
                    "structure",
                    N_("Element %(key)s must be a JSON array, not a %(found)s"),
                    child_path, key=display_name(key), found=json_type(value),
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
                    N_("Element %(name)s must be a JSON object, not a %(found)s"),
                    path, name=display_name(meta.name), found=json_type(value),
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
                N_("Element %(name)s must be a JSON %(expected)s, not a %(found)s"),
                path, name=display_name(meta.name), expected=expected, found=json_type(value),
            )
            return
        if not isinstance(value, str):
            return
        if meta.allowed is not None and value not in meta.allowed:
            self.add(
                "code-invalid",
                N_("Code for %(name)s is not in the required value set; allowed codes: %(allowed_text)s"),
                path, name=display_name(meta.name), allowed_text=meta.allowed_text,
            )
        if kind in _URI_TYPES:
            self.uri(meta, value, path, in_resource)
        elif kind == "base64Binary" and meta.decode_base64:
            try:
                decode_base64_strict(value)
            except ValueError as exc:
                self.add("value", N_("Invalid base64Binary content: %(error)s"), path, error=exc)

    def uri(self, meta: _Field, value: str, path: str, in_resource: bool) -> None:
        kind = meta.primitive
        if any(ch.isspace() for ch in value):
            # datatypes.html#uri: regex \S* - URIs contain no whitespace.
            self.add("value", N_("%(name)s must not contain whitespace"), path, name=display_name(meta.name))
            return
        lowered = value.lower()
        if lowered.startswith("urn:uuid:") and not UUID_URN.fullmatch(value):
            self.add("value", N_("A 'urn:uuid:' URI must be followed by a valid lowercase UUID"), path)
            return
        if lowered.startswith("urn:oid:") and not OID_URN.fullmatch(value):
            self.add("value", N_("A 'urn:oid:' URI must be followed by a valid OID"), path)
            return
        absolute = bool(ABSOLUTE_URI.fullmatch(value))
        if kind == "canonical" and not absolute and not value.startswith("#"):
            # references.html#canonical: canonical URLs are absolute, or '#local' for contained.
            self.add("value", N_("Canonical URLs must be absolute URLs unless they are '#' fragment references"), path)
        elif meta.name == "system" and kind == "uri":
            # Coding.system / Identifier.system / ValueSet.compose.include.system
            # identify a code system or namespace: a local reference resolves nowhere.
            if not absolute:
                self.add("value", N_("system must be an absolute URI, not a local reference"), path)
            elif value.startswith("http://hl7.org/fhir/ValueSet/"):
                self.add("value", N_("system refers to a value set, not a code system"), path)
        elif meta.name == "url" and kind == "uri" and in_resource and not absolute:
            # The canonical url of a (contained) conformance resource is absolute.
            self.add("value", N_("The canonical url of a resource must be an absolute URI"), path)

    def add(self, code: str, message: str, expression: str, **params: object) -> None:
        self.issues.append(Issue(code, message, expression, params=params))
