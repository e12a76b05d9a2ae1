"""The strict FHIR JSON layer: structure.check_structure, decode_base64_strict and
parsing.parse_json_body / parse_resource. Each test states one rule."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import time
from typing import Any

import pytest

from triage_service.fhir.json_body import parse_json_body
from triage_service.fhir.json_rules import decode_base64_strict
from triage_service.fhir.parsing import parse_resource
from triage_service.fhir.structure import check_structure
from triage_service.outcome import Issue

UUID_1 = "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"
UUID_2 = "urn:uuid:1e9d5f4a-3b2c-4a8e-9f7d-2c6b5a4e3d21"


def service_request(**changes: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Consult</p></div>'},
        "identifier": [{"system": "urn:oid:2.16.840.1.113883.2.4.3.999.1", "value": "HIS-1"}],
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "S01"}]}],
        "authoredOn": "2026-03-02T10:15:00+01:00",
        "note": [{"text": "Vraag over een huidafwijking"}],
    }
    resource.update(changes)
    return resource


def attachment(payload: bytes = b"hello world", **changes: Any) -> dict[str, Any]:
    result: dict[str, Any] = {
        "contentType": "text/plain",
        "data": base64.b64encode(payload).decode(),
        "size": len(payload),
        "hash": base64.b64encode(hashlib.sha1(payload).digest()).decode(),  # noqa: S324 - FHIR's hash is SHA-1
    }
    result.update(changes)
    return result


def document_reference(att: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": att}],
    }


def bundle(bundle_type: str, entries: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
    result.update(changes)
    return result


def errors(issues: list[Issue]) -> list[Issue]:
    return [issue for issue in issues if issue.is_error]


def expressions(issues: list[Issue]) -> list[str | None]:
    return [issue.expression for issue in errors(issues)]


def structure_errors(resource: dict[str, Any]) -> list[str | None]:
    return expressions(check_structure(resource))


def parse_errors(resource: dict[str, Any]) -> list[Issue]:
    return errors(parse_resource(resource).issues)


# -- baseline --------------------------------------------------------------------------------


def test_a_well_formed_consult_request_passes_every_check() -> None:
    result = parse_resource(service_request(), "ServiceRequest")

    assert result.issues == []
    assert result.model is not None
    assert result.ok
    assert result.resource_type == "ServiceRequest"


def test_a_valid_attachment_with_matching_size_and_hash_passes() -> None:
    assert parse_resource(document_reference(attachment())).issues == []


# -- JSON body ------------------------------------------------------------------------------


def test_a_body_that_is_not_utf8_is_refused() -> None:
    data, issues = parse_json_body('{"resourceType": "Patient", "name": [{"text": "Jos\xe9"}]}'.encode("latin-1"))

    assert data is None
    assert [issue.code for issue in issues] == ["structure"]
    assert "UTF-8" in issues[0].diagnostics


def test_a_utf8_byte_order_mark_is_tolerated() -> None:
    data, issues = parse_json_body(b'\xef\xbb\xbf{"resourceType": "Patient"}')

    assert issues == []
    assert data == {"resourceType": "Patient"}


def test_a_duplicate_json_key_is_refused_with_its_location() -> None:
    data, issues = parse_json_body(b'{"resourceType": "Patient", "name": [{"family": "A", "family": "B"}]}')

    assert data is None
    assert [(issue.code, issue.expression) for issue in issues] == [("structure", "Patient.name[0].family")]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_refused(literal: str) -> None:
    data, issues = parse_json_body(f'{{"resourceType": "Observation", "valueDecimal": {literal}}}'.encode())

    assert data is None
    assert [issue.code for issue in issues] == ["structure"]


def test_invalid_json_is_refused_with_a_position_but_without_echoing_content() -> None:
    data, issues = parse_json_body(b'{"resourceType": "Patient", "name": "Jansen-BSN-999911120",}')

    assert data is None
    assert "line 1" in issues[0].diagnostics
    assert "999911120" not in issues[0].diagnostics


@pytest.mark.parametrize("body", [b"[]", b'"Patient"', b"42", b'{"name": "x"}', b'{"resourceType": 7}'])
def test_the_top_level_must_be_an_object_with_a_string_resource_type(body: bytes) -> None:
    data, issues = parse_json_body(body)

    assert data is None
    assert [issue.code for issue in issues] == ["invalid"]


def test_parse_json_body_never_raises_on_garbage() -> None:
    for body in (b"", b"\x00\xff", b"{" * 100_000, b'{"a": ' + b"9" * 10_000 + b"}"):
        data, issues = parse_json_body(body)
        assert data is None
        assert issues


# -- nulls, empties, whitespace ---------------------------------------------------------------


def test_a_null_value_is_refused() -> None:
    assert structure_errors(service_request(priority=None)) == ["ServiceRequest.priority"]


def test_a_null_inside_an_array_of_objects_is_refused() -> None:
    resource = service_request(note=[{"text": "x"}, None])

    assert structure_errors(resource) == ["ServiceRequest.note[1]"]


def test_a_null_in_a_primitive_array_is_allowed_as_placeholder_for_an_extension() -> None:
    # http://hl7.org/fhir/R4/json.html#primitive: null aligns the value array with the _ array.
    name = {
        "given": ["Jan", None],
        "_given": [None, {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "x"}]}],
    }
    patient = {"resourceType": "Patient", "name": [name]}

    assert structure_errors(patient) == []
    assert parse_errors(patient) == []


def test_a_null_that_no_extension_fills_is_refused() -> None:
    patient = {"resourceType": "Patient", "name": [{"given": ["Jan", None]}]}

    assert structure_errors(patient) == ["Patient.name[0].given[1]"]


def test_value_and_underscore_arrays_must_have_the_same_length() -> None:
    ext = {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "x"}]}
    patient = {"resourceType": "Patient", "name": [{"given": ["Jan", "Piet"], "_given": [ext]}]}

    assert structure_errors(patient) == ["Patient.name[0].given"]


def test_an_empty_array_is_refused() -> None:
    assert structure_errors(service_request(category=[])) == ["ServiceRequest.category"]


def test_an_empty_object_is_refused() -> None:
    assert structure_errors(service_request(code={})) == ["ServiceRequest.code"]


def test_an_empty_string_is_refused() -> None:
    assert structure_errors(service_request(patientInstruction="")) == ["ServiceRequest.patientInstruction"]


def test_a_whitespace_only_identifier_value_is_refused_for_ids_and_codes() -> None:
    resource = service_request(reasonCode=[{"coding": [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "  "}]}])

    assert structure_errors(resource) == ["ServiceRequest.reasonCode[0].coding[0].code"]


def test_an_object_key_with_leading_or_trailing_whitespace_is_refused() -> None:
    resource = service_request()
    resource["priority "] = "routine"

    assert structure_errors(resource) == ["ServiceRequest.priority "]


def test_fhir_comments_from_dstu2_are_refused() -> None:
    assert structure_errors(service_request(fhir_comments=["a comment"])) == ["ServiceRequest.fhir_comments"]


def test_control_characters_in_strings_are_refused() -> None:
    assert structure_errors(service_request(note=[{"text": "a\x00b"}])) == ["ServiceRequest.note[0].text"]


def test_a_string_longer_than_one_megabyte_is_refused() -> None:
    resource = service_request(note=[{"text": "x" * (1024 * 1024 + 1)}])

    assert structure_errors(resource) == ["ServiceRequest.note[0].text"]


def test_embedded_script_tags_in_strings_are_refused() -> None:
    resource = service_request(note=[{"text": "zie <script>alert(1)</script>"}])

    issues = errors(check_structure(resource))

    assert [(issue.code, issue.expression) for issue in issues] == [("value", "ServiceRequest.note[0].text")]


def test_ordinary_less_than_signs_in_clinical_text_are_fine() -> None:
    assert structure_errors(service_request(note=[{"text": "CRP <5 mg/L, a<b"}])) == []


def test_json_nested_absurdly_deep_is_fatal() -> None:
    deep: dict[str, Any] = {"url": "http://example.org/fhir/ext", "valueString": "x"}
    for _ in range(200):
        deep = {"url": "http://example.org/fhir/ext", "extension": [deep]}
    issues = check_structure({"resourceType": "Patient", "extension": [deep]})

    assert any(issue.severity == "fatal" for issue in issues)


# -- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad_id", ["a_b", "a b", "x" * 65, "/foobar==", ""])
def test_a_resource_id_must_match_the_fhir_id_pattern_of_at_most_64_characters(bad_id: str) -> None:
    assert "ServiceRequest.id" in structure_errors(service_request(id=bad_id))


def test_a_numeric_resource_id_is_refused() -> None:
    assert structure_errors(service_request(id=1)) == ["ServiceRequest.id"]


def test_an_id_of_exactly_64_characters_is_fine() -> None:
    assert structure_errors(service_request(id="a" * 64)) == []


def test_duplicate_element_ids_within_a_resource_are_refused() -> None:
    resource = service_request(note=[{"id": "n1", "text": "a"}, {"id": "n1", "text": "b"}])

    assert structure_errors(resource) == ["ServiceRequest.note[1].id"]


# -- contained resources -------------------------------------------------------------------


def patient(resource_id: str = "p1") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": resource_id, "birthDate": "1970-01-01"}


def test_a_referenced_contained_resource_is_fine() -> None:
    resource = service_request(contained=[patient()], subject={"reference": "#p1"})

    assert structure_errors(resource) == []


def test_a_contained_resource_without_resource_type_is_fatal() -> None:
    resource = service_request(contained=[{"id": "p1"}], subject={"reference": "#p1"})
    issues = check_structure(resource)

    assert [(issue.severity, issue.expression) for issue in issues] == [("fatal", "ServiceRequest.contained[0]")]


def test_a_contained_resource_of_an_unknown_type_is_fatal() -> None:
    resource = service_request(contained=[{"resourceType": "ActorDefinition", "id": "a"}], subject={"reference": "#a"})

    assert [issue.code for issue in check_structure(resource)] == ["not-supported"]
    assert parse_resource(resource).model is None


def test_contained_resources_must_have_unique_ids() -> None:
    resource = service_request(
        contained=[patient(), patient()],
        subject={"reference": "#p1"},
    )

    assert structure_errors(resource) == ["ServiceRequest.contained[1].id"]


def test_a_contained_resource_must_be_referenced_from_the_container() -> None:
    # dom-3: an unreferenced contained resource is unvetted data riding along.
    assert structure_errors(service_request(contained=[patient()])) == ["ServiceRequest.contained[0]"]


def test_a_contained_resource_must_not_contain_resources_or_carry_version_metadata() -> None:
    nested = patient() | {"contained": [patient("p2")], "meta": {"versionId": "1"}}
    resource = service_request(contained=[nested], subject={"reference": "#p1"})

    assert set(structure_errors(resource)) >= {
        "ServiceRequest.contained[0].contained",
        "ServiceRequest.contained[0].meta",
    }


# -- base64 and attachments ------------------------------------------------------------------


def test_base64_with_the_whitespace_fhir_allows_decodes() -> None:
    assert decode_base64_strict("aGVs\nbG8g\r\n d29y bGQ=") == b"hello world"


@pytest.mark.parametrize(
    "text",
    [
        "QUJD%%%%",  # stray characters that a lenient decoder skips
        "aGVsbG8",  # missing padding
        "-_-_",  # URL-safe alphabet
        "aGVsbG8=aGVsbG8=",  # data after padding
        "QR==",  # non-zero pad bits
        "   ",  # nothing at all
        "aGVsbG8g\u00e9d29y",  # non-ASCII
    ],
)
def test_malformed_base64_is_refused_by_the_strict_decoder(text: str) -> None:
    with pytest.raises(ValueError, match="base64"):
        decode_base64_strict(text)


def test_attachment_data_that_is_not_strict_base64_is_refused() -> None:
    resource = document_reference({"contentType": "image/png", "data": "QUJD%%%%"})

    assert structure_errors(resource) == ["DocumentReference.content[0].attachment.data"]


def test_attachment_size_must_equal_the_decoded_length() -> None:
    resource = document_reference(attachment(size=100))

    assert structure_errors(resource) == ["DocumentReference.content[0].attachment.size"]


def test_attachment_hash_must_be_the_sha1_of_the_decoded_data() -> None:
    wrong = base64.b64encode(hashlib.sha1(b"other").digest()).decode()  # noqa: S324
    resource = document_reference(attachment(hash=wrong))

    assert structure_errors(resource) == ["DocumentReference.content[0].attachment.hash"]


def test_an_attachment_with_data_needs_a_content_type() -> None:
    att = attachment()
    del att["contentType"]

    assert structure_errors(document_reference(att)) == ["DocumentReference.content[0].attachment.contentType"]


def test_binary_data_is_decoded_strictly() -> None:
    binary = {"resourceType": "Binary", "contentType": "image/jpeg", "data": "/9j/4AAQ%%"}

    assert structure_errors(binary) == ["Binary.data"]


def test_signature_data_is_decoded_strictly() -> None:
    signature = {
        "type": [{"system": "urn:iso-astm:E1762-95:2013", "code": "1.2.840.10065.1.12.1.1"}],
        "when": "2026-01-01T10:00:00Z",
        "who": {"reference": "Practitioner/pr1"},
        "data": "not base64!",
    }
    resource = bundle("collection", [{"fullUrl": UUID_1, "resource": patient()}], signature=signature)

    assert structure_errors(resource) == ["Bundle.signature.data"]


def test_any_base64binary_typed_field_is_decoded_strictly_after_model_validation() -> None:
    # Device.udiCarrier.carrierAIDC is base64Binary; fhir.resources decodes it leniently.
    device = {"resourceType": "Device", "udiCarrier": [{"carrierAIDC": "QUJD%%%%"}]}

    assert expressions(parse_resource(device).issues) == ["Device.udiCarrier[0].carrierAIDC"]


def test_a_choice_value_base64binary_is_decoded_strictly() -> None:
    ext = {"url": "http://example.org/fhir/ext", "valueBase64Binary": "QUJD%%%%"}

    assert structure_errors(service_request(extension=[ext])) == ["ServiceRequest.extension[0].valueBase64Binary"]


# -- extensions ------------------------------------------------------------------------------


def test_an_extension_needs_a_url() -> None:
    assert structure_errors(service_request(extension=[{"valueBoolean": True}])) == ["ServiceRequest.extension[0].url"]


def test_an_extension_must_not_have_both_a_value_and_nested_extensions() -> None:
    ext = {
        "url": "http://example.org/fhir/ext",
        "valueBoolean": True,
        "extension": [{"url": "part", "valueString": "x"}],
    }

    assert structure_errors(service_request(extension=[ext])) == ["ServiceRequest.extension[0]"]


def test_an_extension_must_have_a_value_or_nested_extensions() -> None:
    ext = {"url": "http://example.org/fhir/ext", "id": "e1"}

    assert structure_errors(service_request(extension=[ext])) == ["ServiceRequest.extension[0]"]


def test_an_extension_has_at_most_one_value() -> None:
    ext = {"url": "http://example.org/fhir/ext", "valueBoolean": True, "valueString": "x"}

    assert "ServiceRequest.extension[0]" in structure_errors(service_request(extension=[ext]))


def test_a_modifier_extension_follows_the_same_rules() -> None:
    assert structure_errors(service_request(modifierExtension=[{"url": "http://example.org/fhir/m"}])) == [
        "ServiceRequest.modifierExtension[0]"
    ]


def test_a_top_level_extension_url_must_be_absolute_but_a_complex_extension_part_may_be_relative() -> None:
    complex_ext = {"url": "http://example.org/fhir/ext", "extension": [{"url": "part", "valueString": "x"}]}
    relative = {"url": "gp-intent", "valueString": "x"}

    assert structure_errors(service_request(extension=[complex_ext])) == []
    assert structure_errors(service_request(extension=[relative])) == ["ServiceRequest.extension[0].url"]


# -- bundles ---------------------------------------------------------------------------------


def transaction_entry(full_url: str, resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": full_url,
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]},
    }


def test_a_transaction_with_urn_uuid_full_urls_is_fine() -> None:
    resource = bundle(
        "transaction",
        [
            transaction_entry(UUID_1, {"resourceType": "Patient", "birthDate": "1970-01-01"}),
            transaction_entry(UUID_2, service_request(subject={"reference": UUID_1})),
        ],
    )

    assert structure_errors(resource) == []


@pytest.mark.parametrize(
    "full_url",
    [
        "Patient/1",  # relative
        "uin:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0",  # typo'd scheme
        "urn:uuid:0C3151BD-1CBF-4D64-B04D-CD9187A4C6E0",  # uppercase
        "urn:uuid:not-a-uuid",
        "urn:oid:1.2.abc",
        "http:/missing-host",
        "https://example.org/fhir/Patient/1/_history/2",  # version specific (bdl-8)
    ],
)
def test_every_full_url_must_be_an_absolute_uri(full_url: str) -> None:
    resource = bundle("collection", [{"fullUrl": full_url, "resource": patient("1")}])

    assert structure_errors(resource) == ["Bundle.entry[0].fullUrl"]


def test_a_restful_full_url_must_agree_with_the_resource_type_and_id() -> None:
    resource = bundle("collection", [{"fullUrl": "https://example.org/fhir/Patient/other", "resource": patient("p1")}])

    assert structure_errors(resource) == ["Bundle.entry[0].fullUrl"]


def test_every_transaction_entry_needs_a_request_with_method_and_url() -> None:
    entries = [
        {"fullUrl": UUID_1, "resource": patient()},
        {"fullUrl": UUID_2, "resource": patient("p2"), "request": {"method": "POST"}},
    ]

    assert structure_errors(bundle("transaction", entries)) == [
        "Bundle.entry[0].request",
        "Bundle.entry[1].request.url",
    ]


def test_a_collection_entry_must_not_have_a_request() -> None:
    resource = bundle("collection", [transaction_entry(UUID_1, patient())])

    assert structure_errors(resource) == ["Bundle.entry[0].request"]


def test_every_transaction_response_entry_needs_a_response() -> None:
    resource = bundle("transaction-response", [{"fullUrl": UUID_1, "resource": patient()}])

    assert structure_errors(resource) == ["Bundle.entry[0].response"]


def test_a_bundle_entry_resource_needs_a_resource_type() -> None:
    resource = bundle("collection", [{"fullUrl": UUID_1, "resource": {"id": "p1"}}])

    assert [(i.severity, i.expression) for i in check_structure(resource)] == [("fatal", "Bundle.entry[0].resource")]


def test_two_entries_with_the_same_full_url_are_refused() -> None:
    resource = bundle(
        "collection", [{"fullUrl": UUID_1, "resource": patient()}, {"fullUrl": UUID_1, "resource": patient()}]
    )

    assert structure_errors(resource) == ["Bundle.entry"]


def test_search_results_must_have_ids_and_outcomes_must_be_operation_outcomes() -> None:
    outcome_entry = {
        "fullUrl": "https://example.org/fhir/Patient/p9",
        "resource": patient("p9"),
        "search": {"mode": "outcome"},
    }
    match_entry = {
        "fullUrl": UUID_1,
        "resource": {"resourceType": "Patient"},
        "search": {"mode": "match"},
    }
    resource = bundle("searchset", [outcome_entry, match_entry])

    assert structure_errors(resource) == ["Bundle.entry[0].resource", "Bundle.entry[1].resource.id"]


def test_a_search_match_must_be_of_the_searched_type() -> None:
    entry = {"fullUrl": "https://example.org/fhir/Task/t1", "resource": {"resourceType": "Task", "id": "t1"}}
    entry["search"] = {"mode": "match"}
    resource = bundle(
        "searchset", [entry], link=[{"relation": "self", "url": "https://example.org/fhir/Patient?name=x"}]
    )

    assert structure_errors(resource) == ["Bundle.entry[0].resource"]


def test_link_relations_like_self_occur_only_once_and_paging_only_in_searches() -> None:
    links = [
        {"relation": "self", "url": "https://example.org/fhir/Bundle/b"},
        {"relation": "self", "url": "https://example.org/fhir/Bundle/b"},
        {"relation": "next", "url": "https://example.org/fhir/Bundle/b?page=2"},
    ]
    resource = bundle("collection", [{"fullUrl": UUID_1, "resource": patient()}], link=links)

    assert structure_errors(resource) == ["Bundle.link[1].relation", "Bundle.link[2].relation"]


# -- narrative, references, periods -----------------------------------------------------------


@pytest.mark.parametrize(
    "div",
    [
        "<p>no div root</p>",
        "<div>no namespace</div>",
        '<div xmlns="http://www.w3.org/1999/xhtml"><script>alert(1)</script></div>',
        '<div xmlns="http://www.w3.org/1999/xhtml"><a href="#" onclick="x()">a</a></div>',
        '<div xmlns="http://www.w3.org/1999/xhtml">   </div>',
    ],
)
def test_a_narrative_div_must_be_a_non_empty_safe_xhtml_div(div: str) -> None:
    resource = service_request(text={"status": "generated", "div": div})

    assert structure_errors(resource) == ["ServiceRequest.text.div"]


@pytest.mark.parametrize("reference", ["Patient/ p1", "Patient/p1 ", "patient/p1", "Patient", "Foo/1", "urn:uuid:x"])
def test_a_reference_must_be_well_formed_and_without_whitespace(reference: str) -> None:
    assert structure_errors(service_request(subject={"reference": reference})) == ["ServiceRequest.subject.reference"]


@pytest.mark.parametrize(
    "reference",
    ["Patient/p1", "Patient/p1/_history/2", "#p1x", UUID_1, "https://x.org/fhir/Patient/1", "Patient?identifier=a|b"],
)
def test_well_formed_references_are_fine(reference: str) -> None:
    assert structure_errors(service_request(subject={"reference": reference})) == []


def test_an_empty_reference_is_refused() -> None:
    assert structure_errors(service_request(subject={"reference": ""})) == ["ServiceRequest.subject.reference"]


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [
        ("2026-01-02", "2026-01-01", False),
        ("2026-01-01T10:00:00+01:00", "2026-01-01T09:30:00Z", True),  # 09:00Z before 09:30Z
        ("2026-01-01T10:00:00Z", "2026-01-01T09:30:00Z", False),
        ("2023-06-21", "2023-06-21T06:20:00Z", False),  # FHIRPath: equal at day precision -> indeterminate
        ("2023-06-20", "2023-06-21T06:20:00Z", True),
        ("2026", "2026", True),
    ],
)
def test_a_period_must_not_end_before_it_starts(start: str, end: str, ok: bool) -> None:
    resource = service_request(occurrencePeriod={"start": start, "end": end})

    assert structure_errors(resource) == ([] if ok else ["ServiceRequest.occurrencePeriod"])


# -- model layer: unknown types, JSON types, bindings, expressions -----------------------------


def test_an_unknown_resource_type_is_not_supported() -> None:
    result = parse_resource({"resourceType": "ActorDefinition", "id": "a"})

    assert [(i.code, i.expression) for i in result.issues] == [("not-supported", "ActorDefinition")]
    assert result.model is None


@pytest.mark.parametrize("resource_type", ["Coding", "Resource", "DomainResource", "SubscriptionTopic"])
def test_datatypes_abstract_types_and_r4b_only_types_are_not_resources_here(resource_type: str) -> None:
    assert [i.code for i in parse_resource({"resourceType": resource_type}).issues] == ["not-supported"]


def test_a_resource_of_another_type_than_expected_is_invalid() -> None:
    result = parse_resource(patient(), "ServiceRequest")

    assert [i.code for i in result.issues] == ["invalid"]
    assert result.model is None


def test_an_unknown_element_is_reported_as_not_in_fhir_r4() -> None:
    issues = parse_errors(service_request(urgency="high"))

    assert [(i.code, i.expression, i.diagnostics) for i in issues] == [
        ("structure", "ServiceRequest.urgency", "Unknown element 'urgency' (not in FHIR R4)")
    ]


def test_a_missing_required_element_is_reported_as_required() -> None:
    resource = service_request()
    del resource["intent"]

    assert [(i.code, i.expression) for i in parse_errors(resource)] == [("required", "ServiceRequest.intent")]


def test_pydantic_locations_become_fhirpath_expressions() -> None:
    coding = [{"system": "http://hl7.org/fhir/sid/icpc-1-nl", "code": "S01"}, {"system": 5, "code": "S02"}]
    resource = service_request(reasonCode=[{"coding": coding}])

    assert [(i.code, i.expression) for i in parse_errors(resource)] == [
        ("structure", "ServiceRequest.reasonCode[0].coding[1].system")
    ]


def test_pydantic_internal_location_parts_are_stripped() -> None:
    # fhir_comments is a str | list[str] union: pydantic reports ('fhir_comments', 'list[str]', 0).
    result = parse_resource(service_request(fhir_comments=[1]))

    assert all("str" not in (issue.expression or "") for issue in result.issues)
    assert {issue.expression for issue in result.issues} <= {
        "ServiceRequest.fhir_comments",
        "ServiceRequest.fhir_comments[0]",
    }


def test_a_bad_value_is_reported_as_value_without_echoing_it() -> None:
    issues = parse_errors(patient() | {"birthDate": "BSN 999911120"})

    assert [(i.code, i.expression) for i in issues] == [("value", "Patient.birthDate")]
    assert "999911120" not in issues[0].diagnostics


def test_a_code_outside_its_required_value_set_is_code_invalid_with_the_allowed_codes() -> None:
    issues = parse_errors(service_request(status="bogus"))

    assert [(i.code, i.expression) for i in issues] == [("code-invalid", "ServiceRequest.status")]
    assert "active" in issues[0].diagnostics and "revoked" in issues[0].diagnostics
    assert "bogus" not in issues[0].diagnostics


def test_required_bindings_are_checked_in_nested_backbone_elements_and_datatypes() -> None:
    resource = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": UUID_1,
                "resource": {
                    "resourceType": "Patient",
                    "gender": "man",
                    "telecom": [{"system": "telefoon", "value": "1"}],
                },
                "request": {"method": "SEND", "url": "Patient"},
            }
        ],
    }

    assert [(i.code, i.expression) for i in parse_errors(resource)] == [
        ("code-invalid", "Bundle.entry[0].resource.gender"),
        ("code-invalid", "Bundle.entry[0].resource.telecom[0].system"),
        ("code-invalid", "Bundle.entry[0].request.method"),
    ]


def test_truncated_value_set_lists_are_not_used_to_refuse_codes() -> None:
    # fhir.resources ends incomplete lists with "+", e.g. Observation.status.
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"}}

    assert parse_errors(observation) == []


@pytest.mark.parametrize(
    ("element", "value"),
    [("doNotPerform", "true"), ("doNotPerform", 1), ("quantityQuantity", {"value": "12"}), ("authoredOn", 20260101)],
)
def test_primitives_must_have_their_json_type_not_one_pydantic_coerces(element: str, value: Any) -> None:
    issues = parse_errors(service_request(**{element: value}))

    assert [i.code for i in issues] == ["structure"]


def test_an_array_where_a_single_element_belongs_is_refused_and_vice_versa() -> None:
    resource = service_request(subject=[{"reference": "Patient/p1"}], note={"text": "x"})

    assert [(i.code, i.expression) for i in parse_errors(resource)] == [
        ("structure", "ServiceRequest.subject"),
        ("structure", "ServiceRequest.note"),
    ]


def test_a_number_where_a_url_belongs_is_located_instead_of_crashing_the_model_library() -> None:
    # fhir.resources raises TypeError/AttributeError (not a ValidationError) for these.
    for url in (5, ["https://example.org/a.pdf"]):
        issues = parse_errors(document_reference({"contentType": "application/pdf", "url": url}))

        assert [(i.code, i.expression) for i in issues] == [
            ("structure", "DocumentReference.content[0].attachment.url")
        ]


def test_a_complex_element_given_as_a_json_string_is_refused() -> None:
    # fhir.resources would json-parse the string into a Reference.
    resource = service_request(requester=json.dumps({"reference": "PractitionerRole/r1"}))

    assert [(i.code, i.expression) for i in parse_errors(resource)] == [("structure", "ServiceRequest.requester")]


@pytest.mark.parametrize(
    "system", ["#local", "icpc", "http://hl7.org/fhir/ValueSet/icpc", "http://x.org/a b", "urn:uuid:ABC"]
)
def test_a_coding_system_must_be_an_absolute_code_system_uri(system: str) -> None:
    resource = service_request(reasonCode=[{"coding": [{"system": system, "code": "S01"}]}])

    assert expressions(parse_resource(resource).issues) == ["ServiceRequest.reasonCode[0].coding[0].system"]


def test_a_canonical_must_be_absolute_or_a_fragment() -> None:
    resource = service_request(instantiatesCanonical=["PlanDefinition/pd1"])

    assert expressions(parse_resource(resource).issues) == ["ServiceRequest.instantiatesCanonical[0]"]


def test_structural_and_model_problems_on_the_same_element_are_reported_once() -> None:
    issues = parse_resource(service_request(id="a_b")).issues

    assert expressions(issues) == ["ServiceRequest.id"]


def test_the_model_is_withheld_when_any_error_is_found() -> None:
    result = parse_resource(document_reference(attachment(size=3)))

    assert result.model is None
    assert not result.ok


def test_parse_resource_never_raises_on_arbitrary_shapes() -> None:
    shapes: list[Any] = [
        None,
        [],
        "ServiceRequest",
        {"resourceType": None},
        {"resourceType": "Bundle", "entry": "x"},
        {"resourceType": "Bundle", "entry": [None, 1, [], {"resource": 5}]},
        {"resourceType": "Patient", "contained": {"resourceType": "Patient"}},
        {"resourceType": "Patient", "name": [{"given": [[]]}]},
        {"resourceType": "Patient", 1: "x"},
        {"resourceType": "Patient", "extension": [1, "x", {"url": 5}]},
        {"resourceType": "Parameters", "parameter": [{"name": "r", "resource": {"resourceType": "Nope"}}]},
    ]
    for shape in shapes:
        result = parse_resource(shape)
        assert result.model is None
        assert errors(result.issues)


def test_parsing_is_fast_enough_for_every_request() -> None:
    resource = bundle(
        "transaction",
        [
            transaction_entry(f"urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c{i:03d}", copy.deepcopy(service_request()))
            for i in range(20)
        ],
    )
    parse_resource(resource)  # warm the per-class metadata caches
    started = time.perf_counter()
    for _ in range(10):
        assert parse_resource(resource).issues == []
    assert (time.perf_counter() - started) / 10 < 0.25
