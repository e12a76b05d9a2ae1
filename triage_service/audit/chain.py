"""The audit trail as a keyed hash chain: an edited, inserted or removed entry is detectable.

Each entry stores its position (``chain_index``), the previous entry's hash and its own hash:
an HMAC-SHA-256, under the audit key (audit/keys.py, a file outside the database), of
its content plus that previous hash. Without the key, an edit cannot be hidden by recomputing the
later hashes.

Entries are chained just before the transaction commits, under a lock that orders concurrent writers
(PostgreSQL: a transaction-scoped advisory lock; SQLite already lets one writer at a time in with BEGIN
IMMEDIATE), so the chain has no forks. The lock is the chain's serial part: every audited commit of every
worker passes it one at a time, so it is held as briefly as we can (issue 25). ``record`` (audit/trail.py)
does not insert anything: it keeps a :class:`NewEntry` with the transaction. Only at the commit - after the
monitoring's facts and the notifications are written - are the lock taken, the head read and this
transaction's entries inserted with their places and hashes, in one multi-row INSERT of the table (Core, not
the ORM's unit of work: an entry is never changed or read back in the transaction that writes it). An entry
recorded inside a savepoint that is rolled back is dropped with it. Entries recorded after that point (a
commit listener that audits) are inserted at once, under the lock already held.

Until 2026-12-07 an entry was inserted at its flush with a provisional (negative) place and given its real
one by an UPDATE under the lock; ``verify`` still reports such an entry, should one ever have been committed.

Entries written before keyed hashes (``hash_key`` NULL) keep their plain SHA-256 hash and are
verified as such. Rehashing them would need the old content to be trusted at migration time, which
is what we cannot prove; instead the first keyed entry chains onto the last plain one, so an edit
of an old entry changes a hash that a keyed entry covers. A plain entry *after* a keyed one, or after
the entry a signed anchor names as the first keyed one (``keyed_from``), is a downgrade and reported:
otherwise someone without the key could rewrite the whole chain in the old form.

What a chain cannot show by itself - its newest entries cut off, or its oldest - the anchors show
(audit/anchors.py): ``serve`` and ``worker`` append the first and last entry to a file
outside the database every ``TRIAGE_AUDIT_ANCHOR_SECONDS`` and when they stop. The chain must start
at entry 1 unless the retention purge recorded where it legitimately cut it (a keyed entry in the
chain and a signed marker in the anchor file).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, SessionTransaction

from triage_service.audit import anchors as audit_anchors
from triage_service.audit import keys as audit_keys
from triage_service.database import forget_at_transaction_end, insert_new
from triage_service.models import AuditAction, AuditEntry, AuditOutcome

GENESIS = "0" * 64
#: Any constant works; it names the lock that orders writers of the chain on PostgreSQL.
_LOCK_KEY = 7513
#: How the purge's own entry records a cut: the first entry kept and its predecessor's hash.
_CUT = re.compile(r"audit_cut=(\d+):([0-9a-f]{64})")


def _content(entry: AuditEntry | NewEntry, prev_hash: str) -> list[Any]:
    occurred = entry.occurred_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    return [entry.chain_index, occurred, entry.event, str(entry.action.value), str(entry.outcome.value),
            entry.actor_kind, entry.actor_id, entry.organisation_id, entry.resource_type, entry.resource_id,
            entry.patient_ref, entry.source_ip, entry.detail, prev_hash]


def _canonical(content: list[Any]) -> bytes:
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False).encode()


def entry_digest(entry: AuditEntry | NewEntry, prev_hash: str, keys: audit_keys.AuditKeys | None = None) -> str:
    """The hash of an entry (stored, or about to be inserted) over its content, in a fixed canonical JSON form,
    and the previous hash: an HMAC under the key the entry names, or plain SHA-256 for an entry from before
    keyed hashes. An entry naming a key that is not in the key file gets a digest that matches nothing."""
    if entry.hash_key is None:
        return hashlib.sha256(_canonical(_content(entry, prev_hash))).hexdigest()
    keys = keys or audit_keys.current()
    # The fields added with keyed hashes are covered too, so they cannot be edited either.
    mac = keys.mac(entry.hash_key, _canonical([*_content(entry, prev_hash), entry.on_behalf_of, entry.hash_key]))
    return mac or "unknown key"


#: session.info keys: this transaction's entries waiting for their place; "sealed: chain at once" (with the head as
#: it now stands, or None before the lock is taken); and how many entries were recorded when each savepoint began.
_PENDING = "triage.audit_pending"
_SEALED = "triage.audit_sealed"
_SAVEPOINTS = "triage.audit_savepoints"


@dataclass
class NewEntry:
    """An entry recorded in this transaction and not yet written (its place and hashes come at the commit)."""

    occurred_at: datetime
    event: str
    action: AuditAction
    outcome: AuditOutcome
    actor_kind: str
    actor_id: str | None
    organisation_id: str | None
    on_behalf_of: str | None
    resource_type: str | None
    resource_id: str | None
    patient_ref: str | None
    source_ip: str | None
    detail: str | None
    chain_index: int = 0
    prev_hash: str = ""
    entry_hash: str = ""
    hash_key: str | None = None


def append(session: Session, entry: NewEntry) -> None:
    """Keep ``entry`` for this transaction's commit, or chain it now when the commit is already chaining."""
    if entry.occurred_at.tzinfo is None:
        entry.occurred_at = entry.occurred_at.replace(tzinfo=UTC)
    if _SEALED in session.info:  # recorded by a commit listener after _seal: the commit is chaining already
        after = session.info[_SEALED] or _lock_and_read_head(session)
        session.info[_SEALED] = _insert(session, [entry], after)
        return
    session.info.setdefault(_PENDING, []).append(entry)


