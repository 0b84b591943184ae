"""Retries for providers whose SDK has none (Ollama, ...), with ``tenacity``.

Only failures LangChain marks retryable (``ModelError.is_retryable``: rate limits, server
errors, timeouts, connection failures) are retried, waiting what the provider asked
(``retry_after``) or an exponential backoff with jitter. SDKs with their own retry (OpenAI,
Anthropic) keep theirs.
"""

from __future__ import annotations

import random

from langchain_core.exceptions import ModelError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

__all__ = ["async_retrying", "retrying"]

_BASE = 0.25
_CAP = 8.0


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ModelError) and exc.is_retryable


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    asked = getattr(exc, "retry_after", None)
    if isinstance(asked, int | float):
        return min(float(asked), 60.0)
    backoff: float = min(_BASE * 2 ** (state.attempt_number - 1), _CAP)
    jitter = 0.5 + random.random() / 2  # jitter, not cryptography
    return float(backoff * jitter)


def retrying(max_retries: int) -> Retrying:
    """Build the ``tenacity`` loop for sync calls (``for attempt in ...: with attempt:``).

    Args:
        max_retries: Retries after the first attempt.

    Returns:
        The retrying iterator; the last failure is re-raised as it was.
    """
    return Retrying(
        stop=stop_after_attempt(max_retries + 1),
        retry=retry_if_exception(_retryable),
        wait=_wait,
        reraise=True,
    )


def async_retrying(max_retries: int) -> AsyncRetrying:
    """Build the async form of :func:`retrying` (``async for attempt in ...``).

    Args:
        max_retries: Retries after the first attempt.

    Returns:
        The async retrying iterator.
    """
    return AsyncRetrying(
        stop=stop_after_attempt(max_retries + 1),
        retry=retry_if_exception(_retryable),
        wait=_wait,
        reraise=True,
    )
