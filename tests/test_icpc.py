"""The ICPC-1-NL table a GP picks a complaint from, and the lookups the form and the agreements make in it."""

from __future__ import annotations

from importlib.resources import files

import pytest

from triage_service.fhir import icpc

CHAPTERS = "ABDFHKLNPRSTUWXYZ"


def rows() -> list[list[str]]:
    text = files("triage_service.fhir").joinpath("icpc_1_nl.tsv").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "code\ttitle"
    return [line.split("\t") for line in lines[1:] if line]


def test_every_row_is_an_icpc_code_with_a_title() -> None:
    for row in rows():
        assert len(row) == 2, row
        code, title = row
        assert icpc.ICPC_CODE.match(code), code
        assert title.strip() == title != "", code


def test_no_code_appears_twice() -> None:
    codes = [code for code, _ in rows()]
    assert len(codes) == len(set(codes))


def test_every_chapter_is_in_the_table_with_its_dutch_name() -> None:
    for letter in CHAPTERS:
        assert icpc.title(letter), letter
    assert icpc.title("S") == "Huid en subcutis"
    assert icpc.title("K") == "Hartvaatstelsel"


def test_the_table_is_large_enough_to_pick_from() -> None:
    assert len(rows()) >= 400


@pytest.mark.parametrize(("code", "title"), [
    ("S82", "Naevus/moedervlek"),
    ("S91", "Psoriasis"),
    ("S74", "Dermatomycose"),
    ("K86", "Essentiële hypertensie zonder orgaanbeschadiging"),
    ("K77", "Decompensatio cordis"),
])
def test_well_known_codes_have_their_dutch_titles(code: str, title: str) -> None:
    assert icpc.title(code) == title


def test_a_code_is_found_whatever_its_case_or_spacing() -> None:
    assert icpc.title(" s91 ") == "Psoriasis"


def test_an_unknown_code_has_no_title() -> None:
    assert icpc.title("S30") is None
    assert icpc.title("not a code") is None


def test_the_chapter_of_a_code_is_its_letter() -> None:
    assert icpc.chapter_of("S82") == "S"
    assert icpc.chapter_of("s97.03") == "S"
    assert icpc.chapter_of("K") == "K"


def test_what_is_no_icpc_code_has_no_chapter() -> None:
    for wrong in ("C01", "S8", "S821", "S82.1", ""):
        with pytest.raises(ValueError, match="ICPC"):
            icpc.chapter_of(wrong)


def test_searching_a_code_prefix_finds_the_codes_that_start_with_it() -> None:
    found = icpc.search("s8")
    codes = [code for code, _ in found]
    assert codes
    assert all(code.startswith("S8") for code in codes)
    assert codes == sorted(codes)
    assert ("S82", "Naevus/moedervlek") in found


def test_searching_a_dutch_word_finds_the_titles_that_have_it() -> None:
    assert ("S87", "Constitutioneel eczeem") in icpc.search("eczeem")


def test_searching_without_accents_finds_titles_with_them() -> None:
    found = icpc.search("essentiele hypertensie")
    assert found == [("K86", "Essentiële hypertensie zonder orgaanbeschadiging")]


def test_codes_come_before_titles_and_each_group_is_sorted_by_code() -> None:
    # "k7" is a code prefix (K70 to K79) and also no word of any title; "decompensatio" is only a title.
    codes = [code for code, _ in icpc.search("k7")]
    assert codes == sorted(codes) and codes[0] == "K70"
    assert [code for code, _ in icpc.search("decompensatio")] == ["K77"]


def test_a_search_gives_at_most_limit_rows_and_nothing_for_an_empty_query() -> None:
    assert len(icpc.search("S", limit=5)) == 5
    assert icpc.search("   ") == []
    assert icpc.search("eczeem", limit=0) == []


def test_a_chapter_pattern_gives_only_that_chapters_codes() -> None:
    covered = icpc.codes_in(["S"])
    assert covered
    assert all(code.startswith("S") for code, _ in covered)
    assert ("S82", "Naevus/moedervlek") in covered


def test_a_code_pattern_gives_that_code_and_its_subcodes() -> None:
    assert [code for code, _ in icpc.codes_in(["S82"])] == ["S82"]
    assert [code for code, _ in icpc.codes_in(["s97"])] == ["S97", "S97.03"]


def test_no_patterns_means_every_code() -> None:
    assert len(icpc.codes_in([])) == len(rows())


def test_a_pattern_that_is_no_icpc_code_is_refused() -> None:
    with pytest.raises(ValueError, match="ICPC"):
        icpc.codes_in(["S", "Huid"])
