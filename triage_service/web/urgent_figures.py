"""The dashboard's section on urgent consults (issue 20, point 6): per HAP, and for the GP practices
together, one small table per specialism with the times to taken and to advice, the share within the norm,
the outcomes and the emergency assessments avoided (reports/urgent.py defines and computes them).

A table per specialism of two columns (what, how much) rather than one wide table: at 390 px the tables
stack, on a desktop they stand side by side, and nothing scrolls sideways however many specialisms there are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from triage_service.reports.monitoring import Window
from triage_service.reports.periods import local_midnight
from triage_service.reports.urgent import GP_PRACTICES, urgent_monitoring
from triage_service.routing.service import specialism_label
from triage_service.web.dashboard import NO_VALUE, percent


@dataclass(frozen=True)
class Line:
    """One row of a table: what is counted or measured, and the figure with its unit."""

    label: str
    value: str


@dataclass(frozen=True)
class Table:
    requester: str
    caption: str
    lines: list[Line]
    outcomes: list[Line]


@dataclass(frozen=True)
class Requester:
    label: str
    #: The HAP's AGB code (None for the GP practices together).
    agb: str | None
    tables: list[Table]


@dataclass(frozen=True)
class UrgentSection:
    requesters: list[Requester]
    total: Table | None


NBSP = "\u00a0"


def _together(text: str, start: int = 0) -> str:
    """No line break from ``start`` on: on a phone "1 u 00 min" or "(2 van 4)" wraps as a whole or not at all."""
    return text[:start] + text[start:].replace(" ", NBSP)


def duration(minutes: int | None) -> str:
    """Whole minutes as read aloud: "42 min", "1 u 05 min" (in English "1 h 05 min")."""
    if minutes is None:
        return NO_VALUE
    if minutes < 60:
        return _together(str(_("%(minutes)d min", minutes=minutes)))
    return _together(str(_("%(hours)d h %(minutes)02d min", hours=minutes // 60, minutes=minutes % 60)))


def section(session: Session, zorggroep_id: str, start: date, end: date, now: datetime, language: str,
            outcome_label: Callable[[str], str]) -> UrgentSection:
    window = Window(local_midnight(start), local_midnight(end + timedelta(days=1)))
    report = urgent_monitoring(session, zorggroep_id, window, now)
    requesters: list[Requester] = []
    for group in report["groups"]:
        key = group["requester"]["key"]
        hap = key != GP_PRACTICES
        label = str(group["requester"]["label"]) if hap else str(_("GP practices"))
        if not requesters or requesters[-1].label != label:
            requesters.append(Requester(label, key if hap else None, []))
        requesters[-1].tables.append(_table(group, label, specialism_label(group["specialism"], language),
                                            outcome_label))
    total = report["total"]
    return UrgentSection(requesters, _table(total, "", str(_("All urgent consults")), outcome_label)
                         if total else None)


def _table(group: dict[str, Any], requester: str, caption: str, outcome_label: Callable[[str], str]) -> Table:
    taken, answer = group["taken_minutes"], group["answer_minutes"]
    lines = [
        Line(_("Urgent consults"), str(group["consults"])),
        Line(_("Taken (Ik pak hem op)"), _("%(part)d of %(whole)d", part=group["taken"], whole=group["consults"])),
        Line(_("Time to taken, median"), duration(taken["median"])),
        Line(_("Time to taken, 90th percentile"), duration(taken["p90"])),
        Line(_("Answered"), _("%(part)d of %(whole)d", part=group["answered"], whole=group["consults"])),
        Line(_("Time to advice, median"), duration(answer["median"])),
        Line(_("Time to advice, 90th percentile"), duration(answer["p90"])),
        Line(_("Within the norm"), _share(group["within_norm"], group["judged_for_norm"],
                                          group["within_norm_share"])),
        Line(_("Still open"), _open(group["open"], group["open_overdue"])),
    ]
    if group["emergency_assessment_avoided"] is not None:
        lines.append(Line(_("Emergency assessment avoided"), str(group["emergency_assessment_avoided"])))
    outcomes = [Line(outcome_label(code), str(count)) for code, count in group["outcomes"].items() if count]
    return Table(requester, caption, [Line(str(line.label), str(line.value)) for line in lines], outcomes)


def _share(part: int, whole: int, ratio: float | None) -> str:
    if not whole:
        return NO_VALUE
    text = str(_("%(share)s (%(part)d of %(whole)d)", share=percent(ratio), part=part, whole=whole))
    return _together(text, max(text.find("("), 0))


def _open(count: int, overdue: int) -> str:
    if not count:
        return "0"
    text = str(_("%(count)d (%(overdue)d past the due time)", count=count, overdue=overdue))
    return _together(text, max(text.find("("), 0))
