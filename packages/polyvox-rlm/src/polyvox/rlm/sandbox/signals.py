"""The worker's signal handlers, mask and timers, put back after every cell: :class:`SignalState`.

A cell that reaches ``signal`` another way (the import allow-list is no boundary) could leave
an alarm, an interval timer, a handler, a wake-up descriptor or a blocked signal behind,
firing (or failing to) in a later cell: an ``alarm`` that kills the worker, a ``SIGINT``
handler that swallows the watchdog's interrupt.
"""

from __future__ import annotations

import _signal  # type: ignore[import-not-found]  # (no stub: signal.py wraps it)
import operator
import signal

__all__ = ["SignalState"]


class SignalState:
    """The worker's signal handlers, mask and timers, put back after every cell.

    A cell that reaches ``signal`` another way could leave an alarm, an interval timer, a
    handler or a blocked signal behind that fires (or fails to) in a later cell. The
    functions are taken now, so a cell that replaces them in the module changes nothing.
    """

    def __init__(self) -> None:
        # _signal's own functions: signal.getsignal wraps each answer in Python (60 of them
        # would cost ~25 µs a cell; these ~2 µs).
        self._getsignal = _signal.getsignal
        self._signal = _signal.signal
        self._differs = operator.is_not
        self._setitimer = signal.setitimer
        self._sigmask = signal.pthread_sigmask
        self._setmask = signal.SIG_SETMASK
        self._wakeup = signal.set_wakeup_fd
        self._timers = (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)
        self._mask = signal.pthread_sigmask(signal.SIG_BLOCK, [])
        numbers = tuple(
            number
            for number in signal.valid_signals()
            if number not in (signal.SIGKILL, signal.SIGSTOP)
            and _signal.getsignal(number) is not None  # set outside Python: nothing to restore
        )
        self._numbers = numbers
        self._baseline = tuple(map(_signal.getsignal, numbers))

    def restore(self) -> None:
        """Cancel timers, reinstall the handlers and the mask (never raises)."""
        try:
            for timer in self._timers:
                self._setitimer(timer, 0)
            self._wakeup(-1)
            current = tuple(map(self._getsignal, self._numbers))
            if any(map(self._differs, current, self._baseline)):
                for number, now, was in zip(self._numbers, current, self._baseline, strict=True):
                    if now is not was:
                        self._signal(number, was)
            self._sigmask(self._setmask, self._mask)
        except BaseException:  # pragma: no cover - only a broken interpreter gets here
            pass
