"""The business case as the insurer's framework defines it (Menzis, toetsingskader optimalisatie
eerstelijnszorg; issue 22), per agreement and for the whole zorggroep.

- **Cost** is the integral S3 tariff of every answered consult. The zorggroep pays the subcontractor's fee
  *out of* that tariff, so the fee is shown as a split of the cost (the subcontractor's share and what stays
  with the zorggroep), never added on top of it. A consult that overflowed to the agreement's backup
  (routing/overflow.py) is paid at the backup's fee recorded when it overflowed, not the local one: that is
  what the statements pay (reports/overflow.py), and the business case must add up to the same money.
- **The tariff against what it replaces**: the integral tariff as a share of the average second-line cost of
  a referral (the agreement's ``average_referral_cost_cents``).
- **Avoided referrals** in number, as a share of the GP's intended referrals, and in euros: a consult the GP
  would have referred (intent ``would-refer``) that did not become a referral, and, shown separately, a
  referral that triage returned to the GP with advice. Both count in the avoided cost.
- **The collaboration's own costs** (the agreement's ``costs`` block): structural costs per year pro rata per
  day of the period the agreement runs in (a year counts 365 days; rounded to whole cents, half up), and
  incidental costs once, in the period that holds the agreement's first day. These belong to an agreement,
  not to a specialism, practice, specialist or week: only the per-agreement and whole-zorggroep figures carry
  them (``None`` elsewhere, which the screens say).
- **Saving** = avoided cost - consult cost - own costs; **saving ratio** = saving / avoided cost, against the
  framework's target of one third. Whether the target is met is decided exactly, in whole cents
  (3 x saving >= avoided), never on a rounded percentage: 33.1% is below target, however it is rounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.models import Agreement
from triage_service.routing.working_time import AMSTERDAM

#: The framework's target: a saving of at least one third of the avoided second-line cost.
TARGET_NUMERATOR, TARGET_DENOMINATOR = 1, 3
TARGET_SAVING_RATIO = TARGET_NUMERATOR / TARGET_DENOMINATOR
DAYS_PER_YEAR = 365


@dataclass(frozen=True)
class Prices:
    tariff_cents: int
    fee_cents: int
    referral_cost_cents: int | None


@dataclass
class Money:
    """One group's money, summed over the agreements its consults ran under."""

    consult_cost: int = 0
    subcontractor_share: int = 0
    avoided_by_intent: int = 0
    avoided_by_return: int = 0
    #: What the consults would have cost as referrals (completed x referral cost): the tariff's comparison base.
    replaced_cost: int = 0
    uncosted: int = 0
    structural: int | None = None
    incidental: int | None = None

    def add(self, price: Prices | None, completed: int, by_intent: int, by_return: int,
            overflowed: int = 0, overflow_fees: int = 0) -> None:
        """``overflowed`` of the ``completed`` consults were answered by the backup, for ``overflow_fees`` in all."""
        if price is None or price.referral_cost_cents is None:
            self.uncosted += completed
            return
        self.consult_cost += completed * price.tariff_cents
        self.subcontractor_share += (completed - overflowed) * price.fee_cents + overflow_fees
        self.avoided_by_intent += by_intent * price.referral_cost_cents
        self.avoided_by_return += by_return * price.referral_cost_cents
        self.replaced_cost += completed * price.referral_cost_cents

    def add_own_costs(self, structural: int, incidental: int) -> None:
        self.structural = (self.structural or 0) + structural
        self.incidental = (self.incidental or 0) + incidental


def prices(session: Session) -> dict[str, Prices]:
    return {a: Prices(t, f, c) for a, t, f, c in session.execute(select(
        Agreement.id, Agreement.s3_tariff_cents, Agreement.subcontractor_fee_cents,
        Agreement.average_referral_cost_cents))}


def own_costs(session: Session, zorggroep_id: str, start: datetime, end: datetime) -> dict[str, tuple[int, int]]:
    """Per agreement of the zorggroep that runs in [start, end): its structural costs for the days it runs
    in the period, and its incidental costs when its first day lies in the period."""
    first, after = _local_day(start), _local_day(end)
    found: dict[str, tuple[int, int]] = {}
    for agreement in session.scalars(select(Agreement).where(Agreement.zorggroep_id == zorggroep_id)):
        costs = agreement.costs or {}
        if not costs:
            continue
        runs_from = max(first, agreement.valid_from)
        runs_until = min(after, agreement.valid_until + timedelta(days=1)) if agreement.valid_until else after
        days = (runs_until - runs_from).days
        if days <= 0:
            continue
        yearly = int(costs.get("structural_cents_per_year", 0))
        structural = (yearly * days * 2 + DAYS_PER_YEAR) // (2 * DAYS_PER_YEAR)  # whole cents, half up
        incidental = int(costs.get("incidental_cents", 0)) if first <= agreement.valid_from < after else 0
        found[agreement.id] = (structural, incidental)
    return found


def _local_day(moment: datetime) -> date:
    return moment.astimezone(AMSTERDAM).date()


def figures(money: Money, prevented_by_intent: int, returned: int, intended: int) -> dict[str, Any]:
    avoided = money.avoided_by_intent + money.avoided_by_return
    own = None if money.structural is None else money.structural + (money.incidental or 0)
    total_cost = money.consult_cost + (own or 0)
    saving = avoided - total_cost
    return {
        "consult_cost_cents": money.consult_cost,
        "subcontractor_share_cents": money.subcontractor_share,
        "zorggroep_share_cents": money.consult_cost - money.subcontractor_share,
        "tariff_share_of_referral_cost": ratio(money.consult_cost, money.replaced_cost),
        "avoided_referrals": prevented_by_intent + returned,
        "avoided_by_gp_intent": prevented_by_intent,
        "returned_after_triage": returned,
        "intended_referrals": intended,
        "avoided_share_of_intended": ratio(prevented_by_intent + returned, intended),
        "avoided_cents": avoided,
        "avoided_by_gp_intent_cents": money.avoided_by_intent,
        "returned_after_triage_cents": money.avoided_by_return,
        "structural_cost_cents": money.structural,
        "incidental_cost_cents": money.incidental,
        "cost_cents": total_cost,
        "saving_cents": saving,
        "saving_ratio": ratio(saving, avoided),
        # The framework's target is the collaboration's, after its own costs: a group that carries none (a
        # specialism, practice, specialist or week) is not judged against it, or a figure before costs would
        # read "on target" beside its agreement's "below target".
        "meets_target": None if not avoided or own is None else
        saving * TARGET_DENOMINATOR >= avoided * TARGET_NUMERATOR,
        "completed_without_referral_cost": money.uncosted,
    }


def ratio(part: int, whole: int) -> float | None:
    # Four decimals: a percentage with two (33.13%); "meets_target" never reads this rounded figure.
    return round(part / whole, 4) if whole else None
