"""LlamaIndex responses built from LangChain answers.

`ChatResponse.raw` holds the answer's `id`, `response_metadata`, `usage_metadata` and
`tool_calls` (LlamaIndex's `TokenCountingHandler` reads `raw["usage_metadata"]`);
`additional_kwargs` holds `prompt_tokens`/`completion_tokens`/`total_tokens`.
"""

from __future__ import annotations

import json
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call_chunk
from llama_index.core.base.llms.types import ChatResponse, CompletionResponse

from polyvox.core.llamaindex.messages import to_llamaindex_message

__all__ = ["as_chunk", "chat_response", "completion_response"]


def as_chunk(message: AIMessage) -> AIMessageChunk:
    """Return a streamed message as an `AIMessageChunk` so that chunks can be summed.

    Args:
        message: A piece of a chat model's stream (normally already a chunk).

    Returns:
        The message as an `AIMessageChunk`, its tool calls as tool-call chunks.
    """
    if isinstance(message, AIMessageChunk):
        return message
    return AIMessageChunk(
        content=message.content,
        id=message.id,
        additional_kwargs=message.additional_kwargs,
        response_metadata=message.response_metadata,
        usage_metadata=message.usage_metadata,
        tool_call_chunks=[
            tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
            for i, c in enumerate(message.tool_calls)
        ],
    )


def _raw(message: BaseMessage) -> dict[str, Any]:
    """The LangChain answer's metadata, as `ChatResponse.raw`.

    `usage_metadata` is where LlamaIndex's `TokenCountingHandler` finds token counts.
    """
    ai = message if isinstance(message, AIMessage) else None
    return {
        "id": message.id,
        "response_metadata": dict(message.response_metadata),
        "usage_metadata": dict(ai.usage_metadata) if ai and ai.usage_metadata else None,
        "tool_calls": [dict(call) for call in ai.tool_calls] if ai else [],
    }


def _usage_kwargs(message: BaseMessage) -> dict[str, Any]:
    """Token counts in the conventional LlamaIndex `additional_kwargs` keys."""
    usage = message.usage_metadata if isinstance(message, AIMessage) else None
    if not usage:
        return {}
    return {
        "prompt_tokens": usage["input_tokens"],
        "completion_tokens": usage["output_tokens"],
        "total_tokens": usage["total_tokens"],
        "usage_metadata": dict(usage),
    }


def chat_response(message: BaseMessage, delta: str | None = None) -> ChatResponse:
    """Build a LlamaIndex `ChatResponse` from a (possibly aggregated) LangChain answer.

    Args:
        message: The answer, or the sum of the chunks streamed so far.
        delta: The text the latest chunk added, when streaming.

    Returns:
        The response; usage in `raw["usage_metadata"]` and `additional_kwargs`.
    """
    return ChatResponse(
        message=to_llamaindex_message(message),
        raw=_raw(message),
        delta=delta,
        additional_kwargs=_usage_kwargs(message),
    )


def completion_response(response: ChatResponse) -> CompletionResponse:
    """Turn a chat response into the matching completion response.

    Args:
        response: The chat response.

    Returns:
        A completion response with the same text, delta, raw data and token counts.
    """
    return CompletionResponse(
        text=response.message.content or "",
        raw=response.raw,
        delta=response.delta,
        additional_kwargs=response.additional_kwargs,
    )
