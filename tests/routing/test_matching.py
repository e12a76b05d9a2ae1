"""A consult matches a patient profile only when every dimension admits it, and a miss says why."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from triage_service.routing.matching import CompiledProfile, RoutingRequest, RoutingTable, mismatches

PROFILE = CompiledProfile(
    profile_id="p1", profile_name="Huid volwassenen", agreement_id="a1", agreement_code="MKC-DERM",
    specialism="0310", icpc_codes=frozenset({"K77"}), icpc_chapters=frozenset({"S"}), min_age=18, max_age=75,
    sex=None, postcode_ranges=((3000, 3199),), forms=frozenset({"e-consult"}), min_photos=2,
    insurers=frozenset({"3311"}), agreement_forms=frozenset({"e-consult", "ecms"}), valid_from=date(2026, 1, 1),
    valid_until=date(2026, 12, 31), specialist_agbs=("03100001",), group_queue=False,
    subcontractor_agb="06010001", subcontractor_name="Ziekenhuis", answer_norms={"routine": {"working_days": 2}},
)
REQUEST = RoutingRequest(specialism="0310", icpc_codes=("S82",), age=58, sex="female", postcode=3011,
                         insurer="3311", form="e-consult", photo_count=3, on=date(2026, 11, 23))


def dimensions(**changes: Any) -> list[str]:
    return [m.dimension for m in mismatches(PROFILE, replace(REQUEST, **changes))]


def test_a_request_inside_every_dimension_matches() -> None:
    assert mismatches(PROFILE, REQUEST) == []


@pytest.mark.parametrize(("changes", "dimension"), [
    ({"insurer": "3343"}, "insurer"),
    ({"age": 17}, "age"),
    ({"age": 76}, "age"),
    ({"icpc_codes": ("L15",)}, "icpc"),
    ({"form": "video-consult"}, "form"),
    ({"form": "ecms"}, "form"),  # allowed by the agreement, but not for this profile
    ({"photo_count": 1}, "photos"),
    ({"postcode": 1011}, "region"),
    ({"postcode": None}, "region"),
    ({"on": date(2027, 1, 1)}, "validity"),
    ({"performer_agb": "03100099"}, "performer"),
])
def test_each_dimension_can_refuse_a_request(changes: dict[str, Any], dimension: str) -> None:
    assert dimensions(**changes) == [dimension]


@pytest.mark.parametrize("codes", [("S82",), ("S82.01",), ("K77",), ("A01", "S74")])
def test_icpc_chapters_codes_and_extensions_are_admitted(codes: tuple[str, ...]) -> None:
    assert dimensions(icpc_codes=codes) == []


def test_a_profile_for_one_sex_refuses_the_other() -> None:
    female_only = replace(PROFILE, sex="female")
    assert [m.dimension for m in mismatches(female_only, replace(REQUEST, sex="male"))] == ["sex"]


def test_the_table_only_considers_profiles_of_the_requested_specialism() -> None:
    table = RoutingTable([PROFILE, replace(PROFILE, profile_id="p2", specialism="0320")])
    result = table.match(REQUEST)
    assert [p.profile_id for p in result.matches] == ["p1"]
    assert result.near_misses == []


def test_the_explanation_names_what_the_closest_profile_lacks() -> None:
    table = RoutingTable([PROFILE, replace(PROFILE, profile_id="p2", insurers=frozenset({"9999"}),
                                           min_age=80, max_age=None)])
    text = table.match(replace(REQUEST, insurer="3343")).explanation("Dermatology")[0].english()
    assert text.startswith("No agreement covers this Dermatology request. Closest: 'Huid volwassenen'")
    assert "UZOVI 3343 is not covered" in text and "age" not in text


def test_the_explanation_for_an_uncovered_specialism_says_so() -> None:
    result = RoutingTable([PROFILE]).match(replace(REQUEST, specialism="0329"))
    assert [m.english() for m in result.explanation("Psychiatry")] == ["No collaboration agreement covers Psychiatry."]


def test_a_missing_postcode_is_not_echoed_and_a_wrong_one_neither() -> None:
    messages = [m.message.english() for m in mismatches(PROFILE, replace(REQUEST, postcode=1011))]
    assert messages == ["the patient lives outside the agreed region"]


def test_the_index_and_the_fast_path_agree_with_the_explained_rules_on_random_cases() -> None:
    """admits() and the table's index must give exactly the answers mismatches() explains."""
    import random

    from triage_service.routing.matching import admits

    rng = random.Random(7)
    profiles = [replace(PROFILE, profile_id=f"p{i}", specialism=rng.choice(["0310", "0320"]),
                        insurers=frozenset(rng.sample(["3311", "3343", "3358"], rng.randint(1, 3))),
                        forms=frozenset(rng.sample(["e-consult", "ecms", "video-consult"], rng.randint(1, 3))),
                        min_age=rng.choice([None, 0, 18, 65]), max_age=rng.choice([None, 17, 64, 120]),
                        sex=rng.choice([None, "female"]), min_photos=rng.randint(0, 3),
                        icpc_codes=frozenset(rng.sample(["S82", "K77", "L15"], rng.randint(0, 2))),
                        icpc_chapters=frozenset(rng.sample(["S", "K"], rng.randint(0, 1))),
                        postcode_ranges=rng.choice([(), ((3000, 3199),)]))
                for i in range(300)]
    table = RoutingTable(profiles)
    for _ in range(2000):
        request = replace(REQUEST, specialism=rng.choice(["0310", "0320"]), insurer=rng.choice(["3311", "3343"]),
                          form=rng.choice(["e-consult", "ecms", "video-consult"]), age=rng.randint(0, 100),
                          sex=rng.choice(["male", "female"]), photo_count=rng.randint(0, 3),
                          icpc_codes=(rng.choice(["S82", "K77", "L15", "A01"]),),
                          postcode=rng.choice([None, 3011, 1011]))
        expected = [p for p in profiles if p.specialism == request.specialism and not mismatches(p, request)]
        assert [admits(p, request) for p in profiles if p.specialism == request.specialism] == [
            not mismatches(p, request) for p in profiles if p.specialism == request.specialism]
        assert table.match(request).matches == expected


def test_each_equally_close_profile_is_explained_on_its_own_line() -> None:
    photo = replace(PROFILE, profile_id="photo", profile_name="Fotoconsult")
    talk = replace(PROFILE, profile_id="talk", profile_name="Overleg", forms=frozenset({"intercollegial-consult"}),
                   agreement_forms=frozenset({"e-consult", "intercollegial-consult"}), min_photos=0)
    lines = RoutingTable([photo, talk]).match(replace(REQUEST, photo_count=0)).explanation("Dermatology")
    assert [line.english() for line in lines] == [
        "No agreement covers this Dermatology request. Closest: 'Fotoconsult' (MKC-DERM): "
        "2 photos are required (0 attached).",
        "No agreement covers this Dermatology request. Closest: 'Overleg' (MKC-DERM): an e-consult is not agreed "
        "for these patients (agreed: intercollegial consult).",
    ]
