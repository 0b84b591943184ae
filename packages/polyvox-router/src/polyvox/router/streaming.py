"""Streaming through the router: fallback before the first chunk, never a silent truncation.

Leading chunks that carry nothing (a role-only opening chunk, usage) are held back, so a
stream that fails before its first real chunk falls back exactly like ``invoke`` (retries,
typed fallbacks, breakers). Once a chunk has reached the caller, a failure raises
:class:`~polyvox.router.errors.StreamInterruptedError` carrying the attempts, unless the
router has ``mid_stream_fallback=True`` and no delivered chunk carried part of a tool call:
then the next deployment answers from the start. The caller then receives the partial text
of the first deployment **followed by** the restarted answer (a merge of all chunks glues
them together); every chunk of a restarted stream has
``response_metadata["router_restart"] = True``, so a consumer can drop what came before
it, and ``response_metadata["router"]["restarts"]`` on the last chunk says where each restart
happened (``after_chunks``). A stream that breaks after delivering part of a tool call is
never restarted: it raises ``StreamInterruptedError`` (two deployments' tool-call chunks
would merge into calls with corrupt arguments).

A stream that fails after its last chunk (``chunk_position="last"``) is complete: the
failure is logged and the stream ends normally.

``Router.timeout`` bounds the async stream until its first chunk reaches the caller (the
attempt is cancelled at the deadline, as for ``ainvoke``); once chunks flow, the stream is
not cut by the router, and the deployment's own timeout applies. The sync stream, like sync
``invoke``, starts no attempt after the deadline but cannot cancel one under way.

The router's metadata (chosen deployment, strategy, attempts) rides on the final chunk
(``chunk_position="last"``), so it is in the merged message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import ChatGenerationChunk

from polyvox.router.attempts import areport, health, report
from polyvox.router.errors import StreamInterruptedError, is_caller_refusal

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

    from polyvox.router.attempts import AttemptLoop
    from polyvox.router.constraints import CallSpec
    from polyvox.router.deployment import Deployment
    from polyvox.router.router import Router

__all__ = ["astream", "stream"]

_log = logging.getLogger(__name__)
_END = object()


class _Piece:
    """The running state of one deployment's stream."""

    __slots__ = ("delivered", "held", "last_seen", "restarted", "start", "tools", "ttft", "usage")

    def __init__(self, restarted: bool = False) -> None:
        self.restarted = restarted
        self.tools = False
        self.start = time.perf_counter()
        self.held: list[AIMessageChunk] = []
        self.delivered = 0
        self.ttft: float | None = None
        self.usage: UsageMetadata | None = None
        self.last_seen = False

    def take(self, piece: Any) -> list[AIMessageChunk]:
        """Take one chunk from the deployment; return the chunks to pass on now."""
        chunk = _as_chunk(piece)
        if self.restarted:
            chunk.response_metadata["router_restart"] = True
        if chunk.usage_metadata:
            self.usage = (
                chunk.usage_metadata
                if self.usage is None
                else add_usage(self.usage, chunk.usage_metadata)
            )
        if self.delivered == 0:
            if _empty(chunk):
                self.held.append(chunk)
                return []
            self.ttft = time.perf_counter() - self.start
            out, self.held = [*self.held, chunk], []
            self.delivered = len(out)
            self.tools = any(_has_tool_call(c) for c in out)
            return out
        self.delivered += 1
        if not self.tools and _has_tool_call(chunk):
            self.tools = True
        return [chunk]

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def merged(self) -> AIMessage:
        """The held chunks as one message (for a stream that delivered nothing)."""
        if not self.held:
            return AIMessage(content="")
        total = self.held[0]
        for chunk in self.held[1:]:
            total = total + chunk
        return AIMessage(
            content=total.content,
            additional_kwargs=total.additional_kwargs,
            response_metadata=total.response_metadata,
            tool_calls=total.tool_calls,
            usage_metadata=self.usage,
            id=total.id,
        )


def _as_chunk(piece: Any) -> AIMessageChunk:
    if isinstance(piece, AIMessageChunk):
        return piece
    if isinstance(piece, AIMessage):  # a model without streaming answers in one message
        return AIMessageChunk(
            content=piece.content,
            additional_kwargs=piece.additional_kwargs,
            response_metadata=piece.response_metadata,
            tool_call_chunks=[
                {
                    "name": c["name"],
                    "args": _json(c["args"]),
                    "id": c["id"],
                    "index": i,
                    "type": "tool_call_chunk",
                }
                for i, c in enumerate(piece.tool_calls)
            ],
            usage_metadata=piece.usage_metadata,
            id=piece.id,
            chunk_position="last",
        )
    msg = f"a deployment streamed {type(piece).__name__}, not a message chunk"
    raise TypeError(msg)


