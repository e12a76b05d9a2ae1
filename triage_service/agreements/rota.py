"""The on-call rota (dienstrooster) of a specialist organisation and specialism: importing it, editing a shift.

A rota is a row of shifts, each from ``starts_at`` up to (not including) ``ends_at``, with the specialist on
call and a named backup, both specialists of that organisation and specialism. Urgent consults outside office
hours go to whoever is on call (routing/on_call.py reads the shifts), so the rules here keep a rota one that
routing can trust:

- shifts never overlap (routing would not know whom to wake);
- a file is one unbroken period: a gap between two of its shifts is an error, since an urgent consult at
  night would find nobody on call. Around that period a rota may have uncovered time (a specialism that
  does on-call in some weeks only); the inbox shows it in words, so it is never silent;
- an import replaces the shifts that lie wholly inside the file's period, from its first start to its last
  end, in one go; a shift reaching into that period from outside is an overlap the rota maker must solve;
- a change to one shift never opens a gap: moving a changeover moves the neighbouring shift's end or start
  with it, and deleting a shift between two others needs the rota maker to say which neighbour takes over its
  hours. Refusing such a deletion outright would leave the rota maker stuck (every single change in between
  would either overlap or leave a gap); doing it silently would decide who works longer for them.

Every problem is reported at once and nothing is stored when there is one (the session is flushed, the caller
commits). Every import and change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage_service.agreements.rota_files import TIME_FORMAT, RotaError, RotaFile, RotaRefused, ShiftLine
from triage_service.audit.trail import Actor, record
from triage_service.errors import N_, NotFound
from triage_service.models import AuditAction, OnCallShift, Organisation, Practitioner, PractitionerRoleKind
from triage_service.routing.working_time import AMSTERDAM

#: Which neighbour takes over the hours of a deleted shift that lies between two others.
GIVE_TO = ("previous", "next")


@dataclass(frozen=True)
class RotaImport:
    starts_at: datetime
    ends_at: datetime
    stored: int
    replaced: int


@dataclass(frozen=True)
class ShiftChange:
    """A changed (or deleted) shift and the neighbours whose changeover moved with it."""

    shift: OnCallShift
    moved: tuple[OnCallShift, ...]


def local(moment: datetime) -> str:
    """A moment as a rota file writes it: Dutch time, ``YYYY-MM-DD HH:MM``."""
    return moment.astimezone(AMSTERDAM).strftime(TIME_FORMAT)


def shifts_between(session: Session, organisation_id: str, specialism: str, start: datetime,
                   end: datetime) -> list[OnCallShift]:
    """The rota's shifts that overlap [start, end), in order."""
    return list(session.scalars(select(OnCallShift).where(
        OnCallShift.organisation_id == organisation_id, OnCallShift.specialism == specialism,
        OnCallShift.starts_at < end, OnCallShift.ends_at > start).order_by(OnCallShift.starts_at)))


def uncovered_periods(shifts: list[OnCallShift], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) that no shift covers (``shifts`` in order, as ``shifts_between`` gives them)."""
    periods, covered_until = [], start
    for shift in shifts:
        if shift.starts_at > covered_until:
            periods.append((covered_until, min(shift.starts_at, end)))
        covered_until = max(covered_until, shift.ends_at)
    if covered_until < end:
        periods.append((covered_until, end))
    return periods


def rota_specialisms(session: Session, organisation_id: str) -> list[str]:
    """The specialisms an organisation can keep a rota for: those of its specialists (and any it already has)."""
    of_specialists = session.scalars(select(Practitioner.specialism).where(
        Practitioner.organisation_id == organisation_id, Practitioner.role == PractitionerRoleKind.SPECIALIST,
        Practitioner.specialism.is_not(None)).distinct())
    kept = session.scalars(select(OnCallShift.specialism).where(OnCallShift.organisation_id == organisation_id)
                           .distinct())
    return sorted({s for s in [*of_specialists, *kept] if s})


def rota_specialists(session: Session, organisation_id: str, specialism: str) -> list[Practitioner]:
    """Who can be on call or backup in this rota: the organisation's specialists of the specialism."""
    return list(session.scalars(select(Practitioner).where(
        Practitioner.organisation_id == organisation_id, Practitioner.role == PractitionerRoleKind.SPECIALIST,
        Practitioner.specialism == specialism).order_by(Practitioner.name)))


