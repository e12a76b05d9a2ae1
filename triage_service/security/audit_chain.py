"""The audit trail as a hash chain: an edited, inserted or removed entry is detectable.

Each entry stores its position (``chain_index``), the previous entry's hash and its own hash
over its content plus that previous hash. Entries are chained when they are flushed, under a
lock that orders concurrent writers (PostgreSQL: a transaction-scoped advisory lock; SQLite
already lets one writer at a time in with BEGIN IMMEDIATE), so the chain has no forks.

Truncating the newest entries leaves a shorter but valid chain; anchors catch that: the
worker (and ``triage-service audit anchor``) appends the current head to a file outside the
database, and ``audit verify`` checks every anchored position still carries the same hash.
Old entries can be purged after their retention period: verification starts at the first
entry that is left, from its stored previous hash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from triage_service.models import AuditEntry

GENESIS = "0" * 64
#: Any constant works; it names the lock that orders writers of the chain on PostgreSQL.
_LOCK_KEY = 7513


def entry_digest(entry: AuditEntry, prev_hash: str) -> str:
    """SHA-256 over the entry's content, in a fixed canonical JSON form, and the previous hash."""
    occurred = entry.occurred_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    content = [entry.chain_index, occurred, entry.event, str(entry.action.value), str(entry.outcome.value),
               entry.actor_kind, entry.actor_id, entry.organisation_id, entry.resource_type, entry.resource_id,
               entry.patient_ref, entry.source_ip, entry.detail, prev_hash]
    return hashlib.sha256(json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()


@event.listens_for(Session, "before_flush")
def _chain_new_entries(session: Session, _context: Any, _instances: Any) -> None:
    entries = [obj for obj in session.new if isinstance(obj, AuditEntry)]  # in the order they were added
    if not entries:
        return
    bind = session.connection()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    head = session.execute(select(AuditEntry.chain_index, AuditEntry.entry_hash)
                           .order_by(AuditEntry.chain_index.desc()).limit(1)).first()
    index, previous = (head[0], head[1]) if head else (0, GENESIS)
    for entry in entries:
        if entry.occurred_at.tzinfo is None:
            entry.occurred_at = entry.occurred_at.replace(tzinfo=UTC)
        # Stored with microsecond precision on both engines: hash exactly what will be read back.
        index += 1
        entry.chain_index, entry.prev_hash = index, previous
        entry.entry_hash = previous = entry_digest(entry, entry.prev_hash)


@dataclass
class Verification:
    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _entries(session: Session) -> Iterator[AuditEntry]:
    yield from session.scalars(select(AuditEntry).order_by(AuditEntry.chain_index).execution_options(
        yield_per=2000))


def verify(session: Session, anchors: Path | None = None) -> Verification:
    result = Verification()
    previous_index: int | None = None
    previous_hash: str | None = None
    seen: dict[int, str] = {}
    wanted = read_anchors(anchors) if anchors else {}
    for entry in _entries(session):
        result.checked += 1
        if previous_index is not None and entry.chain_index != previous_index + 1:
            result.problems.append(f"entries {previous_index + 1}..{entry.chain_index - 1} are missing")
        if previous_hash is not None and entry.prev_hash != previous_hash:
            result.problems.append(f"entry {entry.chain_index} does not follow entry {previous_index}")
        if entry_digest(entry, entry.prev_hash) != entry.entry_hash:
            result.problems.append(f"entry {entry.chain_index} (id {entry.id}) was changed after it was written")
        if entry.chain_index in wanted:
            seen[entry.chain_index] = entry.entry_hash
        previous_index, previous_hash = entry.chain_index, entry.entry_hash
    for index, anchored in sorted(wanted.items()):
        if index not in seen:
            if previous_index is None or index > previous_index:
                result.problems.append(f"entry {index}, anchored earlier, is gone: the newest entries were removed")
        elif seen[index] != anchored:
            result.problems.append(f"entry {index} no longer matches its anchor")
    return result


def head(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(AuditEntry.chain_index, AuditEntry.entry_hash)
                          .order_by(AuditEntry.chain_index.desc()).limit(1)).first()
    return (int(row[0]), str(row[1])) if row else None


def write_anchor(session: Session, anchors: Path, now: datetime) -> tuple[int, str] | None:
    """Append the chain's head to the anchor file (kept outside the database, ideally shipped elsewhere)."""
    current = head(session)
    if current is None:
        return None
    anchors.parent.mkdir(parents=True, exist_ok=True)
    with anchors.open("a", encoding="utf-8") as handle:
        handle.write(f"{now.astimezone(UTC).isoformat()} {current[0]} {current[1]}\n")
    return current


def read_anchors(anchors: Path) -> dict[int, str]:
    if not anchors.exists():
        return {}
    found = {}
    for line in anchors.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            found[int(parts[1])] = parts[2]
    return found
