"""A search for back-referrals takes the result parameters and refusals of every other search: _summary=count,
_total=none, an unknown parameter refused (lenient: left out), and no empty entry list."""

from __future__ import annotations

from flask import Flask

from tests.conftest import FrozenClock, GPSystem
from tests.test_back_referral_api import _sent
from triage_service.fhir.back_referrals import CS_BACK_REFERRAL

BY_CATEGORY = f"/fhir/ServiceRequest?category={CS_BACK_REFERRAL}|back-referral"


def test_summary_count_answers_the_number_of_back_referrals_without_them(app: Flask, clock: FrozenClock,
                                                                         gp: GPSystem) -> None:
    _sent(app, clock)

    bundle = gp.get(f"{BY_CATEGORY}&_summary=count").get_json()

    assert bundle["total"] == 1 and "entry" not in bundle


def test_total_none_leaves_the_total_out(app: Flask, clock: FrozenClock, gp: GPSystem) -> None:
    _sent(app, clock)

    bundle = gp.get(f"{BY_CATEGORY}&_total=none").get_json()

    assert "total" not in bundle and len(bundle["entry"]) == 1


def test_no_back_referral_is_an_empty_bundle_without_an_entry_list(gp: GPSystem) -> None:
    bundle = gp.get(BY_CATEGORY).get_json()

    assert bundle["total"] == 0 and "entry" not in bundle


def test_an_unknown_parameter_or_summary_value_is_refused(gp: GPSystem) -> None:
    assert gp.get(f"{BY_CATEGORY}&subject=x").status_code == 400
    assert gp.get(f"{BY_CATEGORY}&_summary=true").status_code == 400


def test_a_lenient_search_leaves_the_unknown_parameter_out_and_says_so(app: Flask, clock: FrozenClock,
                                                                      gp: GPSystem) -> None:
    _sent(app, clock)

    bundle = gp.get(f"{BY_CATEGORY}&subject=x", Prefer="handling=lenient").get_json()

    modes = [e["search"]["mode"] for e in bundle["entry"]]
    assert modes == ["match", "outcome"]
