"""The specialist's proposal of appointment times, read from the inbox form and checked before anything is
stored: one to three times, in the future but within half a year, of a sensible length, not overlapping each
other; a video consult with an https meeting link."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from triage_service.consults import time_spent
from triage_service.errors import N_, FormErrors
from triage_service.routing.working_time import AMSTERDAM

#: The inbox form offers three times; more is a reschedule's job.
MAX_SLOTS = 3
MIN_MINUTES, MAX_MINUTES = 5, 240



#: How far ahead a time may be proposed: a consult is advice within weeks, not a clinic's waiting list.
MAX_AHEAD = timedelta(days=180)



MAX_INSTRUCTIONS = 1_000



@dataclass(frozen=True)
class Proposal:
    starts: tuple[datetime, ...]
    minutes: int
    meeting_url: str | None
    instructions: str | None
    gp_joins: bool
    #: The booked appointment these times replace (a reschedule), if any.
    replaces: str | None = None
    #: The form's field number of each start (errors are shown at the field); 1, 2, ... when not from a form.
    fields: tuple[int, ...] = ()
    #: Minutes the specialist spent arranging it (time registration, consults/time_spent.py); not the duration.
    time_spent: int | None = None



def parse_proposal(form: dict[str, str], video: bool, now: datetime) -> Proposal:
    """The "propose times" form, checked field by field. Times are typed in Dutch time."""
    errors: dict[str, str] = {}
    slots: list[tuple[datetime, int]] = []  # (start, the form field's number)
    for index in range(1, MAX_SLOTS + 1):
        raw = form.get(f"start_{index}", "").strip()
        if not raw:
            continue
        try:
            local = datetime.fromisoformat(raw)
        except ValueError:
            errors[f"start_{index}"] = N_("Give a date and time, e.g. 2026-12-01 14:30")
            continue
        start = local.replace(tzinfo=AMSTERDAM) if local.tzinfo is None else local
        if start <= now:
            errors[f"start_{index}"] = N_("This time has passed: choose a time in the future")
        elif start > now + MAX_AHEAD:
            errors[f"start_{index}"] = N_("Choose a time within six months")
        slots.append((start.astimezone(now.tzinfo), index))
    starts = [start for start, _ in slots]
    if not starts and not any(k.startswith("start_") for k in errors):
        errors["start_1"] = N_("Propose at least one time")
    raw_minutes = form.get("minutes", "").strip()
    minutes = int(raw_minutes) if raw_minutes.isdigit() else 0
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        errors["minutes"] = N_("The duration is a whole number of minutes between 5 and 240")
    meeting_url = form.get("meeting_url", "").strip() or None
    if video:
        if meeting_url is None:
            errors["meeting_url"] = N_("A video consult needs the link of your video tool")
        elif not _is_https_link(meeting_url):
            errors["meeting_url"] = N_("The video link must be a full https:// address")
    else:
        meeting_url = None
    instructions = form.get("instructions", "").strip() or None
    if instructions and len(instructions) > MAX_INSTRUCTIONS:
        errors["instructions"] = N_("This text is too long (at most 1,000 characters)")
    elif not video and not instructions:
        errors["instructions"] = N_("Say where the patient should come (and anything to bring)")
    if MIN_MINUTES <= minutes <= MAX_MINUTES and not any(k.startswith("start_") for k in errors):
        _check_no_overlap_among(slots, minutes, errors)
    spent = time_spent.parse_minutes(form.get("time_spent"), errors, "time_spent")
    if errors:
        raise FormErrors(errors)
    return Proposal(tuple(starts), minutes, meeting_url, instructions, video and form.get("gp_joins") == "on",
                    form.get("replaces") or None, tuple(number for _, number in slots), spent)



def _is_https_link(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.netloc) and len(value) <= 500 and not any(c.isspace() for c in value)



def _check_no_overlap_among(slots: list[tuple[datetime, int]], minutes: int, errors: dict[str, str]) -> None:
    """The error goes to the later of two overlapping times: that is the field to change."""
    for (first, _), (second, index) in itertools.pairwise(sorted(slots)):
        if second < first + timedelta(minutes=minutes):
            errors[f"start_{index}"] = N_("The proposed times overlap each other")
            return
