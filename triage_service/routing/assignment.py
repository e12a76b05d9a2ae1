"""Choosing who answers a consult among the specialists of the matching agreements.

Fair and explainable: candidates are the specialists (or group queues, where the
agreement says so) of every matching profile; absent specialists are skipped;
the one with the least outstanding work gets it (for urgent requests, the least
outstanding *urgent* work first), ties go to whoever was assigned least
recently, then by AGB so the choice is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BindParameter, CompoundSelect, bindparam, case, func, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from triage_service.models import Absence, ConsultTask, Practitioner, RoutingDecision, TaskStatus
from triage_service.routing.matching import CompiledProfile

OPEN_STATUSES = (TaskStatus.ACCEPTED, TaskStatus.IN_PROGRESS, TaskStatus.ON_HOLD)
URGENT_PRIORITIES = ("urgent", "asap", "stat")
#: "Never assigned": sorts before any real time, so a new colleague gets the next consult.
NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Candidate:
    kind: str  # "practitioner" or "organisation" (group queue)
    agb: str
    name: str
    profile: CompiledProfile
    available: bool
    open: int
    urgent_open: int
    last_assigned_at: datetime

    def as_record(self, chosen: bool) -> dict[str, Any]:
        return {"kind": self.kind, "agb": self.agb, "name": self.name, "available": self.available,
                "open": self.open, "urgent_open": self.urgent_open, "profile": self.profile.profile_name,
                "agreement": self.profile.agreement_code, "chosen": chosen}


@dataclass(frozen=True)
class Assignment:
    chosen: Candidate
    candidates: list[Candidate]
    reason: str


@dataclass(frozen=True)
class _Standing:
    """Where the candidates stand: names, who is absent, open work, and when each was last assigned one."""

    names: dict[str, str]
    absent: set[str]
    loads: dict[str, tuple[int, int]]
    lasts: dict[str, datetime]


def _standing_statement() -> CompoundSelect[Any]:
    """The members' names and who of them is absent now, each owner's open (and open urgent) consults, and when
    each owner was last assigned one: one round trip, as one UNION ALL of three reads (on PostgreSQL a round trip
    costs about half a millisecond, and intake is latency-bound). Built once, with the members, owners and time
    as parameters: building it for every intake cost more CPU than PostgreSQL spends running it (issue 25)."""
    now = bindparam("now", type_=Absence.starts_at.type)
    members: BindParameter[list[str]] = bindparam("members", expanding=True)
    owners: BindParameter[list[str]] = bindparam("owners", expanding=True)
    away = (select(Absence.id).where(Absence.practitioner_id == Practitioner.id, Absence.starts_at <= now,
                                     or_(Absence.ends_at.is_(None), Absence.ends_at > now)).exists())
    names = select(literal("name"), Practitioner.agb, case((away, 1), else_=0), literal(0), null(),
                   Practitioner.name).where(Practitioner.agb.in_(members))
    last = (select(literal("last"), RoutingDecision.owner_agb, literal(0), literal(0),
                   func.max(RoutingDecision.decided_at), null())
            .where(RoutingDecision.owner_agb.in_(owners)).group_by(RoutingDecision.owner_agb))
    load = (select(literal("load"), ConsultTask.owner_agb, func.count(),
                   func.sum(case((ConsultTask.urgent, 1), else_=0)), null(), null())
            .where(ConsultTask.owner_agb.in_(owners), ConsultTask.status.in_(OPEN_STATUSES))
            .group_by(ConsultTask.owner_agb))
    # ``last`` first: a UNION's columns take their types from its first SELECT, and decided_at must come back as
    # an aware UTC datetime (UTCDateTime), or comparing it with NEVER fails.
    return union_all(last, load, names)


_STANDING = _standing_statement()


def _people_and_load(session: Session, members: list[str], owners: list[str], now: datetime) -> _Standing:
    standing = _Standing({}, set(), {}, {})
    row: Any
    for row in session.execute(_STANDING, {"now": now, "members": members, "owners": owners}):
        what, agb, total, urgent, when, name = row
        if what == "name":
            standing.names[agb] = name
            if total:
                standing.absent.add(agb)
        elif what == "load":
            standing.loads[agb] = (int(total), int(urgent or 0))
        elif when is not None:
            standing.lasts[agb] = when
    return standing


def candidates_for(session: Session, matches: list[CompiledProfile], now: datetime) -> list[Candidate]:
    """Every specialist or group queue of the matching profiles, with load and availability (1 query)."""
    specialist_agbs = {agb for p in matches if not p.group_queue for agb in p.specialist_agbs}
    member_agbs = sorted({agb for p in matches for agb in p.specialist_agbs})
    owners = sorted(specialist_agbs) + sorted({p.subcontractor_agb for p in matches if p.group_queue})
    standing = _people_and_load(session, member_agbs, owners, now)
    absent, load, last = standing.absent, standing.loads, standing.lasts
    names = {agb: name for agb, name in standing.names.items() if agb in specialist_agbs}

    seen: set[tuple[str, str]] = set()
    out: list[Candidate] = []
    for profile in matches:
        if profile.group_queue:
            # A group queue is open while any of its specialists is in.
            entries = [("organisation", profile.subcontractor_agb, profile.subcontractor_name,
                        any(a not in absent for a in profile.specialist_agbs))]
        else:
            entries = [("practitioner", agb, names.get(agb, agb), agb not in absent)
                       for agb in profile.specialist_agbs if agb in names]
        for kind, agb, name, available in entries:
            if (kind, agb) in seen:
                continue
            seen.add((kind, agb))
            total, urgent = load.get(agb, (0, 0))
            out.append(Candidate(kind, agb, name, profile, available, total, urgent, last.get(agb, NEVER)))
    return out


def choose(candidates: list[Candidate], priority: str, performer_agb: str | None = None) -> Assignment | None:
    if not candidates:
        return None
    urgent = priority in URGENT_PRIORITIES
    available = [c for c in candidates if c.available]
    if performer_agb is not None:
        named = [c for c in available if c.agb == performer_agb]
        if named:
            return Assignment(named[0], candidates, f"Assigned to {named[0].name} as the GP asked; the agreement "
                                                    f"{named[0].profile.agreement_code} covers the request.")
    if not available:
        # Nobody is in: the consult waits in the subcontractor's queue rather than on one absent person.
        first = candidates[0]
        group = Candidate("organisation", first.profile.subcontractor_agb, first.profile.subcontractor_name,
                          first.profile, False, 0, 0, NEVER)
        return Assignment(group, candidates, f"All specialists of agreement {first.profile.agreement_code} are "
                                             f"absent; queued for {group.name} to pick up.")

    def key(c: Candidate) -> tuple[int, int, datetime, str]:
        return (c.urgent_open if urgent else c.open, c.open, c.last_assigned_at, c.agb)

    chosen = min(available, key=key)
    what = "urgent open consults" if urgent else "open consults"
    count = chosen.urgent_open if urgent else chosen.open
    absent_note = "" if len(available) == len(candidates) else \
        f" ({len(candidates) - len(available)} absent, not considered)"
    prefix = "" if performer_agb is None else "The requested specialist is not available; "
    reason = (f"{prefix}Profile '{chosen.profile.profile_name}' of agreement {chosen.profile.agreement_code} admits "
              f"the request. Assigned to {chosen.name}: {count} {what}, the fewest among {len(available)} "
              f"available candidate(s){absent_note}.")
    return Assignment(chosen, candidates, reason)
