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

This module walks the tree and holds the rules of resources and containers; the rules of
Bundles (bundle_rules.py) and of elements recognised by shape (element_rules.py) are mixed in, and
the lexical rules they share are in json_rules.py.

Rules are cited from the FHIR R4 specification (http://hl7.org/fhir/R4/).
Diagnostics never echo element *values* (they may contain patient data); they
name the element and the rule instead.
"""

from __future__ import annotations

import math
from typing import Any

from triage_service.errors import N_
from triage_service.fhir.bundle_rules import BundleRules
from triage_service.fhir.element_rules import ElementRules
from triage_service.fhir.json_rules import (
    ACTIVE_CONTENT,
    BAD_CHARS,
    IDENTIFYING_KEYS,
    MAX_DEPTH,
    MAX_STRING_CHARS,
    RESOURCE_ID,
    display_name,
    is_resource_type,
    iter_strings,
    json_type,
    safe_name,
)
from triage_service.outcome import Issue

__all__ = ["check_structure"]


def check_structure(resource: dict[str, Any], path: str | None = None) -> list[Issue]:
    """Return every structural problem in ``resource`` (a parsed JSON object).

    ``path`` is the FHIRPath prefix for expressions; it defaults to the
    resource type. Issues with severity ``fatal`` mean the content cannot be
    given to the model layer meaningfully (not a resource, unknown nested
    resource type, nesting too deep).
    """
    checker = _Checker()
    if not isinstance(resource, dict):
        checker.add("invalid", N_("A resource must be a JSON object"), path, severity="fatal")
        return checker.issues
    resource_type = resource.get("resourceType")
    root = path or (resource_type if isinstance(resource_type, str) and safe_name(resource_type) else "Resource")
    checker.resource(resource, root, depth=0, contained=False)
    return checker.issues


class _Checker(BundleRules, ElementRules):
    """One walk over one resource tree, collecting issues."""

    # -- resources -------------------------------------------------------------------------

    def resource(self, data: Any, path: str, depth: int, contained: bool) -> None:
        """Check a value that sits where a resource must be."""
        if not isinstance(data, dict):
            self.add("structure", N_("A resource must be a JSON object, not %(found)s"), path, "fatal",
                     found=json_type(data))
            return
        resource_type = data.get("resourceType")
        if not isinstance(resource_type, str) or not resource_type:
            # http://hl7.org/fhir/R4/json.html#resources: "resourceType" is always present.
            self.add("required", N_("The resource has no 'resourceType' string"), path, "fatal")
            return
        if not is_resource_type(resource_type):
            shown = f" '{resource_type}'" if safe_name(resource_type) else ""
            self.add("not-supported", N_("Resource type%(shown)s is not a FHIR R4 resource type"), path, "fatal",
                     shown=shown)
            return
        self.element_ids.append(set())
        try:
            self._resource_rules(data, path, resource_type, contained)
            self.obj(data, path, depth, parent_key=None)
        finally:
            self.element_ids.pop()

    def _resource_rules(self, data: dict[str, Any], path: str, resource_type: str, contained: bool) -> None:
        resource_id = data.get("id")
        if resource_id is not None and (not isinstance(resource_id, str) or not RESOURCE_ID.fullmatch(resource_id)):
            # datatypes.html#id; fhir.resources allows 255 characters.
            self.add(
                "value",
                N_("Resource id must be a string of 1-64 characters from A-Z, a-z, 0-9, '-' and '.'"),
                f"{path}.id",
            )
        if contained:
            self._contained_resource_rules(data, path)
        if isinstance(data.get("contained"), list):
            self._container_rules(data, path)
        if resource_type == "Bundle":
            self.bundle_rules(data, path)
        elif resource_type == "Binary" and "data" in data:
            self.base64(data["data"], f"{path}.data")

    def _contained_resource_rules(self, data: dict[str, Any], path: str) -> None:
        # http://hl7.org/fhir/R4/domainresource.html#invs
        if "contained" in data:
            self.add(
                "invariant", N_("A contained resource SHALL NOT contain nested resources (dom-2)"), f"{path}.contained"
            )
        meta = data.get("meta")
        if isinstance(meta, dict):
            if "versionId" in meta or "lastUpdated" in meta:
                self.add(
                    "invariant",
                    N_("A contained resource SHALL NOT have meta.versionId or meta.lastUpdated (dom-4)"),
                    f"{path}.meta",
                )
            if "security" in meta:
                self.add("invariant", N_("A contained resource SHALL NOT have a security label (dom-5)"),
                         f"{path}.meta")
        if "id" not in data:
            # references.html#contained: contained resources are referenced by '#id'.
            self.add("required", N_("A contained resource must have an id"), path)

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
                self.add("invariant", N_("Two contained resources have the same id"), f"{item_path}.id")
            seen.add(item_id)
            # dom-3: a contained resource SHALL be referenced from elsewhere in the
            # resource or SHALL refer to the containing resource ('#').
            if local_refs is None:
                local_refs = {text for text in iter_strings(data) if text.startswith("#")}
            if f"#{item_id}" not in local_refs and not any(text == "#" for text in iter_strings(item)):
                self.add(
                    "invariant",
                    N_("Contained resource is not referenced from the containing resource and does not refer "
                       "to it (dom-3)"),
                    item_path,
                )

    # -- Bundle ----------------------------------------------------------------------------

    # -- generic JSON walk -----------------------------------------------------------------

    def value(self, value: Any, path: str, depth: int, key: str) -> None:
        if depth > MAX_DEPTH:
            self.add("structure", N_("JSON is nested deeper than %(limit)s levels"), path, "fatal",
                     limit=MAX_DEPTH)
            return
        if isinstance(value, dict):
            if "resourceType" in value:
                self.resource(value, path, depth, contained=False)
            else:
                self.obj(value, path, depth, parent_key=key)
        elif isinstance(value, str):
            self.string(value, path, key)
        elif isinstance(value, float) and not math.isfinite(value):
            self.add("structure", N_("NaN and Infinity are not JSON numbers"), path)

    def obj(self, data: dict[str, Any], path: str, depth: int, parent_key: str | None) -> None:
        if not data:
            # ele-1: "All FHIR elements must have a @value or children"
            self.add(
                "structure", N_("Empty objects are not allowed (ele-1: an element must have a value or children)"), path
            )
            return
        if depth > MAX_DEPTH:
            self.add("structure", N_("JSON is nested deeper than %(limit)s levels"), path, "fatal",
                     limit=MAX_DEPTH)
            return
        is_resource = "resourceType" in data
        is_extension = parent_key in ("extension", "modifierExtension")
        if is_resource:
            base64_keys = {"data"} if data.get("resourceType") == "Binary" else set()
        else:
            base64_keys = self.element_shape_rules(data, path, parent_key)
        for key, child in data.items():
            child_path = f"{path}.{key}"
            if not isinstance(key, str) or not key or key != key.strip():
                self.add(
                    "structure",
                    N_("Element name %(key)s has leading or trailing whitespace"),
                    child_path,
                    key=display_name(str(key)),
                )
                continue
            if key == "fhir_comments":
                # DSTU2 JSON comments; json.html (R4) has no comments at all.
                self.add("structure", N_("Unknown element 'fhir_comments' (not in FHIR R4)"), child_path)
                continue
            if key == "resourceType":
                continue
            if child is None:
                # json.html: "null" is never a valid value of a JSON property.
                self.add("structure", N_("Element %(key)s is null; omit the element instead"), child_path,
                         key=display_name(key))
                continue
            if isinstance(child, list):
                self.array(data, key, child, path, depth + 1, parent_is_extension=is_extension)
                continue
            if key.startswith("_") and isinstance(data.get(key[1:]), list):
                self.add(
                    "structure",
                    N_("%(key)s must be an array because %(partner)s is"),
                    child_path,
                    key=display_name(key),
                    partner=display_name(key[1:]),
                )
            if key == "id" and not is_resource and parent_key != "element":
                # ElementDefinition.id repeats between snapshot and differential by design.
                self.element_id(child, child_path)
            if key in base64_keys:
                continue  # decoded strictly by the shape rules above
            if key.endswith("Base64Binary"):
                self.base64(child, child_path)
                continue
            if key == "div" and isinstance(child, str) and self.is_narrative(data):
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
            self.add("structure", N_("Empty arrays are not allowed; omit %(key)s instead"), array_path,
                     key=display_name(key))
            return
        partner_key = key[1:] if key.startswith("_") else f"_{key}"
        partner: Any = parent.get(partner_key)
        if partner is not None and not isinstance(partner, list):
            if key.startswith("_"):
                self.add(
                    "structure",
                    N_("%(key)s is an array but %(partner_key)s is not"),
                    array_path,
                    key=display_name(key),
                    partner_key=display_name(partner_key),
                )
            partner = None
        elif isinstance(partner, list) and len(partner) != len(items):
            if not key.startswith("_"):
                # json.html#primitive: the _x array has one entry (or null) per value.
                self.add(
                    "structure",
                    N_("%(key)s and %(partner_key)s must have the same number of entries"),
                    array_path, key=display_name(key), partner_key=display_name(partner_key),
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
                        N_("Null in array %(key)s (only allowed as a placeholder aligned with the '_' array)"),
                        item_path, key=display_name(key),
                    )
                continue
            if isinstance(item, list):
                self.add("structure", N_("Arrays of arrays do not exist in FHIR JSON"), item_path)
                continue
            if is_resource_list:
                self.resource(item, item_path, depth + 1, contained=True)
                continue
            if is_extension_list:
                if not isinstance(item, dict):
                    self.add("structure", N_("An extension must be a JSON object, not %(found)s"), item_path,
                             found=json_type(item))
                    continue
                self.extension(item, item_path, nested=parent_is_extension)
            if key.endswith("Base64Binary"):
                self.base64(item, item_path)
                continue
            self.value(item, item_path, depth + 1, key)

    def string(self, text: str, path: str, key: str) -> None:
        if not text:
            # json.html#primitive: "property values can never be empty strings".
            self.add("structure", N_("Empty strings are not allowed; omit the element instead"), path)
            return
        if key in IDENTIFYING_KEYS and text.isspace():
            self.add("value", N_("%(key)s must not consist of whitespace only"), path, key=display_name(key))
            return
        if len(text) > MAX_STRING_CHARS:
            self.add("value", N_("String exceeds the FHIR limit of %(limit)s characters"), path,
                     limit=MAX_STRING_CHARS)
        if BAD_CHARS.search(text):
            self.add("value", N_("String contains control characters or unpaired surrogates"), path)
        if ACTIVE_CONTENT.search(text):
            self.add("value", N_("String contains embedded active HTML content (script, iframe, ...)"), path)

    # -- datatype-shaped rules -------------------------------------------------------------









