"""What the zorggroep dashboard shows: the monitoring figures of a period, per group and per week,
the declaration batches, and the check before a month is closed (issue 7, point 5).

The figures come from ``reports/monitoring.py`` (the same numbers as /reports/monitoring and its
CSV); the period is checked with the reporting API's own MonitoringSchema, so the page and the API
accept and refuse the same input. The page is rendered on the server (the table works without
script); the charts are drawn by Chart.js from a JSON block on the page, so nothing is fetched
after loading and the CSP needs no inline script.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask_babel import format_currency, format_decimal, format_percent
from flask_babel import gettext as _
from marshmallow import ValidationError, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.errors import N_
from triage_service.models import Agreement, DeclarationLine, Organisation, OrganisationKind
from triage_service.reports import declarations
from triage_service.reports.declaration_terms import HeldBack, TariffWarning, tariff_warnings
from triage_service.reports.monitoring import GroupBy, Window, monitoring
from triage_service.reports.periods import Month, local_date, local_midnight
from triage_service.reports.schemas import MAX_WINDOW_DAYS, CloseSchema, MonitoringSchema
from triage_service.reports.targets import AgreementTargets, targets_against_actual
from triage_service.routing.service import specialism_label
from triage_service.web.dutch_dates import day_text, month_text, parse_day, parse_month

#: The groupings the form offers, in this order ("total" is always shown as the table's last row).
GROUPINGS = (GroupBy.SPECIALISM, GroupBy.PRACTICE, GroupBy.SPECIALIST, GroupBy.AGREEMENT, GroupBy.WEEK)
DEFAULT_GROUPING = GroupBy.SPECIALISM
#: Statements are per month; a long period links the most recent months only.
MAX_STATEMENT_LINKS = 12
NO_VALUE = "\u2013"  # an en dash: no figure (nothing answered yet), not zero


def grouping_label(value: str) -> str:
    labels = {GroupBy.SPECIALISM.value: _("Specialism"), GroupBy.PRACTICE.value: _("GP practice"),
              GroupBy.SPECIALIST.value: _("Specialist"), GroupBy.AGREEMENT.value: _("Agreement"),
              GroupBy.WEEK.value: _("Week"), GroupBy.TOTAL.value: _("Total")}
    return str(labels.get(value, value))


def last_full_month(today: date) -> tuple[date, date]:
    """The calendar month before today's (a month that is still running says little)."""
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


# -- the period form ---------------------------------------------------------------------------------------


@dataclass
class PeriodForm:
    """The period as typed (shown again as typed), and once valid, as dates."""

    from_text: str
    to_text: str
    group_by: str
    errors: dict[str, str] = field(default_factory=dict)
    start: date | None = None
    end: date | None = None

    @property
    def query(self) -> dict[str, str]:
        """The same period as query parameters (ISO dates once valid), for the CSV link and the reporting API."""
        if self.start is not None and self.end is not None:
            return {"from": self.start.isoformat(), "to": self.end.isoformat(), "group_by": self.group_by}
        return {"from": self.from_text, "to": self.to_text, "group_by": self.group_by}


def read_period(args: Mapping[str, str], today: date) -> PeriodForm:
    """The period from the query string; without dates, the last full month and this month so far (a month
    closes once a month, but what happens now matters too). Checked by MonitoringSchema."""
    if "from" not in args and "to" not in args:
        start, _last = last_full_month(today)
        end = today
        args = {"from": day_text(start), "to": day_text(end), "group_by": args.get("group_by", "")}
    form = PeriodForm(args.get("from", ""), args.get("to", ""), args.get("group_by") or DEFAULT_GROUPING.value)
    # Typed as dd-mm-jjjj (web/dutch_dates.py); the schema checks the rest on ISO dates, as the API does.
    typed = {"from": form.from_text, "to": form.to_text}
    for name, text in typed.items():
        if text.strip() and parse_day(text) is None:
            form.errors[name] = str(_("This is not a date; write it as dd-mm-jjjj, e.g. 30-11-2026."))
    if form.errors:
        return form
    # Only the form's own fields: the schema refuses unknown ones, and a stray parameter in a
    # bookmarked URL is not a mistake in the form. An empty field is a missing one ("fill in a date").
    iso = {name: str(parse_day(text)) for name, text in typed.items() if text.strip()}
    try:
        loaded = MonitoringSchema().load({**iso, "group_by": form.group_by} if form.group_by else iso)
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"from": exc.messages}
        form.errors = {_form_field(name): _period_message(str(texts[0]) if isinstance(texts, list) else str(texts))
                       for name, texts in messages.items()}
        return form
    form.start, form.end = loaded["from_"], loaded["to"]
    return form


