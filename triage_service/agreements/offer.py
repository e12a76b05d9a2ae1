"""What a practice can ask today: the specialisms, consult forms and patient profiles in force.

The portal's new-consult form shows only these, with each profile's inclusion criteria and what it
requires, so a GP does not compose a consult that routing must then refuse. It reads the same compiled
routing table the intake routes by: what is offered and what is admitted cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from triage_service.routing.matching import CompiledProfile
from triage_service.routing.service import routing_table

FORM_ORDER = ("e-consult", "intercollegial-consult", "video-consult", "ecms")
PRIORITY_ORDER = ("routine", "urgent", "asap", "stat")


@dataclass(frozen=True)
class OfferedProfile:
    name: str
    agreement: str
    category: str
    form: str
    #: ICPC codes and whole chapters ("S"); empty admits every complaint.
    icpc: tuple[str, ...]
    min_age: int | None
    max_age: int | None
    sex: str | None
    min_photos: int
    regional: bool


@dataclass(frozen=True)
class OfferedSpecialism:
    code: str
    forms: tuple[str, ...]
    priorities: tuple[str, ...]
    profiles: tuple[OfferedProfile, ...]
    insurers: tuple[str, ...]


def consult_offer(session: Session, on: date, requester_kind: str = "gp-practice",
                  requester_agb: str | None = None) -> list[OfferedSpecialism]:
    """Per specialism (in code order): the forms, urgencies and profiles of the agreements in force on ``on`` that
    admit this requester (a practice, or the out-of-hours post the agreement names)."""
    offered = []
    for code, profiles in sorted(routing_table(session).by_specialism.items()):
        current = [p for p in profiles if p.valid_from <= on and (p.valid_until is None or on <= p.valid_until)
                   and requester_kind in p.requesters
                   and (requester_kind != "out-of-hours-post" or requester_agb in p.out_of_hours_posts)]
        if not current:
            continue
        forms = {f for p in current for f in p.forms}
        priorities = {k for p in current for k in (p.priorities or p.answer_norms)}
        offered.append(OfferedSpecialism(
            code=code, forms=tuple(f for f in FORM_ORDER if f in forms),
            priorities=tuple(k for k in PRIORITY_ORDER if k in priorities),
            profiles=tuple(_offered(p, form) for p in current for form in sorted(p.forms)),
            insurers=tuple(sorted({i for p in current for i in p.insurers}))))
    return offered


def _offered(profile: CompiledProfile, form: str) -> OfferedProfile:
    return OfferedProfile(name=profile.profile_name, agreement=profile.agreement_code,
                          category="referral" if "referral" in profile.categories else "meekijkconsult", form=form,
                          icpc=tuple(sorted(profile.icpc_chapters | profile.icpc_codes)), min_age=profile.min_age,
                          max_age=profile.max_age, sex=profile.sex, min_photos=profile.min_photos,
                          regional=bool(profile.postcode_ranges))


def icpc_patterns(offer: list[OfferedSpecialism]) -> dict[str, tuple[str, ...]]:
    """Per specialism, the ICPC codes and chapters some profile admits ("" when one admits all)."""
    patterns: dict[str, tuple[str, ...]] = {}
    for specialism in offer:
        found: set[str] = set()
        for profile in specialism.profiles:
            found |= set(profile.icpc) if profile.icpc else {""}
        patterns[specialism.code] = tuple(sorted(found))
    return patterns
