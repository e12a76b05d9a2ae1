"""Bundle rules of the structural check (http://hl7.org/fhir/R4/bundle.html): the invariants bdl-1 to bdl-12,
fullUrl against the resource id, entry.request and entry.response by Bundle type, search and paging links."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from triage_service.errors import N_
from triage_service.fhir.json_rules import (
    BUNDLE_TYPES,
    ENTRY_REQUEST_TYPES,
    ENTRY_RESPONSE_TYPES,
    OID_URN,
    PAGING_RELATIONS,
    RESTFUL_TAIL,
    SINGLE_RELATIONS,
    UUID_URN,
    IssueCollector,
    is_resource_type,
)


class BundleRules(IssueCollector):
    """The rules of a Bundle and its entries."""

    def bundle_rules(self, bundle: dict[str, Any], path: str) -> None:
        """http://hl7.org/fhir/R4/bundle.html#invs and the fullUrl rules of bundle.html#bundle-unique."""
        # Only known types drive the type-dependent rules (an unknown type is a
        # binding error reported by the model layer, and is never echoed).
        raw_type = bundle.get("type")
        bundle_type = raw_type if isinstance(raw_type, str) and raw_type in BUNDLE_TYPES else None
        if "total" in bundle and bundle_type not in ("searchset", "history"):
            self.add("invariant", N_("total only when a search or history (bdl-1)"), f"{path}.total")
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
                    "invariant", N_("A bundle entry must have a resource, a request or a response (bdl-5)"), entry_path
                )
            if bundle_type is not None:
                self._entry_request_response(entry, entry_path, bundle_type)
            if "search" in entry and bundle_type != "searchset":
                self.add("invariant", N_("entry.search only when a search (bdl-2)"), f"{entry_path}.search")
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
                        N_("The same fullUrl is used by more than one entry without distinct meta.versionId "
                           "(bdl-7)"),
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
            if relation in SINGLE_RELATIONS and relation in seen:
                self.add("invariant", N_("The link relation '%(relation)s' can only occur once"), link_path,
                         relation=relation)
            seen.add(relation)
            if relation in PAGING_RELATIONS and bundle_type not in ("searchset", "history", None):
                self.add(
                    "invariant",
                    N_("The paging link relation '%(relation)s' is only allowed in a searchset or history"),
                    link_path, relation=relation,
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
        needs_request = bundle_type in ENTRY_REQUEST_TYPES
        needs_response = bundle_type in ENTRY_RESPONSE_TYPES
        request = entry.get("request")
        if needs_request and request is None:
            self.add(
                "required",
                N_("Every entry of a %(bundle_type)s Bundle must have a request (bdl-3)"),
                f"{entry_path}.request", bundle_type=bundle_type,
            )
        elif not needs_request and "request" in entry:
            self.add(
                "invariant",
                N_("A %(bundle_type)s Bundle entry must not have a request (bdl-3)"),
                f"{entry_path}.request",
                bundle_type=bundle_type,
            )
        if isinstance(request, dict):
            for element in ("method", "url"):
                if element not in request:
                    self.add("required", N_("entry.request.%(element)s is required"),
                             f"{entry_path}.request.{element}", element=element)
        if needs_response and "response" not in entry:
            self.add(
                "required",
                N_("Every entry of a %(bundle_type)s Bundle must have a response (bdl-4)"),
                f"{entry_path}.response", bundle_type=bundle_type,
            )
        elif not needs_response and "response" in entry:
            self.add(
                "invariant",
                N_("A %(bundle_type)s Bundle entry must not have a response (bdl-4)"),
                f"{entry_path}.response",
                bundle_type=bundle_type,
            )

    def _full_url(self, full_url: str, resource: Any, path: str) -> None:
        # bundle.html: fullUrl is an absolute URI; the service accepts the three
        # forms references can resolve against: urn:uuid, urn:oid and http(s) URLs.
        lowered = full_url.lower()
        if lowered.startswith("urn:uuid:"):
            if not UUID_URN.fullmatch(full_url):
                self.add("value", N_("fullUrl 'urn:uuid:' must be followed by a valid lowercase UUID"), path)
            return
        if lowered.startswith("urn:oid:"):
            if not OID_URN.fullmatch(full_url):
                self.add("value", N_("fullUrl 'urn:oid:' must be followed by a valid OID"), path)
            return
        parts = urlsplit(full_url)
        if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in full_url):
            self.add(
                "value",
                N_("fullUrl must be an absolute URI: urn:uuid:<uuid>, urn:oid:<oid> or an http(s) URL"),
                path,
            )
            return
        if "/_history/" in full_url:
            self.add("invariant", N_("fullUrl cannot be a version specific reference (bdl-8)"), path)
            return
        # "fullUrl SHALL NOT disagree with the id in the resource" (bundle.html#bundle-unique)
        tail = RESTFUL_TAIL.fullmatch(parts.path)
        if tail and is_resource_type(tail["type"]) and isinstance(resource, dict):
            resource_id = resource.get("id")
            if tail["type"] != resource.get("resourceType") or (
                isinstance(resource_id, str) and tail["id"] != resource_id
            ):
                self.add(
                    "invariant",
                    N_("fullUrl looks like a RESTful URL but does not end with the resource's type and id"),
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
                "invariant",
                N_("An entry with search.mode 'outcome' must be an OperationOutcome"),
                f"{entry_path}.resource",
            )
        if mode in ("match", "include") and "id" not in resource:
            self.add("required", N_("Search results must have ids"), f"{entry_path}.resource.id")
        if (
            mode == "match"
            and search_types is not None
            and not (isinstance(resource_type, str) and resource_type in search_types)
        ):
            self.add(
                "invariant",
                N_("A search match is not of the resource type that was searched for"),
                f"{entry_path}.resource",
            )
