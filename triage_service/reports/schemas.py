"""Parameters of the reporting API, checked field by field (a 400 names each bad field)."""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from triage_service.reports.monitoring import GroupBy
from triage_service.reports.periods import Month

_UZOVI = validate.Regexp(r"^\d{4}$", error="a UZOVI code is 4 digits")
_AGB = validate.Regexp(r"^\d{8}$", error="an AGB code is 8 digits")
#: Longest monitoring window: a few years is a trend; more is a full-table scan for nobody.
MAX_WINDOW_DAYS = 3 * 366


class MonthField(fields.Field[Month]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Month:
        try:
            return Month.parse(str(value))
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class _Strict(Schema):
    class Meta:
        unknown = "raise"


class CloseSchema(_Strict):
    insurer = fields.String(required=True, validate=_UZOVI)
    period = MonthField(required=True)


class BatchFilterSchema(_Strict):
    insurer = fields.String(validate=_UZOVI)
    period = MonthField()


class CorrectionSchema(_Strict):
    consult = fields.String(required=True, validate=validate.Length(min=1, max=64))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))
    insurer = fields.String(validate=_UZOVI, load_default=None)
    withdraw = fields.Boolean(load_default=False)


class StatementSchema(_Strict):
    period = MonthField(required=True)
    subcontractor = fields.String(validate=_AGB)


class MonitoringSchema(_Strict):
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)
    group_by = fields.String(load_default=GroupBy.TOTAL.value,
                             validate=validate.OneOf([g.value for g in GroupBy]))

    @validates_schema
    def _window(self, data: dict[str, Any], **_: Any) -> None:
        start: date | None = data.get("from_")
        end: date | None = data.get("to")
        if start and end:
            if end < start:
                raise ValidationError("'to' must not be before 'from'", "to")
            if (end - start).days > MAX_WINDOW_DAYS:
                raise ValidationError(f"at most {MAX_WINDOW_DAYS} days at once", "to")