def _json(args: dict[str, Any]) -> str:
    import json

    return json.dumps(args)


def _has_tool_call(chunk: AIMessageChunk) -> bool:
    kwargs = chunk.additional_kwargs
    return bool(chunk.tool_call_chunks) or "tool_calls" in kwargs or "function_call" in kwargs


def _empty(chunk: AIMessageChunk) -> bool:
    return not chunk.content and not chunk.tool_call_chunks and not chunk.additional_kwargs


def _emit(
    loop: AttemptLoop, deployment: Deployment, state: _Piece, chunks: list[AIMessageChunk]
) -> Iterator[ChatGenerationChunk]:
    for chunk in chunks:
        if chunk.chunk_position == "last" and not state.last_seen:
            state.last_seen = True
            _accept(loop, deployment, state, chunk)
        yield ChatGenerationChunk(message=chunk)


def _accept(loop: AttemptLoop, deployment: Deployment, state: _Piece, last: AIMessageChunk) -> None:
    """Record a stream that delivered chunks and finished; put the metadata on ``last``."""
    message = AIMessage(
        content="", response_metadata=dict(last.response_metadata), usage_metadata=state.usage
    )
    loop.succeeded(deployment, message, state.elapsed(), state.ttft)
    last.response_metadata["router"] = loop.metadata(deployment.name)


def _closing(
    loop: AttemptLoop, deployment: Deployment, state: _Piece
) -> Iterator[ChatGenerationChunk]:
    """A stream that ended: the closing chunk with the metadata when none carried it."""
    if state.last_seen:
        return
    closing = AIMessageChunk(content="", chunk_position="last")
    if state.restarted:
        closing.response_metadata["router_restart"] = True
    state.last_seen = True
    _accept(loop, deployment, state, closing)
    yield ChatGenerationChunk(message=closing)


def _held_answer(
    loop: AttemptLoop, deployment: Deployment, state: _Piece
) -> list[ChatGenerationChunk] | None:
    """A stream that delivered nothing: its chunks with the metadata, or ``None`` to go on."""
    if not loop.succeeded(deployment, state.merged(), state.elapsed(), state.ttft):
        return None  # blocked, and the content-policy fallback has a deployment left
    held = state.held or [AIMessageChunk(content="", chunk_position="last")]
    last = held[-1]
    last.chunk_position = "last"
    last.response_metadata["router"] = loop.metadata(deployment.name)
    return [ChatGenerationChunk(message=chunk) for chunk in held]


def _interrupted_error(
    loop: AttemptLoop, deployment: Deployment, exc: BaseException, delivered: int, tools: bool
) -> StreamInterruptedError:
    message = (
        f"the stream from {deployment.name} broke after {delivered} chunks had reached the "
        f"caller ({exc}); the answer is incomplete. "
    )
    if tools:
        message += "Part of a tool call was delivered, so the router does not restart it."
    else:
        message += "Set mid_stream_fallback=True to restart on the next deployment instead."
    error = StreamInterruptedError.from_failure(exc, loop.attempts, message)
    assert isinstance(error, StreamInterruptedError)
    return error


def _complete_then_failed(deployment: Deployment, exc: BaseException) -> None:
    _log.warning(
        "the stream from %s failed after its last chunk; the answer was complete: %s",
        deployment.name,
        exc,
    )


def _exhausted(loop: AttemptLoop) -> Iterator[ChatGenerationChunk]:
    message = loop.exhausted()  # raises unless a blocked answer is all there is
    yield ChatGenerationChunk(message=_as_chunk(message))