class _People:
    """Looks up the AGB codes of a file once each and says what is wrong with one."""

    def __init__(self, session: Session, organisation: Organisation, specialism: str):
        self.session, self.organisation, self.specialism = session, organisation, specialism
        self.found: dict[str, Practitioner | None] = {}

    def get(self, agb: str) -> Practitioner | None:
        if agb not in self.found:
            self.found[agb] = self.session.scalar(select(Practitioner).where(Practitioner.agb == agb))
        return self.found[agb]

    def problem(self, agb: str) -> tuple[str, dict[str, str]] | None:
        person = self.get(agb)
        if person is None:
            return N_("No specialist with AGB code %(agb)s is known"), {"agb": agb}
        params = {"agb": agb, "name": person.name, "organisation": self.organisation.name}
        if person.organisation_id != self.organisation.id or person.role is not PractitionerRoleKind.SPECIALIST:
            return N_("%(name)s (AGB %(agb)s) is not a specialist of %(organisation)s"), params
        if person.specialism != self.specialism:
            return N_("%(name)s (AGB %(agb)s) is not a specialist of this specialism"), params
        return None


def _shift_problems(file: str, line: ShiftLine, people: _People) -> list[RotaError]:
    """What is wrong with one shift on its own: its times, its two specialists."""
    errors = []
    _, end, on_call, backup = line.names
    if line.starts_at is not None and line.ends_at is not None and line.ends_at <= line.starts_at:
        errors.append(RotaError(file, line.line, end, N_("The shift must end after it starts")))
    for field, agb in ((on_call, line.on_call_agb), (backup, line.backup_agb)):
        problem = people.problem(agb) if agb else None
        if problem:
            errors.append(RotaError(file, line.line, field, problem[0], problem[1]))
    if line.on_call_agb and line.on_call_agb == line.backup_agb:
        errors.append(RotaError(file, line.line, backup, N_(
            "The backup must be someone else than the specialist on call")))
    return errors


Timed = tuple[ShiftLine, datetime, datetime]


def _timed(lines: list[ShiftLine]) -> list[Timed]:
    """The shifts whose times could be read and are in order, with those times, by start."""
    return sorted(((line, line.starts_at, line.ends_at) for line in lines
                   if line.starts_at is not None and line.ends_at is not None and line.ends_at > line.starts_at),
                  key=lambda timed: (timed[1], timed[0].line))


def _between(file: str, lines: list[ShiftLine]) -> list[RotaError]:
    """Overlaps and gaps between the shifts of one file, each error naming both lines."""
    errors: list[RotaError] = []
    reach: Timed | None = None  # the shift so far that ends last
    for line, start, end in _timed(lines):
        if reach is not None:
            other, other_start, other_end = reach
            if start < other_end:
                errors.append(RotaError(file, line.line, line.names[0], N_(
                    "This shift overlaps the shift on line %(other)d (%(start)s to %(end)s)"),
                    {"other": other.line, "start": local(other_start), "end": local(other_end)}))
            elif start > other_end:
                errors.append(RotaError(file, line.line, line.names[0], N_(
                    "Nobody is on call from %(start)s to %(end)s, between the shift on line %(other)d and this "
                    "one"), {"other": other.line, "start": local(other_end), "end": local(start)}))
        if reach is None or end > reach[2]:
            reach = (line, start, end)
    return errors


def _resolved(people: _People, line: ShiftLine) -> tuple[Practitioner, Practitioner, datetime, datetime]:
    """A shift that passed the checks: its two specialists and its times."""
    on_call, backup = people.get(line.on_call_agb or ""), people.get(line.backup_agb or "")
    if on_call is None or backup is None or line.starts_at is None or line.ends_at is None:
        raise AssertionError("a shift is stored only after its checks")
    return on_call, backup, line.starts_at, line.ends_at


def _organisation(session: Session, organisation_id: str) -> Organisation:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("No such organisation")
    return organisation


