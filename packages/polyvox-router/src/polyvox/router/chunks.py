"""One deployment's stream as the router passes it on: :class:`StreamState`.

Leading chunks that carry nothing (a role-only opening chunk, usage) are held back, so a
stream that fails before its first real chunk can still fall back as if nothing had been
sent; from the first real chunk on, every chunk goes to the caller as it comes. The state
counts what was delivered, whether part of a tool call was, and what usage was reported,
and reports the stream's end to the attempt loop as its outcome
(:mod:`polyvox.router.actions`).
"""

from __future__ import annotations

import json
import time
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import UsageMetadata, add_usage

from polyvox.router.actions import Answered, Failed, Outcome, Streamed

__all__ = ["StreamState", "as_chunk"]


class StreamState:
    """The running state of one deployment's stream."""

    __slots__ = (
        "answer",
        "delivered",
        "held",
        "last_seen",
        "restarted",
        "start",
        "tools",
        "ttft",
        "usage",
    )

    def __init__(self, restarted: bool = False) -> None:
        """Start a stream.

        Args:
            restarted: Whether it restarts one that broke (its chunks are marked
                ``router_restart``).
        """
        self.restarted = restarted
        self.tools = False
        self.start = time.perf_counter()
        self.held: list[AIMessageChunk] = []
        self.delivered = 0
        self.ttft: float | None = None
        self.usage: UsageMetadata | None = None
        self.last_seen = False
        self.answer: AIMessage | None = None  # the held chunks merged, once it ended

    def take(self, piece: Any) -> list[AIMessageChunk]:
        """Take one chunk from the deployment.

        Args:
            piece: What the deployment's stream yielded.

        Returns:
            The chunks to pass on now (none while only empty chunks have come).
        """
        chunk = as_chunk(piece)
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
        """Seconds since the stream started."""
        return time.perf_counter() - self.start

    def ended(self) -> Outcome:
        """The outcome of a stream that ended normally.

        Returns:
            :class:`~polyvox.router.actions.Streamed` when chunks reached the caller, else
            :class:`~polyvox.router.actions.Answered` with the held chunks merged (kept as
            :attr:`answer`, so that the driver knows them when the loop returns it).
        """
        if self.delivered:
            return Streamed(self.elapsed())
        self.answer = self.merged()
        return Answered(self.answer, self.elapsed(), self.ttft)

    def failed(self, exc: BaseException, *, cut: bool = False) -> Failed:
        """The outcome of a stream that raised (or was stopped).

        Args:
            exc: What was raised.
            cut: The router's own timeout cut it.

        Returns:
            The failure, with what had been delivered.
        """
        return Failed(
            exc,
            self.elapsed(),
            cut=cut,
            delivered=self.delivered,
            tools=self.tools,
            complete=self.last_seen,
        )

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
            response_metadata=dict(total.response_metadata),  # the router's key goes here
            tool_calls=total.tool_calls,
            usage_metadata=self.usage,
            id=total.id,
        )


def as_chunk(piece: Any) -> AIMessageChunk:
    """A deployment's stream item, or a whole answer, as a message chunk.

    Args:
        piece: A chunk, or an ``AIMessage`` (a model without streaming answers in one).

    Returns:
        The chunk (a whole message becomes the last chunk, its tool calls as chunks).

    Raises:
        TypeError: For anything else.
    """
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
                    "args": json.dumps(c["args"]),
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


def _has_tool_call(chunk: AIMessageChunk) -> bool:
    kwargs = chunk.additional_kwargs
    return bool(chunk.tool_call_chunks) or "tool_calls" in kwargs or "function_call" in kwargs


def _empty(chunk: AIMessageChunk) -> bool:
    return not chunk.content and not chunk.tool_call_chunks and not chunk.additional_kwargs
