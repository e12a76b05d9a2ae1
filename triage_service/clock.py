"""The one clock: every component (API, inbox, reports, worker, CLI, model defaults) asks this module for
the time, so a test or a shifted system clock moves all of them together.

Why two sources: a Flask app carries its own clock (``create_app(clock=...)``; tests install a frozen one),
and code that runs outside a request or app context (model defaults during a CLI command, the worker's
loop) falls back to the process clock. ``create_app`` without a clock leaves the process clock as it is, so
a second app built in a test keeps the test's frozen time.

Durations between two moments (cache ages, the worker's pass intervals) use ``monotonic()``, which no
wall-clock shift can make run backwards.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import current_app, has_app_context

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The machine's time in UTC; the only place that reads it."""
    return datetime.now(UTC)


_process_clock: Clock = system_clock


def install(clock: Clock) -> None:
    """Make ``clock`` the process's time source (tests; ``create_app(clock=...)``)."""
    global _process_clock
    _process_clock = clock


def now() -> datetime:
    """Now in UTC: the current app's clock inside an app context, else the process clock."""
    if has_app_context():
        app_clock: Clock | None = current_app.extensions.get("triage.clock")
        if app_clock is not None:
            return app_clock()
    return _process_clock()


def monotonic() -> float:
    """Seconds on a clock that only moves forward, for intervals and cache ages."""
    return time.monotonic()
