"""Flagging, at intake, the consults that are likely to become referrals (the "referral triage" half).

A flagged request is still accepted: the GP keeps the choice, and the specialist
sees the flag and triages such consults first. Beside the rule that fired, the
GP sees how often similar consults (same specialism, same ICPC code) became a
referral in this service's own completed consults, with the sample size.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import URL, case, func, select
from sqlalchemy.orm import Session

from triage_service import clock
from triage_service.models import Consult, RequestStatus
from triage_service.models.consult import REFERRAL_CATEGORY
from triage_service.routing.matching import CompiledProfile, RoutingRequest


@dataclass(frozen=True)
class FiredFlag:
    kind: str  # "red-flag", "physical-examination" or "referral-profile"
    rule: str
    reason: str


def _icpc_hit(codes: tuple[str, ...], rule_codes: frozenset[str]) -> bool:
    return any(code in rule_codes or code[:1] in rule_codes or code.split(".")[0] in rule_codes for code in codes)


def fired_flags(profile: CompiledProfile, request: RoutingRequest) -> list[FiredFlag]:
    fired = []
    for name, kind, codes, reason in profile.referral_flags:
        if kind == "physical-examination" and request.form == "ecms":
            continue  # the patient is seen in person anyway
        if _icpc_hit(request.icpc_codes, codes):
            fired.append(FiredFlag(kind, name, reason))
    return fired


def referral_profile_flag(profile: CompiledProfile) -> FiredFlag:
    return FiredFlag("referral-profile", profile.profile_name,
                     f"No meekijkconsult profile admits this patient, but the referral profile "
                     f"'{profile.profile_name}' of agreement {profile.agreement_code} does: the specialist will "
                     f"probably advise a referral")


#: Seconds a counted figure is reused (settings.conversion_rate_cache_seconds), and the figures by
#: (database, specialism, ICPC): (monotonic time counted, total, converted).
_cache_seconds = 0.0
_cache: dict[tuple[URL, str, str], tuple[float, int, int]] = {}
_cache_lock = threading.Lock()


def configure(cache_seconds: float) -> None:
    global _cache_seconds
    _cache_seconds = cache_seconds
    _cache.clear()


def conversion_rate(session: Session, specialism: str, icpc: str) -> tuple[int, int]:
    """(completed similar consults, how many of them became a referral), counted in the database.

    Only meekijkconsults count: a referral sent for triage is a referral to begin with, and only the ones
    triage returned are completed (an accepted one stays an active request), so counting them would make
    meekijkconsults look less likely to become referrals than they are. The count reads every completed
    similar consult (index-only, but tens of thousands for a common code after some years), so each worker
    reuses a figure for ``configure``'s number of seconds.
    """
    key = (session.get_bind().engine.url, specialism, icpc)  # the URL is hashable: no string built per intake
    now = clock.monotonic()
    cached = _cache.get(key)
    if cached is not None and now - cached[0] < _cache_seconds:
        return cached[1], cached[2]
    total, converted = _count(session, specialism, icpc)
    if _cache_seconds > 0:
        with _cache_lock:
            _cache[key] = (now, total, converted)
    return total, converted


def _count(session: Session, specialism: str, icpc: str) -> tuple[int, int]:
    total, converted = session.execute(
        select(func.count(), func.coalesce(func.sum(case((Consult.converted_to_referral.is_(True), 1), else_=0)), 0))
        .where(Consult.specialism == specialism, Consult.primary_icpc == icpc,
               Consult.status == RequestStatus.COMPLETED, Consult.category != REFERRAL_CATEGORY)).one()
    return int(total), int(converted)