def import_rota(session: Session, actor: Actor, rota: RotaFile, *, organisation_id: str, specialism: str,
                created_by: str | None = None) -> RotaImport:
    """Replace the rota's shifts inside the file's period by the file's, or raise RotaRefused with every problem."""
    organisation = _organisation(session, organisation_id)
    people = _People(session, organisation, specialism)
    errors = list(rota.errors)
    for line in rota.lines:
        errors.extend(_shift_problems(rota.name, line, people))
    errors.extend(_between(rota.name, rota.lines))
    timed = _timed(rota.lines)
    if not timed:
        raise RotaRefused(errors or [RotaError(rota.name, 1, "", N_("The file has no shifts"))])
    start, end = timed[0][1], max(timed_end for _, _, timed_end in timed)
    replaced = []
    for shift in shifts_between(session, organisation_id, specialism, start, end):
        if start <= shift.starts_at and shift.ends_at <= end:
            replaced.append(shift)
            continue
        for line, line_start, line_end in timed:
            if line_start < shift.ends_at and shift.starts_at < line_end:
                errors.append(RotaError(rota.name, line.line, line.names[0], N_(
                    "This shift overlaps the shift of %(name)s from %(start)s to %(end)s in the rota, which "
                    "reaches beyond this file's first or last shift: change that shift first, or start or end "
                    "the file at its changeover"), {"name": shift.practitioner.name, "start": local(shift.starts_at),
                                                    "end": local(shift.ends_at)}))
    if errors:
        raise RotaRefused(errors)
    for shift in replaced:
        session.delete(shift)
    session.flush()
    for line, _, _ in timed:
        on_call, backup, line_start, line_end = _resolved(people, line)
        session.add(OnCallShift(organisation_id=organisation_id, specialism=specialism, practitioner_id=on_call.id,
                                backup_practitioner_id=backup.id, starts_at=line_start, ends_at=line_end,
                                source=rota.source, created_by=created_by))
    session.flush()
    record(session, actor, event="rota.import", action=AuditAction.UPDATE, resource_type="OnCallShift",
           detail=f"organisation={organisation.agb}; specialism={specialism}; from={start.isoformat()}; "
                  f"until={end.isoformat()}; shifts={len(timed)}; replaced={len(replaced)}; source={rota.source}")
    return RotaImport(start, end, len(timed), len(replaced))


# -- one shift at a time (the inbox) ------------------------------------------------------------------------


def get_shift(session: Session, organisation_id: str, shift_id: str) -> OnCallShift:
    shift = session.get(OnCallShift, shift_id)
    if shift is None or shift.organisation_id != organisation_id:
        raise NotFound(N_("This shift does not exist (any more)"))
    return shift


def neighbours(session: Session, shift: OnCallShift) -> tuple[OnCallShift | None, OnCallShift | None]:
    """The shifts that hand over to this one and take over from it (adjacent, no gap between)."""
    rota = (OnCallShift.organisation_id == shift.organisation_id, OnCallShift.specialism == shift.specialism,
            OnCallShift.id != shift.id)
    before = session.scalar(select(OnCallShift).where(*rota, OnCallShift.ends_at == shift.starts_at))
    after = session.scalar(select(OnCallShift).where(*rota, OnCallShift.starts_at == shift.ends_at))
    return before, after


def _overlaps(session: Session, organisation_id: str, specialism: str, line: ShiftLine,
              skip: set[str]) -> list[RotaError]:
    if line.starts_at is None or line.ends_at is None or line.ends_at <= line.starts_at:
        return []
    return [RotaError("", 0, line.names[0], N_("This shift overlaps the shift of %(name)s from %(start)s to %(end)s"),
                      {"name": other.practitioner.name, "start": local(other.starts_at), "end": local(other.ends_at)})
            for other in shifts_between(session, organisation_id, specialism, line.starts_at, line.ends_at)
            if other.id not in skip]


def add_shift(session: Session, actor: Actor, organisation_id: str, specialism: str, line: ShiftLine,
              created_by: str | None = None, read_errors: list[RotaError] | None = None) -> OnCallShift:
    """A new shift entered in the inbox; it may not overlap another. ``read_errors``: what reading the form
    found already, reported with the rest."""
    people = _People(session, _organisation(session, organisation_id), specialism)
    errors = [*(read_errors or []), *_shift_problems("", line, people),
              *_overlaps(session, organisation_id, specialism, line, set())]
    if errors:
        raise RotaRefused(errors)
    on_call, backup, start, end = _resolved(people, line)
    shift = OnCallShift(organisation_id=organisation_id, specialism=specialism, practitioner_id=on_call.id,
                        backup_practitioner_id=backup.id, starts_at=start, ends_at=end,
                        source="inbox", created_by=created_by)
    session.add(shift)
    session.flush()
    _audit(session, actor, "rota.shift.add", AuditAction.CREATE, shift)
    return shift


