"""Signing webhook notifications, and the check a receiver does (the README shows it too).

Header: ``X-Triage-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>``, where the MAC is
over ``"<t>." + body`` with the subscription's secret. Putting the timestamp inside
the MAC lets a receiver refuse old notifications replayed at it; the ``v1`` label
leaves room for a second algorithm during a future change without breaking receivers.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Triage-Signature"
#: How old a notification a receiver should still accept (clock skew plus delivery time).
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(secret: str, body: bytes, header: str, now: int,
           tolerance: int = DEFAULT_TOLERANCE_SECONDS) -> bool:
    """True when ``header`` is a valid signature of ``body`` made within ``tolerance`` seconds of ``now``."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
