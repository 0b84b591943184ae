"""Reading a Messages API stream (SSE with named events) into LangChain chunks.

The transport (the SDK's HTTP response) hands lines in, the same for sync and async;
:class:`MessageStreamReader` turns each event into zero or more ``ChatGenerationChunk`` s:

* ``content_block_start`` / ``content_block_delta`` (``text_delta``, ``input_json_delta``,
  ``thinking_delta``, ``signature_delta``, ``citations_delta``) become content and tool-call
  chunks that LangChain merges by block index, so the aggregated message has the same
  blocks (thinking with its signature, tool use with its arguments) as a non-streamed one;
* ``message_start`` and ``message_delta`` carry usage: Anthropic's counts are running
  totals (``message_delta`` repeats the input tokens in recent API versions), so they are
  merged and reported once, in the last chunk;
* ``ping`` is skipped, an ``error`` event raises as the SDK raises it
  (``anthropic.APIStatusError``, mapped by the caller), and a stream that ends before
  ``message_stop`` (or a ``message_delta`` with its stop reason) raises instead of passing
  a truncated answer off as complete.

Text arrives as plain string content when the request had no tools and no thinking (as
langchain-anthropic streams it), else as text blocks with their index.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import anthropic
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from polyvox.anthropic._sdk import STREAM_BROKE
from polyvox.anthropic.responses import anthropic_metadata, usage_from_anthropic
from polyvox.core.errors import ProviderResponseError
from polyvox.core.sse import SSEDecoder

__all__ = ["MessageStreamReader"]


class MessageStreamReader:
    """Decodes one Messages API stream."""

    def __init__(self, *, model: str, response: Any, text_as_string: bool) -> None:
        """Prepare to read one stream.

        Args:
            model: The model asked for (until ``message_start`` names the one answering).
            response: The HTTP response, for the errors raised about this stream.
            text_as_string: Send text as string content (no tools, no thinking asked for).
        """
        self._decoder = SSEDecoder()
        self._model = model
        self._response = response
        self._text_as_string = text_as_string
        self._message: dict[str, Any] = {}
        self._usage: dict[str, Any] = {}
        self._kinds: dict[int, str] = {}
        self.done = False
        """Whether ``message_stop`` arrived."""
        self.events = 0
        """Events received so far (pings included)."""

    @property
    def request(self) -> Any:
        """The HTTP request, for errors raised about this stream."""
        return self._response.request

    def feed(self, line: str) -> list[ChatGenerationChunk]:
        """Take one line of the body.

        Args:
            line: The line, without its ending.

        Returns:
            The chunks it completed (often none).
        """
        event = self._decoder.feed(line)
        return self._on_event(event.event, event.data) if event is not None else []

    def finish(self) -> list[ChatGenerationChunk]:
        """Close the stream: flush the last event and check that the answer is complete.

        Returns:
            The last chunk, with the usage and the response metadata.

        Raises:
            ProviderResponseError: For a 200 without a single event.
            anthropic.APIConnectionError: (mapped by the caller) For a stream that ended
                before Anthropic said the message was complete.
        """
        event = self._decoder.flush()
        out = self._on_event(event.event, event.data) if event is not None else []
        if self.events == 0:
            msg = (
                "anthropic answered 200 with an empty stream (no event at all); is base_url "
                "Anthropic's API, and is a proxy in between cutting answers?"
            )
            raise ProviderResponseError(msg, provider="anthropic", body="")
        if not self.done and self._message.get("stop_reason") is None:
            error = anthropic.APIConnectionError(
                message=f"the stream ended cleanly after {self.events} events but unfinished "
                "(no message_stop): the answer is incomplete",
                request=self.request,
            )
            setattr(error, STREAM_BROKE, True)
            raise error
        usage = self._usage or None
        last = AIMessageChunk(
            content="",
            usage_metadata=usage_from_anthropic(usage),
            response_metadata=anthropic_metadata(self._message, model=self._model, usage=usage),
            id=self._message.get("id"),
        )
        last.chunk_position = "last"
        out.append(ChatGenerationChunk(message=last))
        return out

    # ---- events --------------------------------------------------------------------------

    def _on_event(self, name: str | None, data: str) -> list[ChatGenerationChunk]:
        self.events += 1
        if name is None or name == "ping":
            return []  # the SDK too drops events without a name
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as exc:
            msg = f"anthropic sent a {name} event that is not JSON: {data[:200]!r}"
            raise ProviderResponseError(msg, provider="anthropic", body=data[:2000]) from exc
        if not isinstance(payload, dict):
            msg = f"anthropic sent a {name} event that is not an object: {data[:200]!r}"
            raise ProviderResponseError(msg, provider="anthropic", body=data[:2000])
        if name == "error":
            raise anthropic.APIStatusError(
                f"anthropic reported an error mid-stream: {data[:500]}",
                response=self._response,
                body=payload,
            )
        handler = _HANDLERS.get(name)
        return handler(self, payload) if handler is not None else []

    def _message_start(self, payload: dict[str, Any]) -> list[ChatGenerationChunk]:
        message = payload.get("message")
        if isinstance(message, Mapping):
            self._message.update({k: v for k, v in message.items() if v is not None})
            self._merge_usage(message.get("usage"))
        return []

    def _message_delta(self, payload: dict[str, Any]) -> list[ChatGenerationChunk]:
        delta = payload.get("delta")
        if isinstance(delta, Mapping):
            self._message.update({k: v for k, v in delta.items() if v is not None})
        self._merge_usage(payload.get("usage"))
        return []

    def _message_stop(self, payload: dict[str, Any]) -> list[ChatGenerationChunk]:
        self.done = True
        return []

    def _merge_usage(self, usage: Any) -> None:
        """Anthropic's counts are running totals: the latest of each wins, none is summed."""
        if isinstance(usage, Mapping):
            self._usage.update({k: v for k, v in usage.items() if v is not None})

    def _block_start(self, payload: dict[str, Any]) -> list[ChatGenerationChunk]:
        index = payload.get("index")
        block = payload.get("content_block")
        if not isinstance(index, int) or not isinstance(block, Mapping):
            return []
        kind = str(block.get("type"))
        self._kinds[index] = kind
        if kind == "text":
            text = block.get("text") or ""
            return [self._text(index, text)] if text else []
        if kind == "thinking":
            return []  # its text and signature arrive as deltas
        if kind == "tool_use":
            call_id, name = block.get("id"), block.get("name")
            content: list[Any] = [
                {"type": "tool_use", "id": call_id, "name": name, "input": {}, "index": index}
            ]
            call = {"type": "tool_call_chunk", "id": call_id, "name": name, "args": "",
                    "index": index}  # fmt: skip
            return [_chunk(content=content, tool_call_chunks=[call])]
        # server tool use, its results, redacted thinking: the block as it is
        whole = {k: v for k, v in block.items() if v is not None}
        if kind == "server_tool_use":
            whole["input"] = {}
        return [_chunk(content=[{**whole, "index": index}])]

    def _block_delta(self, payload: dict[str, Any]) -> list[ChatGenerationChunk]:
        index = payload.get("index")
        delta = payload.get("delta")
        if not isinstance(index, int) or not isinstance(delta, Mapping):
            return []
        kind = delta.get("type")
        if kind == "text_delta":
            text = delta.get("text") or ""
            return [self._text(index, text)] if text else []
        if kind == "input_json_delta":
            part = delta.get("partial_json") or ""
            if not part:
                return []
            # the block type langchain-core's Anthropic translator reads (merged into the
            # block started before, whose type stays)
            block = {"type": "input_json_delta", "partial_json": part, "index": index}
            tool_chunks: list[Any] = []
            if self._kinds.get(index) == "tool_use":
                tool_chunks = [{"type": "tool_call_chunk", "id": None, "name": None,
                                "args": part, "index": index}]  # fmt: skip
            return [_chunk(content=[block], tool_call_chunks=tool_chunks)]
        if kind == "thinking_delta":
            text = delta.get("thinking") or ""
            if not text:
                return []
            return [
                _chunk(
                    content=[{"type": "thinking", "thinking": text, "index": index}],
                    additional_kwargs={"reasoning_content": text},
                )
            ]
        if kind == "signature_delta":
            block = {"type": "thinking", "signature": delta.get("signature") or "",
                     "index": index}  # fmt: skip
            return [_chunk(content=[block])]
        if kind == "citations_delta" and isinstance(delta.get("citation"), Mapping):
            block = {"type": "text", "citations": [dict(delta["citation"])], "index": index}
            return [_chunk(content=[block])]
        return []

    def _text(self, index: int, text: str) -> ChatGenerationChunk:
        if self._text_as_string:
            return _chunk(content=text)
        block = {"type": "text", "text": text, "index": index}
        return _chunk(content=[block])


def _chunk(**fields: Any) -> ChatGenerationChunk:
    """A chunk that says its provider (langchain-core reads its content blocks by it)."""
    message = AIMessageChunk(response_metadata={"model_provider": "anthropic"}, **fields)
    return ChatGenerationChunk(message=message)


_HANDLERS = {
    "message_start": MessageStreamReader._message_start,
    "message_delta": MessageStreamReader._message_delta,
    "message_stop": MessageStreamReader._message_stop,
    "content_block_start": MessageStreamReader._block_start,
    "content_block_delta": MessageStreamReader._block_delta,
}
"""What each named event does (``content_block_stop`` and unknown events: nothing)."""
