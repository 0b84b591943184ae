"""The SDK's completion results as LangChain messages, whole or streamed.

Read from the first alternative: its text becomes the content, its ``toolCallList``
tool calls with stable ids (the API sends none), its status the finish reason
(``ALTERNATIVE_STATUS_FINAL`` → ``stop``, ``TRUNCATED_FINAL`` → ``length``, ``TOOL_CALLS`` →
``tool_calls``, ``CONTENT_FILTER`` → ``content_filter`` with ``blocked=True``). The usage
(int64 counts, strings on the wire) becomes ``usage_metadata`` with the reasoning tokens.

A stream sends the *whole text so far* in every message, with the usage so far: the
:class:`StreamReader` emits only what is new, counts the usage once (the last message's),
and refuses a stream that ends before a final status.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolCall, ToolCallChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from polyvox.core.errors import ProviderResponseError
from polyvox.core.metadata import response_metadata
from polyvox.core.tool_ids import stable_tool_call_id
from polyvox.core.usage import make_usage

__all__ = ["FINISH_REASONS", "StreamReader", "chat_result", "usage_of"]

FINISH_REASONS = {
    "FINAL": "stop",
    "TRUNCATED_FINAL": "length",
    "TOOL_CALLS": "tool_calls",
    "CONTENT_FILTER": "content_filter",
}
"""The alternative statuses (without ``ALTERNATIVE_STATUS_``) that end an answer."""


def _status(alternative: Any) -> str | None:
    status = getattr(alternative, "status", None)
    name = getattr(status, "name", None)
    if name is None and status is not None:
        name = str(status)
    return None if name is None else str(name).removeprefix("ALTERNATIVE_STATUS_")


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def usage_of(result: Any) -> UsageMetadata | None:
    """LangChain usage from a result's ``usage`` (``None`` when it has none).

    Args:
        result: The SDK's ``GPTModelResult`` (or anything with the same attributes).

    Returns:
        The usage, with ``output_token_details["reasoning"]`` when reasoning was counted.
    """
    usage = getattr(result, "usage", None)
    if usage is None:
        return None
    reasoning = _int(getattr(usage, "reasoning_tokens", None))
    return make_usage(
        _int(getattr(usage, "input_text_tokens", None)) or 0,
        _int(getattr(usage, "completion_tokens", None)) or 0,
        _int(getattr(usage, "total_tokens", None)),
        reasoning=reasoning or None,
    )


def _alternative(result: Any) -> Any:
    alternatives = getattr(result, "alternatives", None) or ()
    return alternatives[0] if alternatives else None


def _tool_calls(alternative: Any, turn: int) -> list[ToolCall]:
    calls: list[ToolCall] = []
    for index, call in enumerate(getattr(alternative, "tool_calls", None) or ()):
        function = getattr(call, "function", None)
        if function is None:
            continue
        name = str(getattr(function, "name", "") or "")
        args = getattr(function, "arguments", None)
        args = {k: _whole(v) for k, v in args.items()} if isinstance(args, dict) else {}
        call_id = getattr(call, "id", None) or stable_tool_call_id(turn, index, name, args)
        calls.append(ToolCall(name=name, args=args, id=call_id, type="tool_call"))
    return calls


def _whole(value: Any) -> Any:
    """A protobuf ``Struct`` value with its whole numbers as ``int``.

    A ``Struct`` keeps every number as a double, so an integer argument arrives as ``6.0``;
    a tool declared with an ``int`` parameter expects ``6``.
    """
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    if isinstance(value, dict):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def _metadata(result: Any, model: str, provider: str, status: str | None) -> dict[str, Any]:
    finish = FINISH_REASONS.get(status) if status else None
    return response_metadata(
        model_name=model,
        model_provider=provider,
        finish_reason=finish,
        blocked=status == "CONTENT_FILTER",
        model_version=getattr(result, "model_version", None) or None,
        alternative_status=f"ALTERNATIVE_STATUS_{status}" if status else None,
    )


def chat_result(result: Any, *, model: str, provider: str, turn: int) -> ChatResult:
    """A whole answer as a ``ChatResult``.

    Args:
        result: The SDK's ``GPTModelResult``.
        model: The model's short name, for ``response_metadata["model_name"]``.
        provider: The provider id.
        turn: How many messages preceded the answer (for stable tool call ids).

    Returns:
        The result; an answer with no alternatives is empty, with no finish reason.
    """
    alternative = _alternative(result)
    status = _status(alternative) if alternative is not None else None
    text = str(getattr(alternative, "text", "") or "") if alternative is not None else ""
    message = AIMessage(
        content=text,
        tool_calls=_tool_calls(alternative, turn) if alternative is not None else [],
        usage_metadata=usage_of(result),
        response_metadata=_metadata(result, model, provider, status),
    )
    return ChatResult(generations=[ChatGeneration(message=message)])


class StreamReader:
    """Turns a stream of cumulative results into chunks that carry only what is new."""

    def __init__(
        self, *, model: str, provider: str, turn: int, stop: list[str] | None = None
    ) -> None:
        """Start reading one stream.

        Args:
            model: The model's short name.
            provider: The provider id.
            turn: How many messages preceded the answer.
            stop: Stop sequences (the API has none): the text ends before the first one.
        """
        self._stop = [s for s in stop or () if s]
        self._stopped = False
        self._model = model
        self._provider = provider
        self._turn = turn
        self._sent = ""
        self._last: Any = None
        self._status: str | None = None
        self.events = 0
        """Messages received so far."""

    def feed(self, result: Any) -> list[ChatGenerationChunk]:
        """Read one streamed result.

        Args:
            result: The SDK's ``GPTModelResult`` for this message.

        Returns:
            A chunk with the new text, or nothing when nothing is new.
        """
        self.events += 1
        self._last = result
        alternative = _alternative(result)
        if alternative is None:
            return []
        self._status = _status(alternative)
        text = str(getattr(alternative, "text", "") or "")
        if self._stopped:
            return []
        cut = min((i for s in self._stop if (i := text.find(s)) >= 0), default=-1)
        if cut >= 0:
            text, self._stopped = text[:cut], True
        # The whole text so far: what extends what was sent is new. A stream the SDK
        # restarted (a retry) repeats its start, which was sent already.
        if not text.startswith(self._sent) or len(text) == len(self._sent):
            return []
        delta, self._sent = text[len(self._sent) :], text
        return [ChatGenerationChunk(message=AIMessageChunk(content=delta))]

    def finish(self) -> ChatGenerationChunk:
        """The last chunk: tool calls, usage and metadata.

        Returns:
            The chunk.

        Raises:
            ProviderResponseError: The stream ended before the API gave a final status.
        """
        if self._status not in FINISH_REASONS:
            msg = (
                f"{self._provider}: the stream ended after {self.events} messages without a "
                f"final status (last: {self._status or 'none'}); the answer is incomplete"
            )
            raise ProviderResponseError(msg, provider=self._provider)
        alternative = _alternative(self._last)
        calls = _tool_calls(alternative, self._turn)
        chunks = [
            ToolCallChunk(name=c["name"], args=_dumps(c["args"]), id=c["id"], index=i)
            for i, c in enumerate(calls)
        ]
        message = AIMessageChunk(
            content="",
            tool_call_chunks=chunks,
            usage_metadata=usage_of(self._last),
            response_metadata=_metadata(self._last, self._model, self._provider, self._status),
            chunk_position="last",
        )
        return ChatGenerationChunk(message=message)


def _dumps(args: Any) -> str:
    import json

    return json.dumps(args, ensure_ascii=False)