def stream(
    router: Router,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> Iterator[ChatGenerationChunk]:
    """Run the attempt loop for one stream (sync).

    Args:
        router: The router.
        loop: The call's attempt loop.
        messages: The prompt.
        spec: What the deployment receives.
        config: The child run's config (callbacks), or ``None``.

    Yields:
        The chosen deployment's chunks; the last one carries the router's metadata.

    Raises:
        StreamInterruptedError: The stream broke after chunks reached the caller and
            mid-stream fallback is off (or no deployment is left).
    """
    board, stats = router.breakers, router.stats
    deployment = loop.next()
    while deployment is not None:
        name = deployment.name
        if not loop.admit(deployment):
            deployment = loop.next()
            continue
        if not board.allow(name):
            loop.admission.unreserve(name)
            loop.skipped(deployment)
            deployment = loop.next()
            continue
        loop.begin(deployment)
        retries = 0
        while True:
            state = _Piece(restarted=bool(loop.restarts))
            loop.admission.start(name)
            try:
                target = router._target(deployment, spec)
                for piece in target.stream(messages, config, stop=spec.stop, **spec.kwargs):
                    yield from _emit(loop, deployment, state, state.take(piece))
            except BaseException as exc:
                if not isinstance(exc, Exception) or is_caller_refusal(exc):
                    # cancelled, the consumer stopped, or a budget refused the call
                    if not state.last_seen:
                        stats.ended(name)
                    if isinstance(exc, Exception):
                        board.release(name)  # a probe it was granted goes to the next call
                    raise
                if state.last_seen:
                    _complete_then_failed(deployment, exc)
                    board.record_success(name)
                    return
                if state.delivered:
                    report(board, name, health(exc))
                    if loop.interrupted(
                        deployment, exc, state.elapsed(), state.delivered, tools=state.tools
                    ):
                        break
                    raise _interrupted_error(
                        loop, deployment, exc, state.delivered, state.tools
                    ) from exc
                wait, verdict = loop.failed(deployment, exc, state.elapsed(), retries)
                report(board, name, verdict)
                if wait is None or not board.available(name):  # no retry once it opened
                    break
                time.sleep(wait)
                retries += 1
                continue
            board.record_success(name)
            if state.delivered:
                yield from _closing(loop, deployment, state)
                return
            answer = _held_answer(loop, deployment, state)
            if answer is not None:
                yield from answer
                return
            break
        deployment = loop.next()
    if loop.overflowed and router.large_input_handler is not None:
        handled = router._large_input(messages, loop.plan.request, config)
        yield ChatGenerationChunk(message=_as_chunk(loop.finish(None, handled, large_input=True)))
        return
    yield from _exhausted(loop)


async def astream(
    router: Router,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> AsyncIterator[ChatGenerationChunk]:
    """Run the attempt loop for one stream (native async).

    Args:
        router: The router.
        loop: The call's attempt loop.
        messages: The prompt.
        spec: What the deployment receives.
        config: The child run's config (callbacks), or ``None``.

    Yields:
        The chosen deployment's chunks; the last one carries the router's metadata.

    Raises:
        StreamInterruptedError: The stream broke after chunks reached the caller and
            mid-stream fallback is off (or no deployment is left).
    """
    board, stats = router.breakers, router.stats
    deployment = loop.next()
    while deployment is not None:
        name = deployment.name
        if not loop.admit(deployment):
            deployment = loop.next()
            continue
        if not await board.aallow(name):
            loop.admission.unreserve(name)
            loop.skipped(deployment)
            deployment = loop.next()
            continue
        loop.begin(deployment)
        retries = 0
        while True:
            state = _Piece(restarted=bool(loop.restarts))
            cut: asyncio.Timeout | None = None
            loop.admission.start(name)
            try:
                target = router._target(deployment, spec)
                pieces = aiter(target.astream(messages, config, stop=spec.stop, **spec.kwargs))
                while True:
                    if state.delivered == 0 and loop.deadline is not None:
                        # the router's timeout bounds the wait for the first chunk
                        cut = asyncio.timeout(loop.remaining())
                        async with cut:
                            piece = await anext(pieces, _END)
                    else:
                        piece = await anext(pieces, _END)
                    if piece is _END:
                        break
                    for out in _emit(loop, deployment, state, state.take(piece)):
                        yield out
            except BaseException as exc:
                if not isinstance(exc, Exception) or is_caller_refusal(exc):
                    # cancelled, the consumer stopped, or a budget refused the call
                    if not state.last_seen:
                        stats.ended(name)
                    if isinstance(exc, Exception):
                        await board.arelease(name)  # a probe it was granted goes on
                    raise
                if state.last_seen:
                    _complete_then_failed(deployment, exc)
                    await board.arecord_success(name)
                    return
                if state.delivered:
                    await areport(board, name, health(exc))
                    if loop.interrupted(
                        deployment, exc, state.elapsed(), state.delivered, tools=state.tools
                    ):
                        break
                    raise _interrupted_error(
                        loop, deployment, exc, state.delivered, state.tools
                    ) from exc
                expired = cut is not None and cut.expired()
                wait, verdict = loop.failed(deployment, exc, state.elapsed(), retries, cut=expired)
                await areport(board, name, verdict)
                if wait is None or not await board.aavailable(name):  # no retry once it opened
                    break
                await asyncio.sleep(wait)
                retries += 1
                continue
            await board.arecord_success(name)
            if state.delivered:
                for out in _closing(loop, deployment, state):
                    yield out
                return
            answer = _held_answer(loop, deployment, state)
            if answer is not None:
                for out in answer:
                    yield out
                return
            break
        deployment = loop.next()
    if loop.overflowed and router.large_input_handler is not None:
        handled = await router._alarge_input(messages, loop.plan.request, config)
        yield ChatGenerationChunk(message=_as_chunk(loop.finish(None, handled, large_input=True)))
        return
    for out in _exhausted(loop):
        yield out
