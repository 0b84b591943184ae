"""Streaming through the router: fallback before the first chunk, never a silent truncation.

Leading chunks that carry nothing (a role-only opening chunk, usage) are held back
(:class:`~polyvox.router.chunks.StreamState`), so a stream that fails before its first
real chunk falls back exactly like ``invoke`` (retries, typed fallbacks, breakers). Once a
chunk has reached the caller, a failure raises
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

The drivers here run :meth:`AttemptLoop.run <polyvox.router.attempt_loop.AttemptLoop.run>`
as :mod:`polyvox.router.invoking` does; a call streams the deployment's chunks to the
caller as they come and reports how the stream ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from polyvox.router.actions import Call
from polyvox.router.chunks import StreamState, as_chunk
from polyvox.router.effects import aperform, perform

if TYPE_CHECKING:
    from langchain_core.messages import BaseMessage
    from langchain_core.runnables import RunnableConfig

    from polyvox.router.actions import Reply
    from polyvox.router.attempt_loop import AttemptLoop
    from polyvox.router.constraints import CallSpec
    from polyvox.router.deployment import Deployment
    from polyvox.router.routing import Routing

__all__ = ["astream", "stream"]

_END = object()


def stream(
    routing: Routing,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> Iterator[ChatGenerationChunk]:
    """Run the attempt loop for one stream (sync).

    Args:
        routing: The router's settings and shared state.
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
    flow = loop.run()
    reply: Reply = None
    state: StreamState | None = None
    deployment: Deployment | None = None
    while True:
        try:
            action = flow.send(reply)
        except StopIteration as done:
            answer: AIMessage | None = done.value
            break
        if type(action) is not Call:
            reply = perform(action, routing, messages, config)
            continue
        deployment = action.deployment
        state = StreamState(restarted=action.restarted)
        try:
            target = routing.target(deployment, spec)
            for piece in target.stream(messages, config, stop=spec.stop, **spec.kwargs):
                yield from _emit(loop, deployment, state, state.take(piece))
        except BaseException as exc:  # the loop decides, and re-raises what is not a failure
            reply = state.failed(exc)
        else:
            reply = state.ended()
    yield from _finish(loop, deployment, state, answer)


async def astream(
    routing: Routing,
    loop: AttemptLoop,
    messages: list[BaseMessage],
    spec: CallSpec,
    config: RunnableConfig | None,
) -> AsyncIterator[ChatGenerationChunk]:
    """Run the attempt loop for one stream (native async).

    Args:
        routing: The router's settings and shared state.
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
    flow = loop.run()
    reply: Reply = None
    state: StreamState | None = None
    deployment: Deployment | None = None
    while True:
        try:
            action = flow.send(reply)
        except StopIteration as done:
            answer: AIMessage | None = done.value
            break
        if type(action) is not Call:
            reply = await aperform(action, routing, messages, config)
            continue
        deployment = action.deployment
        state = StreamState(restarted=action.restarted)
        cut: asyncio.Timeout | None = None
        try:
            target = routing.target(deployment, spec)
            pieces = aiter(target.astream(messages, config, stop=spec.stop, **spec.kwargs))
            while True:
                if state.delivered == 0 and action.deadline is not None:
                    # the router's timeout bounds the wait for the first chunk
                    cut = asyncio.timeout(action.remaining())
                    async with cut:
                        piece = await anext(pieces, _END)
                else:
                    piece = await anext(pieces, _END)
                if piece is _END:
                    break
                for out in _emit(loop, deployment, state, state.take(piece)):
                    yield out
        except BaseException as exc:  # the loop decides, and re-raises what is not a failure
            reply = state.failed(exc, cut=cut is not None and cut.expired())
        else:
            reply = state.ended()
    for out in _finish(loop, deployment, state, answer):
        yield out


def _emit(
    loop: AttemptLoop, deployment: Deployment, state: StreamState, chunks: list[AIMessageChunk]
) -> Iterator[ChatGenerationChunk]:
    for chunk in chunks:
        if chunk.chunk_position == "last" and not state.last_seen:
            state.last_seen = True
            _accept(loop, deployment, state, chunk)
        yield ChatGenerationChunk(message=chunk)


def _accept(
    loop: AttemptLoop, deployment: Deployment, state: StreamState, last: AIMessageChunk
) -> None:
    """Record a stream that delivered chunks and finished; put the metadata on ``last``."""
    message = AIMessage(
        content="", response_metadata=dict(last.response_metadata), usage_metadata=state.usage
    )
    loop.succeeded(deployment, message, state.elapsed(), state.ttft)
    last.response_metadata["router"] = loop.metadata(deployment.name)


def _finish(
    loop: AttemptLoop,
    deployment: Deployment | None,
    state: StreamState | None,
    answer: AIMessage | None,
) -> Iterator[ChatGenerationChunk]:
    """What follows the attempt loop's end: a closing chunk, the held chunks, or the answer."""
    if answer is None:  # the stream reached the caller and ended
        assert deployment is not None
        assert state is not None
        if not state.last_seen:  # no chunk carried the metadata: a closing one does
            closing = AIMessageChunk(content="", chunk_position="last")
            if state.restarted:
                closing.response_metadata["router_restart"] = True
            state.last_seen = True
            _accept(loop, deployment, state, closing)
            yield ChatGenerationChunk(message=closing)
        return
    if state is not None and state.delivered == 0 and answer is state.answer:
        # the last stream delivered nothing and its held chunks are the answer
        held = state.held or [AIMessageChunk(content="", chunk_position="last")]
        last = held[-1]
        last.chunk_position = "last"
        last.response_metadata["router"] = answer.response_metadata["router"]
        for chunk in held:
            yield ChatGenerationChunk(message=chunk)
        return
    # a large input's answer, or a blocked one when every alternative failed
    yield ChatGenerationChunk(message=as_chunk(answer))