def _form_field(name: str) -> str:
    return {"from_": "from", "_schema": "from"}.get(name, name)


def _period_message(message: str) -> str:
    """The schema's messages in the user's language (the reporting API answers them in English)."""
    required = str(fields.Field.default_error_messages["required"])
    invalid_date = str(fields.Date.default_error_messages["invalid"])
    known = {
        required: _("Fill in a date."),
        invalid_date: _("This is not a date; choose one or write it as 2026-11-30."),
        "'to' must not be before 'from'": _("The end date must not be before the start date."),
        f"at most {MAX_WINDOW_DAYS} days at once": _("A period can be at most %(days)d days.", days=MAX_WINDOW_DAYS),
    }
    if message.startswith("Must be one of"):
        return str(_("Choose one of the groupings in the list."))
    return str(known.get(message, message))


# -- the figures --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    label: str
    #: The group as reported by /reports/monitoring (an AGB code, agreement code, ISO week...).
    key: str
    figures: dict[str, Any]
    #: What the table prints after the label ("Dermatologie 0310"), or "" when the code says nothing more.
    code: str = ""


@dataclass(frozen=True)
class Figures:
    rows: list[Row]
    total: Row | None
    target_saving_ratio: float
    #: What the charts draw (serialised into the page as JSON).
    charts: dict[str, Any]
    #: Per agreement running in the period: its agreed targets against the actual figures.
    targets: list[AgreementTargets]


def figures(session: Session, zorggroep_id: str, start: date, end: date, group_by: GroupBy, language: str,
            outcome_label: Callable[[str], str], now: datetime) -> Figures:
    window = Window(local_midnight(start), local_midnight(end + timedelta(days=1)))
    chosen = monitoring(session, zorggroep_id, window, group_by, now)
    total = chosen if group_by is GroupBy.TOTAL else monitoring(session, zorggroep_id, window, GroupBy.TOTAL, now)
    weeks = chosen if group_by is GroupBy.WEEK else monitoring(session, zorggroep_id, window, GroupBy.WEEK, now)
    rows = [_row(group, group_by, language) for group in chosen["groups"]]
    total_row = Row(str(_("All consults")), "total", total["groups"][0]) if total["groups"] else None
    return Figures(rows, total_row, float(chosen["target_saving_ratio"]),
                   _charts(rows, total_row, weeks["groups"], _week_labels(start, end), language, outcome_label),
                   targets_against_actual(session, zorggroep_id, window, now))


_TARGET_LABELS = {
    "prevented_referrals_percent": N_("Prevented referrals, share of the intended referrals"),
    "within_norm_percent": N_("Answered within the norm"),
    "referral_rate_baseline_percent": N_("Referral rate against the baseline before the start (lower is better)"),
    "saving_percent": N_("Saving ratio"),
    "median_answer_hours": N_("Median answer time (at most)"),
}


def target_label(name: str) -> str:
    return str(_(_TARGET_LABELS[name]))


def target_value(name: str, value: float | None) -> str:
    """A target or actual figure in its unit: hours for the answer time, otherwise a percentage."""
    if value is None:
        return NO_VALUE
    if name == "median_answer_hours":
        return str(_("%(hours)s hours", hours=hours(value)))
    return percent(value / 100, 1)


def _row(group: dict[str, Any], group_by: GroupBy, language: str) -> Row:
    key = str(group["key"])
    if group_by is GroupBy.SPECIALISM:
        label = specialism_label(key, language)
        # A hospital specialism's AGB code (0310) is how the insurer's lists name it; a first-line specialism's
        # code is an English slug ("nurse-specialist") that would only read as untranslated text beside its label.
        return Row(label, key, group, key if key.isdigit() else "")
    if group_by is GroupBy.TOTAL:
        return Row(str(_("All consults")), key, group)
    label = str(group["label"] or key)
    return Row(label, key, group, key if key != label else "")