def change_shift(session: Session, actor: Actor, organisation_id: str, shift_id: str, line: ShiftLine,
                 changed_by: str | None = None, read_errors: list[RotaError] | None = None) -> ShiftChange:
    """New times or people for a shift. A changeover with a neighbouring shift moves that shift along, so no
    gap opens; a change that would swallow a neighbour, or overlap any other shift, is refused."""
    shift = get_shift(session, organisation_id, shift_id)
    people = _People(session, _organisation(session, organisation_id), shift.specialism)
    errors = [*(read_errors or []), *_shift_problems("", line, people)]
    before, after = neighbours(session, shift)
    moved: list[OnCallShift] = []
    if line.starts_at is not None and line.ends_at is not None and line.ends_at > line.starts_at:
        start, end = line.starts_at, line.ends_at
        if before is not None and start != shift.starts_at:
            if start <= before.starts_at:
                errors.append(RotaError("", 0, line.names[0], N_(
                    "The shift would start before the previous shift of %(name)s does (%(start)s): change or "
                    "delete that shift first"), {"name": before.practitioner.name, "start": local(before.starts_at)}))
            moved.append(before)
        if after is not None and end != shift.ends_at:
            if end >= after.ends_at:
                errors.append(RotaError("", 0, line.names[1], N_(
                    "The shift would end after the next shift of %(name)s does (%(end)s): change or delete that "
                    "shift first"), {"name": after.practitioner.name, "end": local(after.ends_at)}))
            moved.append(after)
        skip = {shift.id, *(s.id for s in (before, after) if s is not None)}
        errors.extend(_overlaps(session, organisation_id, shift.specialism, line, skip))
    if errors:
        raise RotaRefused(errors)
    on_call, backup, start, end = _resolved(people, line)
    was = _describe(shift)
    if before is not None and before in moved:
        before.ends_at = start
    if after is not None and after in moved:
        after.starts_at = end
    shift.starts_at, shift.ends_at = start, end
    shift.practitioner_id, shift.backup_practitioner_id = on_call.id, backup.id
    shift.source, shift.created_by = "inbox", changed_by
    session.flush()
    session.refresh(shift)
    _audit(session, actor, "rota.shift.change", AuditAction.UPDATE, shift,
           f"was {was}; moved={','.join(s.id for s in moved) or 'none'}")
    return ShiftChange(shift, tuple(moved))


def delete_shift(session: Session, actor: Actor, organisation_id: str, shift_id: str,
                 give_to: str | None = None) -> ShiftChange:
    """Remove a shift. Between two others, ``give_to`` ("previous" or "next") says who takes over its hours."""
    shift = get_shift(session, organisation_id, shift_id)
    before, after = neighbours(session, shift)
    if before is not None and after is not None and give_to not in GIVE_TO:
        raise RotaRefused([RotaError("", 0, "give_to", N_(
            "This shift lies between two others: choose who takes over its hours, the previous or the next "
            "specialist on call, so that nobody is left without one"))])
    moved: tuple[OnCallShift, ...] = ()
    if give_to == "previous" and before is not None:
        before.ends_at, moved = shift.ends_at, (before,)
    elif give_to == "next" and after is not None:
        after.starts_at, moved = shift.starts_at, (after,)
    _audit(session, actor, "rota.shift.delete", AuditAction.DELETE, shift,
           f"moved={','.join(s.id for s in moved) or 'none'}")
    session.delete(shift)
    session.flush()
    return ShiftChange(shift, moved)


def _describe(shift: OnCallShift) -> str:
    return (f"{shift.starts_at.isoformat()}..{shift.ends_at.isoformat()} on-call={shift.practitioner.agb} "
            f"backup={shift.backup.agb}")


def _audit(session: Session, actor: Actor, event: str, action: AuditAction, shift: OnCallShift,
           extra: str = "") -> None:
    detail = f"specialism={shift.specialism}; {_describe(shift)}" + (f"; {extra}" if extra else "")
    record(session, actor, event=event, action=action, resource_type="OnCallShift", resource_id=shift.id,
           detail=detail)