@event.listens_for(Session, "after_transaction_create")
def _mark_savepoint(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested:
        session.info.setdefault(_SAVEPOINTS, {})[transaction] = len(session.info.get(_PENDING, ()))


@event.listens_for(Session, "after_soft_rollback")
def _drop_undone(session: Session, previous: SessionTransaction) -> None:
    """A savepoint rolled back: what was recorded inside it did not happen, so it has no place in the chain."""
    mark = session.info.get(_SAVEPOINTS, {}).pop(previous, None)
    if mark is not None:
        del session.info.get(_PENDING, [])[mark:]


def _seal(session: Session) -> None:
    """Before COMMIT: chain this transaction's entries (see the module's docstring)."""
    if session.in_nested_transaction():
        return  # a savepoint: the outer transaction chains its entries once, at its commit
    pending: list[NewEntry] = session.info.pop(_PENDING, [])
    session.info[_SEALED] = None  # sealed, the lock not taken yet: an entry recorded from now on takes it
    if not pending:
        return
    session.flush()  # anything the ORM still holds goes in before the lock, not while it is held
    session.info[_SEALED] = _insert(session, pending, session.info[_SEALED] or _lock_and_read_head(session))


def _lock_and_read_head(session: Session) -> tuple[int, str]:
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    return head(session) or (0, GENESIS)


def _insert(session: Session, entries: list[NewEntry], after: tuple[int, str]) -> tuple[int, str]:
    """Give ``entries`` the places after ``after`` (the head, under the lock) and insert them; the new head."""
    keys = audit_keys.current()
    index, previous = after
    for entry in entries:
        index += 1
        entry.chain_index, entry.prev_hash, entry.hash_key = index, previous, keys.active
        entry.entry_hash = previous = entry_digest(entry, entry.prev_hash, keys)
    insert_new(session, AuditEntry, [dict(vars(entry)) for entry in entries])  # asdict() copies deeply: slower
    return index, previous


# What a rolled-back savepoint recorded is dropped by _drop_undone; the rest is kept until the whole transaction ends.
forget_at_transaction_end(_PENDING, _SEALED, _SAVEPOINTS)


def seal_last() -> None:
    """Make the chaining the last of the commit listeners, so that the facts and notifications other modules
    write at commit go in before the lock is taken, not while it is held. ``create_app`` calls this once every
    module is imported; the listener registered at import keeps the chain whole without it, only slower."""
    if event.contains(Session, "before_commit", _seal):
        event.remove(Session, "before_commit", _seal)
    event.listen(Session, "before_commit", _seal)


event.listen(Session, "before_commit", _seal)


@dataclass
class Verification:
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    #: What could not be checked (no anchor file yet); not a sign of tampering by itself.
    warnings: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


@dataclass
class _Walk:
    """What one pass over the entries saw."""

    first: tuple[int, str] | None = None  # index and prev_hash of the first entry left
    last: int | None = None
    hashes: dict[int, str] = field(default_factory=dict)  # of the anchored positions only
    cuts: set[tuple[int, str]] = field(default_factory=set)  # recorded by keyed, intact purge entries


def _entries(session: Session) -> Iterator[AuditEntry]:
    yield from session.scalars(select(AuditEntry).order_by(AuditEntry.chain_index).execution_options(
        yield_per=2000))


def _walk(session: Session, result: Verification, wanted: set[int], keys: audit_keys.AuditKeys,
          keyed_since: int | None) -> _Walk:
    walk = _Walk()
    previous_hash: str | None = None
    keyed = False
    for entry in _entries(session):
        result.checked += 1
        index = entry.chain_index
        if index <= 0:  # a provisional position committed: written past the chain (see the module's docstring)
            result.problems.append(f"entry id {entry.id} was never given a place in the chain")
            continue
        if walk.first is None:
            walk.first = (index, entry.prev_hash)
        if walk.last is not None and index != walk.last + 1:
            result.problems.append(f"entries {walk.last + 1}..{index - 1} are missing")
        if previous_hash is not None and entry.prev_hash != previous_hash:
            result.problems.append(f"entry {index} does not follow entry {walk.last}")
        intact = entry_digest(entry, entry.prev_hash, keys) == entry.entry_hash
        if entry.hash_key is not None and entry.hash_key not in keys.keys:
            result.problems.append(f"entry {index} names audit key {entry.hash_key!r}, which the key file lacks")
        elif not intact:
            result.problems.append(f"entry {index} (id {entry.id}) was changed after it was written")
        if entry.hash_key is None and (keyed or (keyed_since is not None and index >= keyed_since)):
            # Written after keyed hashes began (the chain or a signed anchor says so): recomputed without the key.
            result.problems.append(f"entry {index} has an unkeyed hash after keyed entries: it was rewritten")
        keyed = keyed or entry.hash_key is not None
        if intact and entry.hash_key is not None and entry.event == "retention.purge" and entry.detail:
            walk.cuts.update((int(i), h) for i, h in _CUT.findall(entry.detail))
        if index in wanted:
            walk.hashes[index] = entry.entry_hash
        walk.last, previous_hash = index, entry.entry_hash
    return walk


def verify(session: Session, anchors: Path | None = None) -> Verification:
    """Check every entry's hash and link, where the chain starts, and every anchor in ``anchors``."""
    keys = audit_keys.current()
    result = Verification()
    anchor_file = audit_anchors.read(anchors, keys) if anchors else audit_anchors.AnchorFile()
    result.problems.extend(anchor_file.problems)
    if anchors and not anchor_file.anchors:
        result.warnings.append(f"no anchors in {anchors} yet: removal of the newest entries cannot be checked")
    signed = [a.keyed_from for a in anchor_file.anchors if a.keyed_from is not None]
    walk = _walk(session, result, {i for a in anchor_file.anchors for i, _ in a.positions}, keys,
                 min(signed) if signed else None)
    _check_start(result, walk, anchor_file)
    for anchor in anchor_file.anchors:
        for index, anchored in anchor.positions:
            if index in walk.hashes:
                if walk.hashes[index] != anchored:
                    result.problems.append(f"entry {index} no longer matches its anchor of {anchor.at}")
            elif walk.last is None or index > walk.last:
                result.problems.append(f"entry {index}, anchored at {anchor.at}, is gone: the newest entries "
                                       "were removed")
    return result


def _check_start(result: Verification, walk: _Walk, anchor_file: audit_anchors.AnchorFile) -> None:
    """The chain starts at entry 1, or where a purge recorded that it cut it (in the chain, and in the anchor
    file when one is kept: someone holding the audit key could forge the first, not the second)."""
    if walk.first is None:
        return
    index, prev_hash = walk.first
    if index == 1 and prev_hash == GENESIS:
        return
    recorded = walk.cuts if not anchor_file.anchors and not anchor_file.cuts else walk.cuts & anchor_file.cuts
    if (index, prev_hash) not in recorded:
        result.problems.append(f"the trail starts at entry {index}, and no retention purge recorded removing the "
                               "entries before it: the oldest entries were removed")


#: Read under the chain's lock at every audited commit: built once.
_HEAD = (select(AuditEntry.chain_index, AuditEntry.entry_hash).where(AuditEntry.chain_index > 0)
         .order_by(AuditEntry.chain_index.desc()).limit(1))


def head(session: Session) -> tuple[int, str] | None:
    row = session.execute(_HEAD).first()
    return (int(row[0]), str(row[1])) if row else None


def first(session: Session) -> tuple[int, str] | None:
    row = session.execute(select(AuditEntry.chain_index, AuditEntry.entry_hash).where(AuditEntry.chain_index > 0)
                          .order_by(AuditEntry.chain_index).limit(1)).first()
    return (int(row[0]), str(row[1])) if row else None


def keyed_from(session: Session) -> int | None:
    """The first entry with a keyed hash (entries before it are from before keyed hashes)."""
    found = session.scalar(select(AuditEntry.chain_index).where(AuditEntry.hash_key.is_not(None))
                           .order_by(AuditEntry.chain_index).limit(1))
    return int(found) if found is not None else None


def write_anchor(session: Session, anchors: Path, now: datetime) -> tuple[int, str] | None:
    """Append the chain's first and last entry to the anchor file (outside the database)."""
    last, start = head(session), first(session)
    if last is None or start is None:
        return None
    audit_anchors.append_anchor(anchors, audit_keys.current(), now, start, last, keyed_from(session))
    return last
