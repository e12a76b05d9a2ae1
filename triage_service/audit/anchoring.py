"""Anchoring the audit chain on a fixed interval, and once more on the way out, without anyone remembering to.

Entries written after the last anchor are the ones someone with write access to the database
could cut off unnoticed, so anchors are written by the processes that run anyway:

- ``triage-service worker`` anchors every ``TRIAGE_AUDIT_ANCHOR_SECONDS`` in its loop and when it stops;
- ``triage-service serve`` runs gunicorn, whose arbiter starts a companion process
  (``triage-service audit anchor --keep-running``) when it is ready and stops it when it exits, after
  its workers have finished their last requests (config/gunicorn.conf.py: ``when_ready``/``on_exit``).
  A separate process rather than a thread in the arbiter: the arbiter forks workers, and a thread
  holding a database connection or a lock at that moment would hand a copy of it to every worker.

Each process writes an anchor only when the head moved since its own last one, so an idle service
does not grow the file.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from collections.abc import Callable

from flask import Flask

from triage_service import clock
from triage_service.audit.chain import head, write_anchor
from triage_service.database import session_scope
from triage_service.lifetime import Lifetime

log = logging.getLogger(__name__)


class Anchorer:
    def __init__(self, app: Flask, every: float | None = None):
        settings = app.extensions["triage.settings"]
        self.app, self.path = app, settings.audit_anchor_path
        self.every = every if every is not None else float(settings.audit_anchor_seconds)
        self._next = 0.0
        self._last: tuple[int, str] | None = None

    def tick(self) -> tuple[int, str] | None:
        """Anchor if the interval has passed since the last time."""
        if clock.monotonic() < self._next:
            return None
        self._next = clock.monotonic() + self.every
        return self.anchor()

    def anchor(self) -> tuple[int, str] | None:
        """Anchor now (at start, on the interval, at shutdown); None when the head has not moved."""
        with session_scope(self.app) as session:
            current = head(session)
            if current is None or current == self._last:
                return None
            written = write_anchor(session, self.path, clock.now())
        self._last = written
        return written


def keep_anchoring(app: Flask, exit_with_parent: bool = False) -> None:
    """The gunicorn companion's loop: anchor on the interval until SIGTERM (or the parent is gone), then
    once more. A failed attempt (the database restarting) is logged and retried at the next tick: a
    companion that died would stop anchoring without anyone noticing."""
    lifetime = Lifetime(exit_with_parent)
    anchorer = Anchorer(app)
    while lifetime.running:
        _attempt(anchorer.tick)
        time.sleep(1)
    _attempt(anchorer.anchor)


def _attempt(step: Callable[[], object]) -> None:
    try:
        step()
    except Exception as exc:  # logged (the type only: no SQL parameters), retried at the next tick
        log.error("writing an audit anchor failed: %s", type(exc).__name__)


_COMMAND = [sys.executable, "-m", "triage_service.cli", "audit", "anchor"]


def start_companion() -> subprocess.Popen[bytes]:
    """From gunicorn's arbiter (``when_ready``): the anchoring process, in its own session so a Ctrl-C on the
    server's terminal does not stop it before the workers have finished."""
    return subprocess.Popen([*_COMMAND, "--keep-running", "--exit-with-parent"],  # noqa: S603 - fixed arguments
                            start_new_session=True)


def stop_companion(process: subprocess.Popen[bytes] | None, timeout: float = 15) -> None:
    """From gunicorn's arbiter (``on_exit``, after the workers stopped): the companion writes its last anchor.
    If it did not get to (stopped while still starting, or gone), the arbiter anchors once itself."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process is None or process.returncode != 0:
        subprocess.run(_COMMAND, timeout=timeout, check=False, stdout=subprocess.DEVNULL)  # noqa: S603 - fixed
