"""The parts of an agreement file the business case and the monitoring read (issue 22), validated here so the
agreement schema stays about routing.

The insurer's framework (toetsingskader optimalisatie eerstelijnszorg) wants the monitoring parameters agreed
*before* the start, so each agreement file can name them beside its tariffs::

    monitoring:                            # all optional; a target left out is shown as "not agreed"
      prevented_referrals_percent: 30      # of the GP's intended referrals, prevented (at least)
      within_norm_percent: 90              # answered within the answer norm (at least)
      referral_rate_baseline_percent: 25   # referral rate for the covered ICPC codes before the start
      saving_percent: 33.33                # saving against the avoided second-line cost (at least)
      median_answer_hours: 24              # median answer time (at most)
    costs:                                 # the collaboration's own costs beside the tariff (optional)
      incidental_cents: 1500000            # one-off: set-up, training; in the period holding valid_from
      structural_cents_per_year: 600000    # yearly: coordination, licences; pro rata per day

Percentages are written as people write them (30, 33.33), with at most two decimals; money in whole cents
as everywhere else in the file. The messages are Dutch: the zorggroep's staff read them.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

#: The file's keys that are reporting parameters, not terms consults are routed or paid under.
REPORTING_KEYS = frozenset(("monitoring", "costs"))
PERCENT_ERROR = "een percentage van 0 tot en met 100, met hoogstens twee decimalen (bijvoorbeeld 33.33)"
#: What each target means for "met": at least (higher is better) or at most; the baseline is compared, not met.
TARGET_DIRECTIONS = {"prevented_referrals_percent": "at-least", "within_norm_percent": "at-least",
                     "saving_percent": "at-least", "median_answer_hours": "at-most",
                     "referral_rate_baseline_percent": "baseline"}


def _percent() -> fields.Float:
    return fields.Float(validate=[validate.Range(min=0, max=100, error=PERCENT_ERROR), _two_decimals],
                        error_messages={"invalid": PERCENT_ERROR})


def _two_decimals(value: float) -> None:
    if round(value, 2) != value:
        raise ValidationError(PERCENT_ERROR)


class MonitoringTargetsSchema(Schema):
    class Meta:
        unknown = RAISE  # a typo in a target is an error, not a target silently not agreed

    prevented_referrals_percent = _percent()
    within_norm_percent = _percent()
    referral_rate_baseline_percent = _percent()
    saving_percent = _percent()
    median_answer_hours = fields.Integer(strict=True, validate=validate.Range(
        min=1, max=720, error="de mediane antwoordtijd in hele uren, van 1 tot en met 720"),
        error_messages={"invalid": "de mediane antwoordtijd in hele uren, van 1 tot en met 720"})


class CostsSchema(Schema):
    class Meta:
        unknown = RAISE  # a typo in a target is an error, not a target silently not agreed

    incidental_cents = fields.Integer(strict=True, validate=validate.Range(
        min=0, error="eenmalige kosten in hele centen, 0 of meer"),
        error_messages={"invalid": "eenmalige kosten in hele centen, 0 of meer"})
    structural_cents_per_year = fields.Integer(strict=True, validate=validate.Range(
        min=0, error="structurele kosten per jaar in hele centen, 0 of meer"),
        error_messages={"invalid": "structurele kosten per jaar in hele centen, 0 of meer"})


def monitoring_field() -> fields.Nested:
    return fields.Nested(MonitoringTargetsSchema, load_default=dict)


def costs_field() -> fields.Nested:
    return fields.Nested(CostsSchema, load_default=dict)


def stored(values: dict[str, Any]) -> dict[str, Any]:
    """As kept in the agreement's JSON column: only what the file names."""
    return {key: value for key, value in values.items() if value is not None}
