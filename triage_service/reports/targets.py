"""Targets agreed before the start against what happened (issue 22): per agreement of the zorggroep that
runs in the period, each target of its ``monitoring`` block (agreements/business_terms.py) beside the actual
figure from the same monitoring query the dashboard shows, and whether it was met. A target the file does not
name is reported as *not agreed* rather than left out, so a missing agreement is visible too.

- prevented referrals: avoided referrals (by the GP's intent and returned after triage) as a share of the
  GP's intended referrals, at least the target;
- within the norm: the monitoring's within-norm share (open consults past their due time count as late),
  at least the target;
- referral rate against the baseline: the share of answered consults that became a referral beside the
  referral rate for the covered ICPC codes before the start; lower is better, so "met" means below it;
- saving: the saving ratio, at least the target; decided in whole cents like the framework's one third;
- median answer time: at most the target hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage_service.models import Agreement
from triage_service.reports.monitoring import GroupBy, Window, monitoring

#: In the order the screens and the quarterly report show them.
TARGETS = ("prevented_referrals_percent", "within_norm_percent", "referral_rate_baseline_percent",
           "saving_percent", "median_answer_hours")


@dataclass(frozen=True)
class Target:
    name: str
    #: As written in the agreement file (a percentage or hours); None: not agreed.
    agreed: float | None
    #: The actual figure in the same unit (a percentage with two decimals, or hours); None: no data yet.
    actual: float | None
    #: True or False once both are known; None otherwise.
    met: bool | None


@dataclass(frozen=True)
class AgreementTargets:
    agreement_id: str
    code: str
    name: str
    targets: list[Target]

    @property
    def any_agreed(self) -> bool:
        return any(target.agreed is not None for target in self.targets)


def targets_against_actual(session: Session, zorggroep_id: str, window: Window,
                           now: datetime) -> list[AgreementTargets]:
    report = monitoring(session, zorggroep_id, window, GroupBy.AGREEMENT, now)
    figures = {group["key"]: group for group in report["groups"]}
    running = session.scalars(select(Agreement).where(
        Agreement.zorggroep_id == zorggroep_id, Agreement.valid_from < window.end.date(),
        or_(Agreement.valid_until.is_(None), Agreement.valid_until >= window.start.date()))
        .order_by(Agreement.code, Agreement.valid_from))
    found = []
    for agreement in running:
        group = figures.get(agreement.code)
        agreed = agreement.monitoring_targets or {}
        found.append(AgreementTargets(agreement.id, agreement.code, agreement.name,
                                      [_target(name, agreed.get(name), group) for name in TARGETS]))
    return found


def _target(name: str, agreed: Any, group: dict[str, Any] | None) -> Target:
    goal = None if agreed is None else float(agreed)
    actual, met = _actual(name, group), None
    if goal is not None and actual is not None and group is not None:
        met = _met(name, goal, actual, group)
    return Target(name, goal, actual, met)


def _actual(name: str, group: dict[str, Any] | None) -> float | None:
    if group is None:
        return None
    case = group["business_case"]
    share = {"prevented_referrals_percent": case["avoided_share_of_intended"],
             "within_norm_percent": group["within_norm_share"],
             "referral_rate_baseline_percent": group["conversion_rate"],
             "saving_percent": case["saving_ratio"]}
    if name == "median_answer_hours":
        median = group["answer_hours"]["median"]
        return None if median is None else float(median)
    value = share[name]
    return None if value is None else round(float(value) * 100, 2)


def _met(name: str, goal: float, actual: float, group: dict[str, Any]) -> bool:
    """Decided on the counts, never on a rounded percentage: 89.996% does not meet 90%, nor 33.1% a third."""
    if name == "median_answer_hours":
        return actual <= goal
    case = group["business_case"]
    part, whole = {
        "prevented_referrals_percent": (case["avoided_referrals"], case["intended_referrals"]),
        "within_norm_percent": (group["within_norm"], group["completed"] + group["late_open"]),
        "referral_rate_baseline_percent": (group["converted_to_referral"], group["completed"]),
        "saving_percent": (case["saving_cents"], case["avoided_cents"]),
    }[name]
    exact, wanted = Fraction(int(part), int(whole)), Fraction(str(goal)) / 100
    return exact < wanted if name == "referral_rate_baseline_percent" else exact >= wanted
