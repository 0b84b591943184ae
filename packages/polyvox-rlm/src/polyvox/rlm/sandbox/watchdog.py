"""The worker's per-cell time limit: a watchdog thread that interrupts the main thread.

At the deadline the thread sends SIGINT to the main thread; the handler raises
:class:`CellTimeout` only while the cell's own code runs (not while the worker talks to the
host or formats results). The clock stops while a sub-call waits for the host. If the code
swallows the exception the signal is sent again every :data:`REFIRE_S` seconds; a cell stuck
in C code that never returns to the interpreter is the host's to kill.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType

__all__ = ["REFIRE_S", "CellTimeout", "Watchdog"]

REFIRE_S = 0.2
"""Seconds between repeated interrupts once a cell is past its deadline."""


class CellTimeout(BaseException):
    """Raised in a cell that ran past its time limit (a ``BaseException``, like Ctrl-C)."""


class Watchdog:
    """Interrupts the main thread when a cell's time runs out."""

    def __init__(self) -> None:
        """Start the watchdog thread and install the SIGINT handler (main thread only)."""
        self.in_cell = False
        """True while the cell's own code runs: only then does an interrupt raise."""
        self.fired = False
        """True once the current cell's deadline passed."""
        self._cond = threading.Condition()
        self._deadline: float | None = None
        self._remaining: float | None = None
        self._main = threading.main_thread().ident
        signal.signal(signal.SIGINT, self._on_interrupt)
        threading.stack_size(256 * 1024)
        threading.Thread(target=self._watch, name="rlm-watchdog", daemon=True).start()

    def arm(self, seconds: float) -> None:
        """Start a cell's clock.

        Args:
            seconds: Time the cell may run.
        """
        with self._cond:
            self.fired = False
            self._remaining = None
            self._deadline = time.monotonic() + seconds
            self._cond.notify()

    def pause(self) -> None:
        """Stop the clock (a sub-call is waiting for the host)."""
        with self._cond:
            if self._deadline is not None:
                self._remaining = self._deadline - time.monotonic()
                self._deadline = None

    def resume(self) -> None:
        """Restart the clock with the time that was left."""
        with self._cond:
            if self._remaining is not None:
                self._deadline = time.monotonic() + self._remaining
                self._remaining = None
                self._cond.notify()

    def disarm(self) -> None:
        """Stop watching (the cell ended)."""
        with self._cond:
            self._deadline = None
            self._remaining = None
            self._cond.notify()

    def _watch(self) -> None:
        main = self._main
        assert main is not None
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                delay = self._deadline - time.monotonic()
                if delay > 0:
                    self._cond.wait(delay)
                    continue
                self.fired = True
                signal.pthread_kill(main, signal.SIGINT)
                self._deadline = time.monotonic() + REFIRE_S

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self.in_cell and self.fired:
            raise CellTimeout("the cell ran past its time limit")
