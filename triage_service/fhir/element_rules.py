"""Element rules of the structural check: Attachments (size and hash against data), narrative XHTML without
active content, references, extensions (url, exactly one value or nested extensions) and unique element ids."""

from __future__ import annotations

import hashlib
from typing import Any

from triage_service.errors import N_
from triage_service.fhir.json_rules import (
    ABSOLUTE_URI,
    ATTACHMENT_KEYS,
    BAD_CHARS,
    CONDITIONAL_REFERENCE,
    NARRATIVE_FORBIDDEN,
    NARRATIVE_KEYS,
    OID_URN,
    PERIOD_KEYS,
    RELATIVE_REFERENCE,
    SIGNATURE_KEYS,
    TAG,
    UUID_URN,
    XHTML_NAMESPACE,
    IssueCollector,
    decode_base64_strict,
    element_names,
    is_resource_type,
    json_type,
    period_out_of_order,
)


class ElementRules(IssueCollector):
    """The rules of elements recognised by their shape or position."""

    @staticmethod
    def _is_attachment(data: dict[str, Any]) -> bool:
        names = element_names(data)
        return names <= ATTACHMENT_KEYS and bool(names & {"data", "hash", "size", "contentType"})

    @staticmethod
    def is_narrative(data: dict[str, Any]) -> bool:
        return element_names(data) <= NARRATIVE_KEYS

    def element_shape_rules(self, data: dict[str, Any], path: str, parent_key: str | None) -> set[str]:
        """Rules for datatypes recognised by shape; returns the keys already
        decoded as base64Binary (so the generic string rules skip them)."""
        base64_keys: set[str] = set()
        if self._is_attachment(data):
            self._attachment(data, path)
            base64_keys = {"data", "hash"}
        elif "data" in data and (parent_key in SIGNATURE_KEYS or {"who", "when"} <= data.keys()):
            self.base64(data["data"], f"{path}.data")  # Signature.data is base64Binary
            base64_keys = {"data"}
        if self.is_narrative(data) and "div" in data:
            self._narrative(data["div"], f"{path}.div")
        if element_names(data) <= PERIOD_KEYS:
            start, end = data.get("start"), data.get("end")
            if isinstance(start, str) and isinstance(end, str) and period_out_of_order(start, end):
                self.add("invariant", N_("Period start SHALL have a lower value than end (per-1)"), path)
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
                self.add("invariant", N_("An Attachment with data SHALL have a contentType (att-1)"),
                         f"{path}.contentType")
            decoded = self.base64(data["data"], f"{path}.data")
        size = data.get("size")
        if decoded is not None and isinstance(size, int) and not isinstance(size, bool) and size != len(decoded):
            self.add("value", N_("Attachment size does not match the length of the decoded data"), f"{path}.size")
        if "hash" in data:
            digest = self.base64(data["hash"], f"{path}.hash")
            # Only comparable when the data is inline; with just a url the hash
            # cannot be verified here (and HL7's own examples carry hex-in-base64).
            if digest is not None and decoded is not None and hashlib.sha1(decoded).digest() != digest:  # noqa: S324 - FHIR R4 mandates SHA-1 here
                self.add("value", N_("Attachment hash is not the base64 SHA-1 of the decoded data"), f"{path}.hash")

    def base64(self, value: Any, path: str) -> bytes | None:
        if not isinstance(value, str):
            self.add("structure", N_("base64Binary must be a JSON string, not %(found)s"), path, found=json_type(value))
            return None
        if not value:
            self.add("structure", N_("Empty strings are not allowed; omit the element instead"), path)
            return None
        try:
            return decode_base64_strict(value)
        except ValueError as exc:
            self.add("value", N_("Invalid base64Binary content: %(error)s"), path, error=exc)
            return None

    def _narrative(self, div: Any, path: str) -> None:
        """narrative.html#xhtml: the div is XHTML with a <div> root in the XHTML namespace."""
        if not isinstance(div, str):
            self.add("structure", N_("Narrative div must be a JSON string, not %(found)s"), path, found=json_type(div))
            return
        stripped = div.strip()
        if not stripped.startswith("<div") or (not stripped.endswith("</div>") and not stripped.endswith("/>")):
            self.add("value", N_("Narrative div must be a single <div> element"), path)
            return
        if not XHTML_NAMESPACE.match(stripped):
            self.add("value", N_("Narrative div must declare xmlns=\"http://www.w3.org/1999/xhtml\""), path)
        if NARRATIVE_FORBIDDEN.search(stripped):
            self.add(
                "invariant",
                N_("Narrative contains forbidden XHTML (scripts, forms, frames, objects, event "
                   "attributes; txt-1)"),
                path,
            )
        if BAD_CHARS.search(stripped):
            self.add("value", N_("Narrative contains control characters or unpaired surrogates"), path)
        # txt-2: "The narrative SHALL have some non-whitespace content"
        if not TAG.sub("", stripped).strip() and "<img" not in stripped.lower():
            self.add("invariant", N_("Narrative SHALL have some non-whitespace content (txt-2)"), path)

    def _reference(self, reference: str, path: str) -> None:
        """references.html#literal: an absolute URL, a relative [type]/[id],
        '#local' for contained resources, or urn:uuid/urn:oid within a Bundle."""
        if reference.isspace() or any(ch.isspace() for ch in reference):
            self.add("value", N_("Reference.reference must not contain whitespace"), path)
            return
        if reference.startswith("#"):
            return
        lowered = reference.lower()
        if lowered.startswith("urn:uuid:"):
            if not UUID_URN.fullmatch(reference):
                self.add("value", N_("Reference 'urn:uuid:' must be followed by a valid lowercase UUID"), path)
            return
        if lowered.startswith("urn:oid:"):
            if not OID_URN.fullmatch(reference):
                self.add("value", N_("Reference 'urn:oid:' must be followed by a valid OID"), path)
            return
        if ABSOLUTE_URI.match(reference):
            return
        match = RELATIVE_REFERENCE.fullmatch(reference) or CONDITIONAL_REFERENCE.fullmatch(reference)
        if match is None or not is_resource_type(match["type"]):
            self.add(
                "value",
                N_("Relative references must be of the form [ResourceType]/[id] (or a conditional "
                   "[ResourceType]?[query])"),
                path,
            )

    def extension(self, ext: dict[str, Any], path: str, nested: bool) -> None:
        """extensibility.html: url is required (absolute unless inside a complex
        extension) and ext-1: "Must have either extensions or value[x], not both"."""
        url = ext.get("url")
        if url is None:
            self.add("required", N_("Extension.url is required"), f"{path}.url")
        elif isinstance(url, str) and url and not nested and not ABSOLUTE_URI.fullmatch(url):
            self.add("value", N_("Extension.url must be an absolute URL"), f"{path}.url")
        values = {name for name in element_names(ext) if name.startswith("value") and name[5:6].isupper()}
        has_children = "extension" in ext
        if len(values) > 1:
            self.add("structure", N_("An extension can have only one value[x]"), path)
        if has_children and values:
            self.add("invariant", N_("Must have either extensions or value[x], not both (ext-1)"), path)
        elif not has_children and not values:
            self.add("invariant", N_("Must have either extensions or value[x] (ext-1)"), path)

    def element_id(self, value: Any, path: str) -> None:
        if not isinstance(value, str) or not value:
            return  # reported as a type / empty-string problem elsewhere
        if not self.element_ids:
            return
        ids = self.element_ids[-1]
        if value in ids:
            self.add("value", N_("Duplicate element id within the resource"), path)
        ids.add(value)