def _week_labels(start: date, end: date) -> list[str]:
    """Every ISO week the period touches, also those without consults (a gap is a figure too)."""
    monday = start - timedelta(days=start.weekday())
    labels = []
    while monday <= end:
        year, week, _weekday = monday.isocalendar()
        labels.append(f"{year}-W{week:02d}")
        monday += timedelta(weeks=1)
    return labels


def _charts(rows: list[Row], total: Row | None, weeks: list[dict[str, Any]], week_labels: list[str],
            language: str, outcome_label: Callable[[str], str]) -> dict[str, Any]:
    by_week = {str(g["key"]): g for g in weeks}
    week_labels = sorted(set(week_labels) | set(by_week))

    def per_week(pick: Callable[[dict[str, Any]], Any], empty: Any) -> list[Any]:
        return [pick(by_week[w]) if w in by_week else empty for w in week_labels]

    outcomes = {code: count for code, count in (total.figures["outcomes"] if total else {}).items() if count}
    return {
        "locale": "nl-NL" if language == "nl" else "en-GB",
        "weeks": {"labels": week_labels,
                  "consults": per_week(lambda g: g["consults"], 0),
                  "answered": per_week(lambda g: g["completed"], 0),
                  "median": per_week(lambda g: g["answer_hours"]["median"], None),
                  "p90": per_week(lambda g: g["answer_hours"]["p90"], None)},
        "outcomes": {"labels": [outcome_label(code) for code in outcomes], "values": list(outcomes.values())},
        "referrals": {"labels": [row.label for row in rows],
                      "prevented": [row.figures["prevented_referrals"] for row in rows],
                      "converted": [row.figures["converted_to_referral"] for row in rows]},
        "text": {"consults": _("Consults received"), "answered": _("Answered"),
                 "median": _("Median answer time"), "p90": _("90th percentile"), "hours": _("Hours"),
                 "prevented": _("Prevented referrals"), "converted": _("Converted to a referral"),
                 "count": _("Number of consults")},
    }


# -- formatting (in the user's locale: "€ 1.234,56" in Dutch) -------------------------------------------------


def money(cents: int | None) -> str:
    if cents is None:
        return NO_VALUE
    # Decimal, not float: 0.1 + 0.2 money errors have no place in a business case.
    return str(format_currency(Decimal(cents) / 100, "EUR"))


def percent(ratio: float | None, decimals: int = 0) -> str:
    """A share as a percentage: whole by default; the saving ratio with one decimal, so 33.1% never reads as
    the 33% of the one-third target."""
    pattern = "#,##0%" if not decimals else "#,##0." + "0" * decimals + "%"
    return NO_VALUE if ratio is None else str(format_percent(ratio, format=pattern))


def hours(value: float | None) -> str:
    """Hours with one decimal, rounded half up as one rounds by hand (Babel alone would round 0,05 to an even
    0,0): the value is reports/monitoring.answer_hours, whose two decimals leave this the only rounding."""
    if value is None:
        return NO_VALUE
    return str(format_decimal(Decimal(str(value)).quantize(Decimal("0.1"), ROUND_HALF_UP), format="#,##0.0"))


def statement_months(start: date, end: date) -> list[Month]:
    """The calendar months the period touches, most recent first (statements are per month)."""
    months: list[Month] = []
    month = Month(end.year, end.month)
    while month.first_day >= start.replace(day=1) and len(months) < MAX_STATEMENT_LINKS:
        months.append(month)
        month = Month(month.year - (month.month == 1), 12 if month.month == 1 else month.month - 1)
    return months


# -- declaration batches and closing a month ---------------------------------------------------------------


def insurers(session: Session, zorggroep_id: str) -> list[tuple[str, str]]:
    """(UZOVI, name) of the insurers in the zorggroep's agreements: the ones a month can be closed for."""
    codes = {str(code) for (listed,) in session.execute(select(Agreement.insurers).where(
        Agreement.zorggroep_id == zorggroep_id)) for code in listed or []}
    names = dict(session.execute(select(Organisation.uzovi, Organisation.name).where(
        Organisation.kind == OrganisationKind.INSURER, Organisation.uzovi.in_(codes))).all())
    return sorted(((code, str(names.get(code) or code)) for code in codes), key=lambda item: item[1])


@dataclass
class CloseForm:
    insurer: str
    period: str
    errors: dict[str, str] = field(default_factory=dict)
    month: Month | None = None


