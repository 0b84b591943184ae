"""Waiting for a model that is still loading (503 with ``estimated_time``), within a bound.

A scaled-to-zero Inference Endpoint, or a cold model on HF Inference, answers 503 ``"Model
... is currently loading"`` with the seconds it expects to need; the SDK raises at once. The
models here wait instead: they sleep what the body says (at least :data:`MIN_WAIT`, at most
what is left of ``model_loading_timeout``) and call again, until the model answers or the
time is spent, when the last 503 is raised, saying how long was waited. These waits are not
retries: ``max_retries`` still counts 429s and other failures.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["MIN_WAIT", "acall_waiting_for_model", "call_waiting_for_model"]

T = TypeVar("T")

MIN_WAIT = 0.05
"""The shortest wait between two calls to a loading model (seconds)."""
_MAX_WAIT = 30.0


def _pause(exc: Exception, deadline: float, budget: float, started: float) -> float:
    """Seconds to wait before calling again; raises ``exc`` when the budget is spent."""
    estimate = getattr(exc, "loading_estimate", None)
    if estimate is None:
        raise exc
    left = deadline - time.monotonic()
    if left <= 0:
        waited = time.monotonic() - started
        exc.args = (
            f"{exc.args[0] if exc.args else exc} (still loading after waiting {waited:.1f} s; "
            f"model_loading_timeout={budget} s)",
        )
        exc.is_retryable = False  # type: ignore[attr-defined]  # the wait was the retry
        raise exc
    return max(MIN_WAIT, min(float(estimate), left, _MAX_WAIT))


def call_waiting_for_model(call: Callable[[], T], budget: float) -> T:
    """Call ``call``; while it fails because the model is loading, wait and call again.

    Args:
        call: The attempt (raising polyvox's mapped errors).
        budget: Seconds the waits may take in all (``0`` never waits).

    Returns:
        What the first attempt that got an answer returned.
    """
    started = time.monotonic()
    deadline = started + budget
    while True:
        try:
            return call()
        except Exception as exc:
            time.sleep(_pause(exc, deadline, budget, started))


async def acall_waiting_for_model(call: Callable[[], Awaitable[T]], budget: float) -> T:
    """Async :func:`call_waiting_for_model`.

    Args:
        call: Makes the attempt's awaitable.
        budget: Seconds the waits may take in all.

    Returns:
        What the first attempt that got an answer returned.
    """
    started = time.monotonic()
    deadline = started + budget
    while True:
        try:
            return await call()
        except Exception as exc:
            await asyncio.sleep(_pause(exc, deadline, budget, started))
