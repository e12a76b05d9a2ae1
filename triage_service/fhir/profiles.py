"""Validation driven by our published profiles in ``fhir_profiles/``.

The StructureDefinitions there are the contract; this module reads their
``differential`` and enforces it, so a rule changed in a profile changes what
the service accepts. We interpret a deliberate subset of the differential
(cardinality, fixed and pattern values, required bindings to our ValueSets,
reference target types, extension slices by url) plus FHIRPath constraints,
compiled once with fhirpathpy. A full snapshot-based validator (like HL7's
Java validator) would be far more than these profiles need; the subset is
documented in ``fhir_profiles/README.md``.

Codes from value sets that are not ours (core FHIR bindings) are checked by the
structural layer from fhir.resources' metadata; see ``parsing.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from fhirpathpy import compile as fhirpath_compile

from triage_service.errors import N_
from triage_service.outcome import Issue, Localized
from triage_service.settings import PROJECT_ROOT

PROFILES_DIR = PROJECT_ROOT / "fhir_profiles"
CANONICAL_BASE = "https://fhir.triage-service.nl"
CORE_SD = "http://hl7.org/fhir/StructureDefinition/"
TRANSLATION = f"{CORE_SD}translation"

PROFILE_CONSULT_REQUEST = f"{CANONICAL_BASE}/StructureDefinition/triage-consult-request"
PROFILE_CONSULT_TASK = f"{CANONICAL_BASE}/StructureDefinition/triage-consult-task"
PROFILE_CONSULT_MESSAGE = f"{CANONICAL_BASE}/StructureDefinition/triage-consult-message"
PROFILE_CONSULT_PHOTO = f"{CANONICAL_BASE}/StructureDefinition/triage-consult-photo"
PROFILE_CONSULT_APPOINTMENT = f"{CANONICAL_BASE}/StructureDefinition/triage-consult-appointment"


@dataclass
class _Constraint:
    key: str
    #: The rule in words, in English and in every language its ``_human`` translation extensions give.
    human: Localized
    expression: str
    evaluate: Callable[..., list[Any]]


@dataclass
class _Element:
    path: list[str]  # below the root: ["reasonCode", "coding"]
    slice_url: str | None = None
    min: int | None = None
    max: int | None = None  # None means "*"
    fixed: Any = None
    pattern_cc: dict[str, Any] | None = None
    pattern_identifier: dict[str, Any] | None = None
    value_set: str | None = None
    choice_types: list[str] = field(default_factory=list)
    target_types: list[str] = field(default_factory=list)
    #: FHIRPath invariants on the element itself, checked on each repetition (so the issue names it).
    constraints: list[_Constraint] = field(default_factory=list)


@dataclass
class Profile:
    url: str
    type: str
    elements: list[_Element]
    constraints: list[_Constraint]


class ProfileRegistry:
    """All conformance resources in ``fhir_profiles/``, loaded once."""

    def __init__(self, directory: Path = PROFILES_DIR):
        self.resources: dict[tuple[str, str], dict[str, Any]] = {}  # (type, id) -> json
        self.by_url: dict[str, dict[str, Any]] = {}
        for path in sorted(directory.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            self.resources[(data["resourceType"], data["id"])] = data
            if "url" in data:
                self.by_url[data["url"]] = data
        self._codes: dict[str, frozenset[tuple[str, str]]] = {}
        self._profiles: dict[str, Profile] = {}

    # -- terminology -------------------------------------------------------
    def value_set_codes(self, url: str) -> frozenset[tuple[str, str]]:
        """Expand one of our ValueSets to (system, code) pairs."""
        if url not in self._codes:
            vs = self.by_url.get(url)
            if vs is None or vs.get("resourceType") != "ValueSet":
                raise KeyError(f"unknown value set {url}")
            codes: set[tuple[str, str]] = set()
            for include in vs.get("compose", {}).get("include", []):
                system = include["system"]
                if "concept" in include:
                    codes.update((system, c["code"]) for c in include["concept"])
                else:
                    codes.update((system, c) for c in self.code_system_codes(system))
            self._codes[url] = frozenset(codes)
        return self._codes[url]

    def code_system_codes(self, url: str) -> list[str]:
        cs = self.by_url.get(url)
        if cs is None or cs.get("resourceType") != "CodeSystem":
            raise KeyError(f"value set includes an unknown code system {url}")
        return [c["code"] for c in _walk_concepts(cs.get("concept", []))]

    def display(self, system: str, code: str, language: str = "en") -> str | None:
        cs = self.by_url.get(system)
        for concept in _walk_concepts(cs.get("concept", []) if cs else []):
            if concept["code"] == code:
                if language != "en":
                    for d in concept.get("designation", []):
                        if d.get("language") == language:
                            return str(d["value"])
                return str(concept.get("display", code))
        return None

    def concept_display(self, value_set_url: str, code: str, language: str = "en") -> str | None:
        """The display of ``code`` as one of our ValueSets lists it (or as its CodeSystem does), in
        ``language`` when a designation in that language exists."""
        vs = self.by_url.get(value_set_url, {})
        for include in vs.get("compose", {}).get("include", []):
            for concept in include.get("concept", []):
                if concept.get("code") == code:
                    for designation in concept.get("designation", []) if language != "en" else []:
                        if designation.get("language") == language:
                            return str(designation["value"])
                    return str(concept.get("display", code))
            if "concept" not in include:
                found = self.display(include["system"], code, language)
                if found:
                    return found
        return None

    # -- profiles ----------------------------------------------------------
    def profile(self, url: str) -> Profile:
        if url not in self._profiles:
            sd = self.by_url.get(url)
            if sd is None or sd.get("resourceType") != "StructureDefinition":
                raise KeyError(f"unknown profile {url}")
            self._profiles[url] = _compile_profile(sd)
        return self._profiles[url]

    def validate(self, resource: dict[str, Any], profile_url: str,
                 reference_type: Callable[[str, dict[str, Any]], str | None] | None = None) -> list[Issue]:
        """Issues of ``resource`` against a profile. ``reference_type`` maps a reference
        string to the type it points at (for contained or bundle references)."""
        profile = self.profile(profile_url)
        root = profile.type
        issues: list[Issue] = []
        for element in profile.elements:
            issues.extend(self._check_element(resource, root, element, reference_type))
        for constraint in profile.constraints:
            if _evaluates_false(constraint, resource):
                issues.append(
                    Issue(
                        code="invariant",
                        expression=root,
                        message=N_("%(human)s (rule %(key)s)"),
                        params={"human": constraint.human, "key": constraint.key},
                    )
                )
        return issues

    def _check_element(self, resource: dict[str, Any], root: str, element: _Element,
                       reference_type: Callable[[str, dict[str, Any]], str | None] | None) -> Iterator[Issue]:
        *parent_path, name = element.path
        for parent, parent_expr in _nodes(resource, parent_path, root):
            if not isinstance(parent, dict):
                continue
            values, key = _values_of(parent, name)
            expr = f"{parent_expr}.{key or name.replace('[x]', '')}"
            if element.slice_url is not None:
                values = [v for v in values if isinstance(v, dict) and v.get("url") == element.slice_url]
                expr = f"{parent_expr}.extension('{element.slice_url}')"
            if element.min is not None and len(values) < element.min:
                yield Issue(
                    code="required",
                    expression=expr,
                    message=N_("%(label)s is required (at least %(min)s)"),
                    params={"label": _label(root, element), "min": element.min},
                )
            if element.max is not None and len(values) > element.max:
                yield Issue("structure", N_("%(label)s is not allowed") if element.max == 0 else
                            N_("%(label)s may occur at most %(max)s time(s)"), expr,
                            params={"label": _label(root, element), "max": element.max})
            if element.choice_types and key is not None:
                suffix = key[len(name) - 3:]
                if suffix not in [t[0].upper() + t[1:] for t in element.choice_types]:
                    yield Issue(
                        code="structure",
                        expression=expr,
                        message=N_("%(label)s must be of type %(choice_types)s"),
                        params={"label": _label(root, element), "choice_types": " or ".join(element.choice_types)},
                    )
            for index, value in enumerate(values):
                item_expr = f"{expr}[{index}]" if isinstance(parent.get(key or name), list) else expr
                yield from self._check_value(value, item_expr, root, element, reference_type)

    def _check_value(self, value: Any, expr: str, root: str, element: _Element,
                     reference_type: Callable[[str, dict[str, Any]], str | None] | None) -> Iterator[Issue]:
        label = _label(root, element)
        if element.fixed is not None and value != element.fixed:
            yield Issue(code="value", expression=expr, message=N_("%(label)s must be '%(fixed)s'"),
                        params={"label": label, "fixed": element.fixed})
        if element.pattern_cc is not None and not _matches_cc_pattern(value, element.pattern_cc):
            systems = ", ".join(c.get("system", "") for c in element.pattern_cc.get("coding", []))
            yield Issue(code="value", expression=expr, message=N_("%(label)s needs a coding from %(systems)s"),
                        params={"label": label, "systems": systems})
        for constraint in element.constraints:
            if isinstance(value, dict) and _evaluates_false(constraint, value):
                yield Issue(code="invariant", expression=expr, message=N_("%(human)s (rule %(key)s)"),
                            params={"human": constraint.human, "key": constraint.key})
        if element.pattern_identifier is not None and (
            not isinstance(value, dict) or value.get("system") != element.pattern_identifier.get("system")
        ):
            yield Issue(
                code="value",
                expression=expr,
                message=N_("%(label)s must use system %(system)s"),
                params={"label": label, "system": element.pattern_identifier.get("system")},
            )
        if element.value_set is not None:
            allowed = self.value_set_codes(element.value_set)
            if not _in_value_set(value, allowed):
                codes = ", ".join(sorted(code for _, code in allowed))
                yield Issue(
                    code="code-invalid",
                    expression=expr,
                    message=N_("%(label)s: code not in value set %(value_set)s (allowed: %(codes)s)"),
                    params={"label": label, "value_set": element.value_set, "codes": codes},
                )
        if element.slice_url is not None and isinstance(value, dict):
            for issue in self.validate(value, element.slice_url):
                yield replace(issue, expression=expr + (issue.expression or "")[len("Extension"):])
        if element.target_types and isinstance(value, dict) and isinstance(value.get("reference"), str):
            ref = value["reference"]
            target = reference_type(ref, value) if reference_type else literal_type(ref)
            if target is None:
                yield Issue(
                    code="not-found",
                    expression=f"{expr}.reference",
                    message=N_("%(label)s: reference '%(ref)s' cannot be resolved"),
                    params={"label": label, "ref": ref},
                )
            elif target not in element.target_types:
                yield Issue(
                    code="invalid",
                    expression=f"{expr}.reference",
                    message=N_("%(label)s must reference %(target_types)s, not %(target)s"),
                    params={"label": label, "target_types": " or ".join(element.target_types), "target": target},
                )


def _walk_concepts(concepts: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for concept in concepts:
        yield concept
        yield from _walk_concepts(concept.get("concept", []))


def _label(root: str, element: _Element) -> str:
    return ".".join([root, *element.path])


_LITERAL = re.compile(r"^(?:https?://[^ ]+/)?([A-Z][A-Za-z]+)/[A-Za-z0-9\-.]{1,64}(?:/_history/[^ ]+)?$")


def literal_type(reference: str) -> str | None:
    match = _LITERAL.match(reference)
    return match.group(1) if match else None


def _values_of(node: dict[str, Any], name: str) -> tuple[list[Any], str | None]:
    """Values of a child element (a choice element ``value[x]`` matches ``valueString`` etc.)."""
    if name.endswith("[x]"):
        prefix = name[:-3]
        keys = [k for k in node if k.startswith(prefix) and k[len(prefix):][:1].isupper()]
        if not keys:
            return [], None
        values = [node[k] for k in keys]
        return values, keys[0]
    if name not in node:
        return [], None
    value = node[name]
    return (value if isinstance(value, list) else [value]), name


def _nodes(resource: dict[str, Any], path: list[str], root: str) -> Iterator[tuple[Any, str]]:
    """Every node at ``path`` below the root, with its FHIRPath expression."""
    level: list[tuple[Any, str]] = [(resource, root)]
    for name in path:
        nxt: list[tuple[Any, str]] = []
        for node, expr in level:
            if not isinstance(node, dict) or name not in node:
                continue
            value = node[name]
            if isinstance(value, list):
                nxt.extend((v, f"{expr}.{name}[{i}]") for i, v in enumerate(value))
            else:
                nxt.append((value, f"{expr}.{name}"))
        level = nxt
    return iter(level)


def _matches_cc_pattern(value: Any, pattern: dict[str, Any]) -> bool:
    if not isinstance(value, dict):
        return False
    codings = value.get("coding", [])
    return all(
        any(isinstance(c, dict) and all(c.get(k) == v for k, v in want.items()) for c in codings)
        for want in pattern.get("coding", [])
    )


def _in_value_set(value: Any, allowed: frozenset[tuple[str, str]]) -> bool:
    if isinstance(value, str):  # a code: the system is implied by the binding
        return value in {code for _, code in allowed}
    if not isinstance(value, dict):
        return False
    if "coding" in value:  # CodeableConcept: at least one coding from the value set
        return any(_in_value_set(c, allowed) for c in value["coding"] if isinstance(c, dict) and "system" in c)
    return (value.get("system"), value.get("code")) in allowed


def _evaluates_false(constraint: _Constraint, node: dict[str, Any]) -> bool:
    """An invariant fails when it is false, or cannot be evaluated on what was sent (a malformed value)."""
    try:
        return bool(constraint.evaluate(node) == [False])
    except Exception:
        return True


def _compiled(raw: dict[str, Any]) -> list[_Constraint]:
    return [_Constraint(key=c["key"], human=_translated(c["human"], c.get("_human", {})),
                        expression=c["expression"], evaluate=fhirpath_compile(c["expression"], None))
            for c in raw.get("constraint", [])]


def _translated(english: str, element: dict[str, Any]) -> Localized:
    """A text and its translations as FHIR writes them: the core ``translation`` extension on the element."""
    texts = {"en": english}
    for extension in element.get("extension", []):
        if extension.get("url") == TRANSLATION:
            parts = {part.get("url"): part for part in extension.get("extension", [])}
            if "lang" in parts and "content" in parts:
                texts[str(parts["lang"].get("valueCode"))] = str(parts["content"].get("valueString"))
    return Localized(texts)


def _compile_profile(sd: dict[str, Any]) -> Profile:
    root = sd["type"]
    elements: list[_Element] = []
    constraints: list[_Constraint] = []
    for raw in sd.get("differential", {}).get("element", []):
        path = raw["path"].split(".")[1:]
        if not path:
            constraints.extend(_compiled(raw))
            continue
        element = _Element(path=path, constraints=_compiled(raw))
        if "min" in raw:
            element.min = int(raw["min"])
        if "max" in raw and raw["max"] != "*":
            element.max = int(raw["max"])
        for key, value in raw.items():
            if key.startswith("fixed"):
                element.fixed = value
            elif key == "patternCodeableConcept":
                element.pattern_cc = value
            elif key == "patternIdentifier":
                element.pattern_identifier = value
        binding = raw.get("binding", {})
        if binding.get("strength") == "required" and binding.get("valueSet", "").startswith(CANONICAL_BASE):
            element.value_set = binding["valueSet"].split("|")[0]
        types = raw.get("type", [])
        if raw.get("sliceName") and types and types[0].get("code") == "Extension":
            element.slice_url = types[0]["profile"][0]
        if path[-1].endswith("[x]"):
            element.choice_types = [t["code"] for t in types]
        for t in types:
            element.target_types.extend(p.removeprefix(CORE_SD) for p in t.get("targetProfile", []))
        if element.path == ["extension"] and element.slice_url is None and element.min is None:
            continue  # the slicing definition itself carries no rule
        elements.append(element)
    return Profile(url=sd["url"], type=root, elements=elements, constraints=constraints)


@cache
def registry() -> ProfileRegistry:
    """The process-wide registry (read-only after loading, so safe to share)."""
    return ProfileRegistry()
