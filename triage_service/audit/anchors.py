"""The anchor file: where the audit chain stood, kept outside the database.

One JSON line per record, appended (``O_APPEND``, one ``write`` per line, so the processes that
anchor - every ``serve`` instance and ``worker`` - never interleave half lines):

- ``anchor``: the first and the last entry (index and hash) at a moment, and the first entry with a
  keyed hash (``keyed_from``). Cutting the newest entries, cutting the oldest, or rewriting the chain
  with recomputed hashes - keyed, or in the unkeyed form of old entries - no longer matches.
- ``cut``: written by the retention purge before it removes old entries: the first entry kept and
  its predecessor's hash. Only a cut recorded here lets the chain start after entry 1.

Every line carries an HMAC under the audit key (``kid``, ``mac``), so a line cannot be forged or
altered without the key; a ``cut`` is a permission, so this matters most for it. Lines in the format
from before (``<time> <index> <hash>``, written by the unkeyed worker) are read as head-only anchors:
an anchor can only add a constraint, never excuse a gap, so an unsigned one is still safe to honour.

In production point ``TRIAGE_AUDIT_ANCHOR_PATH`` at storage the database's administrators cannot
rewrite: another disk with the append-only attribute (``chattr +a``), a log shipper to a WORM bucket
or a remote syslog; the service only ever appends.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from triage_service.audit.keys import AuditKeys


@dataclass(frozen=True)
class Anchor:
    at: str
    #: (index, hash) pairs that must still be in the chain: the first and last entry when anchored.
    positions: tuple[tuple[int, str], ...]
    #: From this entry on every entry was keyed (None: no keyed entry yet, or an unsigned old-format line).
    keyed_from: int | None = None


@dataclass
class AnchorFile:
    anchors: list[Anchor] = field(default_factory=list)
    cuts: set[tuple[int, str]] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)


def _signed(record: dict[str, Any], keys: AuditKeys) -> bytes:
    body = {**record, "kid": keys.active}
    body["mac"] = keys.mac(keys.active, _canonical(body))
    return (json.dumps(body, separators=(",", ":")) + "\n").encode()


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps({k: v for k, v in record.items() if k != "mac"}, sort_keys=True,
                      separators=(",", ":")).encode()


def _append(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)  # an anchor that a crash can lose is no anchor
    finally:
        os.close(fd)


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).isoformat(timespec="seconds")


def append_anchor(path: Path, keys: AuditKeys, now: datetime, first: tuple[int, str], last: tuple[int, str],
                  keyed_from: int | None) -> None:
    _append(path, _signed({"kind": "anchor", "at": _stamp(now), "first": list(first), "head": list(last),
                           "keyed_from": keyed_from}, keys))


def append_cut(path: Path, keys: AuditKeys, now: datetime, cut: tuple[int, str]) -> None:
    _append(path, _signed({"kind": "cut", "at": _stamp(now), "cut": list(cut)}, keys))


def read(path: Path, keys: AuditKeys) -> AnchorFile:
    found = AnchorFile()
    if not path.exists():
        return found
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        if not line.startswith("{"):
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():  # the unsigned format from before
                found.anchors.append(Anchor(parts[0], ((int(parts[1]), parts[2]),)))
            else:
                found.problems.append(f"line {number} of the anchor file is not an anchor")
            continue
        try:
            record = json.loads(line)
            valid = keys.matches(str(record["kid"]), _canonical(record), str(record["mac"]))
        except (ValueError, KeyError, TypeError):
            valid = False
        if not valid:
            found.problems.append(f"line {number} of the anchor file is not signed with the audit key: "
                                  "it was altered or forged")
            continue
        if record.get("kind") == "anchor":
            keyed_from = record.get("keyed_from")
            found.anchors.append(Anchor(str(record["at"]), tuple((int(p[0]), str(p[1]))
                                                                 for p in (record["first"], record["head"])),
                                        int(keyed_from) if keyed_from is not None else None))
        elif record.get("kind") == "cut":
            found.cuts.add((int(record["cut"][0]), str(record["cut"][1])))
    return found
