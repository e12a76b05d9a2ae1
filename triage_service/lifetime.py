"""How long a background process (the worker, serve's anchoring companion) keeps running: until SIGTERM or
SIGINT, or, when started with --exit-with-parent, until the process that started it is gone.

One place for it, so both loops stop the same way and finish their last step (an anchor, a delivery)."""

from __future__ import annotations

import os
import signal


class Lifetime:
    def __init__(self, exit_with_parent: bool = False) -> None:
        self.stopping = False
        self._exit_with_parent = exit_with_parent
        self._parent = os.getppid()
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, *_: object) -> None:
        self.stopping = True

    @property
    def running(self) -> bool:
        return not self.stopping and not (self._exit_with_parent and os.getppid() != self._parent)
