"""The Task's note when a consult overflowed to the agreement's backup organisation (issue 23, point 4).

Which element: the overflow changes who does the work, not the Task's state. R4 ``Task.statusReason`` is "an
explanation as to why this task is held, failed, was refused, etc." - the reason for the *current status*, which
stays ``accepted`` (or later ``completed``); using it would tell a GP system the status changed for this reason.
``Task.owner`` carries the new owner (the backup's specialist or queue, by AGB) and the reason is recorded as a
``Task.note`` Annotation ("free-text information captured about the task as it progresses"), with its ``time``
and the backup organisation as ``authorReference``, put into words in the reader's language like the other notes
(fhir/notes.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import object_session

from triage_service.errors import N_
from triage_service.fhir.dutch import AGB
from triage_service.fhir.notes import translated
from triage_service.models import ConsultTask, Organisation, Overflow
from triage_service.outcome import Message, message

#: Why, by Overflow.reason; the portal's consult page says the same words.
REASONS = {"nobody-available": N_("none of the agreement's own specialists was available"),
           "norm-share-passed": N_("%(share)s%% of the answer norm passed and the own specialists had not taken "
                                   "the consult")}


def overflow_reason(reason: str, share: int | None) -> Message:
    return message(REASONS.get(reason, reason), share=share if share is not None else "")


def overflow_notes(task: ConsultTask, instant: Any) -> list[dict[str, Any]]:
    """The note for an overflowed Task (one small query, only for a Task that overflowed)."""
    session = object_session(task)
    if task.overflowed_at is None or session is None:
        return []
    row = session.execute(select(Overflow, Organisation).join(Organisation, Organisation.id == Overflow.organisation_id)
                          .where(Overflow.consult_id == task.consult_id)).first()
    if row is None:
        return []
    overflow, organisation = row
    text = message(N_("Backup: the consult went to %(owner)s of %(organisation)s because %(reason)s."),
                   owner=overflow.to_owner_name, organisation=organisation.name,
                   reason=overflow_reason(overflow.reason, overflow.share_percent))
    return [{"authorReference": {"type": "Organization", "identifier": {"system": AGB, "value": organisation.agb},
                                 "display": organisation.name},
             "time": instant(overflow.at), **translated(text)}]
