"""What the inbox says about a paused answer norm (consults/norm_clock.py): how much of the norm is left
while the consult waits on the GP, in working time or clock time as the norm counts.

Working time is said in hours and minutes, never in days: a working day is nine hours, and "1 d" would read
as twenty-four."""

from __future__ import annotations

from flask_babel import gettext

from triage_service.consults.norm_clock import PausedNorm
from triage_service.web.urgent import duration_words


def _working_hours_words(hours: int, minutes: int) -> str:
    parts = [str(gettext("%(hours)d h", hours=hours))] if hours else []
    if minutes or not parts:
        parts.append(str(gettext("%(minutes)d min", minutes=minutes)))
    return " ".join(parts)


def paused_left_words(paused: PausedNorm) -> str:
    """"nog 4 u werktijd", "nog 2 u", or, for a consult that was already late when the wait began, that."""
    if paused.late:
        return str(gettext("already overdue when the wait began"))
    hours, minutes = paused.hours_minutes
    if paused.working_time:
        return str(gettext("%(duration)s of working time left", duration=_working_hours_words(hours, minutes)))
    return str(gettext("%(duration)s left", duration=duration_words(hours * 60 + minutes)))
