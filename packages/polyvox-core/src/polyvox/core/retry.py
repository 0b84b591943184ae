"""Retries for providers whose SDK has none (Ollama, ...), with ``tenacity``.

Only failures LangChain marks retryable (``ModelError.is_retryable``: rate limits, server
errors, timeouts, connection failures) are retried, waiting what the provider asked
(``retry_after``) or an exponential backoff with jitter. The first attempt is a plain call:
``tenacity`` is imported and its loop built only after a retryable failure, so a call that
succeeds pays nothing. SDKs with their own retry (OpenAI, Anthropic) keep theirs.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, TypeVar

from langchain_core.exceptions import ModelError

if TYPE_CHECKING:
    from tenacity import AsyncRetrying, RetryCallState, Retrying

__all__ = [
    "acall_with_retries",
    "astream_with_retries",
    "async_retrying",
    "call_with_retries",
    "retrying",
    "stream_with_retries",
]

T = TypeVar("T")

_BASE = 0.25
_CAP = 8.0


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ModelError) and exc.is_retryable


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return _delay(exc, state.attempt_number)


def _delay(exc: BaseException | None, attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1-based).

    What the provider asked (``retry_after``, at most a minute), else an exponential backoff
    with jitter.
    """
    asked = getattr(exc, "retry_after", None)
    if isinstance(asked, int | float):
        return min(float(asked), 60.0)
    backoff: float = min(_BASE * 2 ** (attempt - 1), _CAP)
    jitter = 0.5 + random.random() / 2  # jitter, not cryptography
    return float(backoff * jitter)


def retrying(max_retries: int) -> Retrying:
    """Build the ``tenacity`` loop for sync calls (``for attempt in ...: with attempt:``).

    Args:
        max_retries: Retries after the first attempt.

    Returns:
        The retrying iterator; the last failure is re-raised as it was.
    """
    from tenacity import Retrying, retry_if_exception, stop_after_attempt

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
    from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

    return AsyncRetrying(
        stop=stop_after_attempt(max_retries + 1),
        retry=retry_if_exception(_retryable),
        wait=_wait,
        reraise=True,
    )


def call_with_retries(call: Callable[[], T], max_retries: int) -> T:
    """Call ``call``; on a retryable failure, retry up to ``max_retries`` times.

    Args:
        call: The attempt (raising polyvox's mapped errors).
        max_retries: Retries after the first attempt.

    Returns:
        What the first successful attempt returned.
    """
    try:
        return call()
    except ModelError as exc:
        if max_retries <= 0 or not _retryable(exc):
            raise
        time.sleep(_delay(exc, 1))  # tenacity's first attempt starts without waiting
    for attempt in retrying(max_retries - 1):
        with attempt:
            return call()
    raise AssertionError("unreachable: tenacity re-raises the last failure")  # pragma: no cover


async def acall_with_retries(call: Callable[[], Awaitable[T]], max_retries: int) -> T:
    """Async :func:`call_with_retries`.

    Args:
        call: Makes the attempt's awaitable.
        max_retries: Retries after the first attempt.

    Returns:
        What the first successful attempt returned.
    """
    try:
        return await call()
    except ModelError as exc:
        if max_retries <= 0 or not _retryable(exc):
            raise
        await asyncio.sleep(_delay(exc, 1))  # tenacity's first attempt starts without waiting
    async for attempt in async_retrying(max_retries - 1):
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last failure")  # pragma: no cover


def stream_with_retries(start: Callable[[], Iterator[T]], max_retries: int) -> Iterator[T]:
    """Stream what ``start()`` yields; retry a retryable failure before the first item.

    Once an item was delivered a failure is raised as it is: a restart would repeat text the
    caller already has. Before that, a stream that fails (rate limit, server error, a
    connection refused or cut before the answer began) is retried like a plain call,
    waiting what the provider asked.

    Args:
        start: Opens one attempt's stream (raising polyvox's mapped errors).
        max_retries: Retries after the first attempt.

    Yields:
        The items of the first attempt that got going.
    """
    attempt = 0
    while True:
        started = False
        try:
            stream = start()
            try:
                for item in stream:
                    started = True
                    yield item
            finally:  # a consumer that stops early releases the connection now
                close = getattr(stream, "close", None)
                if close is not None:
                    close()
            return
        except ModelError as exc:
            if started or attempt >= max_retries or not _retryable(exc):
                raise
            attempt += 1
            time.sleep(_delay(exc, attempt))


async def astream_with_retries(
    start: Callable[[], AsyncIterator[T]], max_retries: int
) -> AsyncIterator[T]:
    """Async :func:`stream_with_retries`.

    Args:
        start: Opens one attempt's async stream.
        max_retries: Retries after the first attempt.

    Yields:
        The items of the first attempt that got going.
    """
    attempt = 0
    while True:
        started = False
        try:
            stream = start()
            try:
                async for item in stream:
                    started = True
                    yield item
            finally:  # a consumer that stops early releases the connection now
                close = getattr(stream, "aclose", None)
                if close is not None:
                    await close()
            return
        except ModelError as exc:
            if started or attempt >= max_retries or not _retryable(exc):
                raise
            attempt += 1
            await asyncio.sleep(_delay(exc, attempt))
