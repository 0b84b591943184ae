"""Ollama ``/api/chat`` responses (SDK objects) → LangChain messages and chunks."""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolCallChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGenerationChunk

from polyvox.core.metadata import response_metadata
from polyvox.core.usage import make_usage
from polyvox.ollama.messages import tool_calls_from_ollama

__all__ = ["ChatStreamReader", "message_from_response"]


def _usage(response: Any) -> UsageMetadata | None:
    if response.prompt_eval_count is None and response.eval_count is None:
        return None
    return make_usage(response.prompt_eval_count, response.eval_count)


def _metadata(response: Any, model: str) -> dict[str, Any]:
    """Every field of Ollama's final part but the message, as langchain-ollama keeps them.

    ``model``, ``done``, ``done_reason``, the counts and timings (``None`` where Ollama left
    one out, so code reading a key never gets a ``KeyError``), then polyvox's common keys.
    """
    fields = {key: value for key, value in dict(response).items() if key != "message"}
    common = response_metadata(
        model_name=response.model or model,
        model_provider="ollama",
        finish_reason=response.done_reason,
    )
    return {**fields, **common}


def message_from_response(response: Any, *, model: str, turn: int) -> AIMessage:
    """An ``AIMessage`` from a non-streamed ``ChatResponse``.

    Args:
        response: The SDK's ``ChatResponse``.
        model: The requested model (when the server does not say).
        turn: How many messages preceded the answer (for stable tool-call ids).

    Returns:
        The message, with usage from ``prompt_eval_count``/``eval_count`` and the timings.
    """
    message = response.message
    extra = {"reasoning_content": message.thinking} if message.thinking else {}
    return AIMessage(
        content=message.content or "",
        additional_kwargs=extra,
        tool_calls=tool_calls_from_ollama(message.tool_calls, turn=turn),
        usage_metadata=_usage(response),
        response_metadata=_metadata(response, model),
    )


class ChatStreamReader:
    """Turns the SDK's stream of ``ChatResponse`` parts into LangChain chunks.

    Tool calls arrive whole (one part each) and get the same stable ids as in a non-streamed
    answer; the final part (``done: true``) carries usage and metadata. :meth:`finish`
    raises when the stream ended without that final part.
    """

    def __init__(self, *, model: str, turn: int) -> None:
        self._model = model
        self._turn = turn
        self._calls = 0
        self.done = False
        """Whether the final part arrived."""
        self.parts = 0
        """Parts received so far."""

    def feed(self, part: Any) -> list[ChatGenerationChunk]:
        """Take one streamed part.

        Args:
            part: The SDK's ``ChatResponse``.

        Returns:
            The chunks it gives (the last one carries usage and metadata).
        """
        self.parts += 1
        message = part.message
        out: list[ChatGenerationChunk] = []
        chunks: list[ToolCallChunk] = []
        for call in tool_calls_from_ollama(message.tool_calls, turn=self._turn, start=self._calls):
            chunks.append(
                ToolCallChunk(
                    name=call["name"],
                    args=json.dumps(call["args"]),
                    id=call["id"],
                    index=self._calls,
                )
            )
            self._calls += 1
        extra = {"reasoning_content": message.thinking} if message.thinking else {}
        if message.content or chunks or extra:
            out.append(
                ChatGenerationChunk(
                    message=AIMessageChunk(
                        content=message.content or "",
                        additional_kwargs=extra,
                        tool_call_chunks=chunks,
                    )
                )
            )
        if part.done:
            self.done = True
            last = AIMessageChunk(
                content="",
                usage_metadata=_usage(part),
                response_metadata=_metadata(part, self._model),
                chunk_position="last",
            )
            out.append(ChatGenerationChunk(message=last))
        return out

    def finish(self) -> None:
        """Check the stream really ended.

        Raises:
            IncompleteStreamError: When the final ``done`` part never came (the caller maps
                it to a connection error saying the answer is incomplete).
        """
        if not self.done:
            from polyvox.ollama.errors import IncompleteStreamError

            msg = f"it ended after {self.parts} parts without its final part"
            raise IncompleteStreamError(msg, parts=self.parts)