def month_to_close(today: date) -> str:
    """The month the form suggests: the last full one (the usual month to declare), as mm-jjjj."""
    start, _end = last_full_month(today)
    return month_text(Month(start.year, start.month))


def read_close(data: Mapping[str, str], today: date) -> CloseForm:
    """Insurer and month (mm-jjjj, web/dutch_dates.py), checked with the reporting API's CloseSchema."""
    form = CloseForm(data.get("insurer", ""), data.get("period", month_to_close(today)))
    typed = parse_month(form.period)
    try:
        loaded = CloseSchema().load({"insurer": form.insurer, "period": str(typed) if typed else form.period})
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {}
        if "insurer" in messages:
            form.errors["insurer"] = str(_("Choose an insurer."))
        if "period" in messages:
            form.errors["period"] = str(_("This is not a month; write it as mm-jjjj, e.g. 11-2026."))
        return form
    form.month = loaded["period"]
    return form


@dataclass(frozen=True)
class ClosePreview:
    consults: int
    corrections: int
    total_cents: int
    #: What closing would declare, line by line (the consults, then the corrections waiting).
    lines: tuple[declarations.Candidate, ...] = ()
    correction_lines: tuple[DeclarationLine, ...] = ()
    #: Why the month cannot be closed now (and the HTTP status to answer with), or None.
    problem: str | None = None
    status: int = 200
    #: Consults answered in the month that closing will not declare, with the reason (issue 22).
    held_back: tuple[HeldBack, ...] = ()
    #: Prestatiecodes that would carry two or more tariffs in this batch.
    tariff_warnings: tuple[TariffWarning, ...] = ()


def preview_close(session: Session, zorggroep_id: str, insurer: str, month: Month, now: datetime) -> ClosePreview:
    """What closing would declare, and why it cannot be closed yet. ``declarations.close_month``
    checks the same again when the month is really closed (this is for the confirmation page)."""
    selected = declarations.selection(session, zorggroep_id, insurer, month)
    candidates = selected.candidates
    corrections = declarations.pending_corrections(session, zorggroep_id, insurer)
    warnings = tariff_warnings([(c.prestatie_code, c.tariff_cents) for c in candidates]
                               + [(line.prestatie_code, line.tariff_cents) for line in corrections])
    total = sum(c.tariff_cents for c in candidates) + sum(line.amount_cents for line in corrections)
    closed = declarations.batches(session, zorggroep_id, insurer, str(month))
    problem, status = None, 200
    if now < month.end:
        problem, status = _("This month has not ended yet; it can be closed from %(day)s.",
                            day=f"{local_date(month.end):%d-%m-%Y}"), 422
    elif closed:
        problem, status = _("This month is already closed for this insurer (batch %(number)d).",
                            number=closed[0].number), 409
    elif not candidates and not corrections:
        problem, status = _("There is nothing to declare to this insurer for this month."), 422
    return ClosePreview(len(candidates), len(corrections), total, tuple(candidates), tuple(corrections),
                        str(problem) if problem else None, status, tuple(selected.held_back), tuple(warnings))


def held_back_reason(held: HeldBack) -> str:
    """Why a consult is not declared, in the user's language."""
    named = {"no-open-dbc": _("that no hospital treatment (DBC) is open for this question")}
    return str(_("The specialist did not attest %(what)s; the agreement requires it.",
                 what=", ".join(str(named.get(code, code)) for code in held.missing)))


def tariff_warning_text(warning: TariffWarning) -> str:
    """The warning in the user's language, e.g. "Prestatie code 12345 carries 2 tariffs in this batch:
    € 75,00 (2 lines), € 80,00 (1 line). Check the agreements before closing."."""
    # Two messages rather than ngettext: Dutch has the same two forms, and the catalogue keeps plain entries.
    tariffs = [str(_("%(amount)s (1 line)", amount=money(cents)) if count == 1 else
                   _("%(amount)s (%(num)d lines)", amount=money(cents), num=count))
               for cents, count in warning.tariffs]
    return str(_("Prestatie code %(code)s carries %(count)d tariffs in this batch: %(tariffs)s. Check the "
                 "agreements before closing.", code=warning.prestatie_code, count=len(tariffs),
                 tariffs=", ".join(tariffs)))
