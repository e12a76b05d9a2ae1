"""The overdue and unassignable consults on screen (reports/overdue.py): a section of the zorggroep's
dashboard, and a notice at the top of the inbox for the specialists of a group, and the members of an expertise
team, whose queue holds overdue consults, so that a colleague can take one.

The rows carry no patient data; the dashboard's list is audited all the same, as a read of consults."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from flask_babel import get_locale, gettext
from sqlalchemy.orm import Session

from triage_service.audit.trail import record
from triage_service.models import AuditAction
from triage_service.reports.access import ReportAccess
from triage_service.reports.overdue import OverdueConsult, overdue_consults, queues_overdue
from triage_service.routing.service import specialism_label
from triage_service.security.web_auth import InboxUser
from triage_service.web.urgent import duration_words

#: The inbox notice names this many consults; the rest are in the group's view.
NOTICE_ROWS = 5


@dataclass(frozen=True)
class ShownOverdue:
    row: OverdueConsult
    specialism: str
    #: How late, in words ("2 d 3 u te laat").
    late: str


@dataclass(frozen=True)
class OverdueSection:
    rows: list[ShownOverdue]
    total: int
    unassignable: int
    #: An expertise team's queue holds one of them: the notice says so and names each row's queue.
    with_teams: bool = False


def _shown(rows: list[OverdueConsult]) -> list[ShownOverdue]:
    language = str(get_locale())
    return [ShownOverdue(row, specialism_label(row.specialism, language),
                         str(gettext("%(duration)s overdue",
                                     duration=duration_words(max(1, math.ceil(row.late_by.total_seconds() / 60))))))
            for row in rows]


def dashboard_section(session: Session, access: ReportAccess, now: datetime) -> OverdueSection:
    """The zorggroep's overdue consults for the dashboard; the read is audited (it lists consults)."""
    found = overdue_consults(session, access.zorggroep_id, now)
    record(session, access.actor, event="web.dashboard.overdue", action=AuditAction.READ, resource_type="Task",
           detail=f"overdue={found.total}; unassignable={found.unassignable}", at=now)
    return OverdueSection(_shown(found.rows), found.total, found.unassignable)


def inbox_notice(session: Session, user: InboxUser, now: datetime) -> OverdueSection:
    """The overdue consults in the specialist's group queues, their organisation's and their expertise teams':
    any of the group or team may take one."""
    found = queues_overdue(session, user.group_agbs, now, NOTICE_ROWS)
    # Worded for teams only when a team's queue holds one of them (a second count, only when any is overdue).
    with_teams = bool(found.total and user.team_agbs and queues_overdue(session, user.team_agbs, now, 0).total)
    return OverdueSection(_shown(found.rows), found.total, found.unassignable, with_teams=with_teams)
