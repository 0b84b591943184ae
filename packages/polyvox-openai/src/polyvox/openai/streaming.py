"""Reading an OpenAI-compatible SSE stream into LangChain chunks, the same for sync and async.

The transport (the SDK's HTTP response) hands lines in; :class:`ChatStreamReader` turns
each completed event into zero or more ``ChatGenerationChunk`` s and, at the end, checks
that the stream really finished: a stream that stops before a ``finish_reason`` (a broken
connection, a server crash) raises instead of passing a truncated answer off as complete.
"""

from __future__ import annotations

import json
from typing import Any

import openai
from langchain_core.messages import AIMessageChunk
from langchain_core.outputs import ChatGenerationChunk

from polyvox.core.errors import ProviderResponseError
from polyvox.core.metadata import is_blocked, response_metadata
from polyvox.core.openai_format import (
    chunk_from_openai_delta,
    provider_cost_from_openai,
    usage_from_openai,
)
from polyvox.core.sse import SSEDecoder
from polyvox.openai._sdk import STREAM_BROKE

__all__ = ["ChatStreamReader"]


class ChatStreamReader:
    """Decodes one chat-completions stream."""

    def __init__(
        self, *, provider: str, model: str, request: Any, extras: tuple[str, ...] = ()
    ) -> None:
        self._decoder = SSEDecoder()
        self._provider = provider
        self._model = model
        self.request = request
        """The HTTP request, for errors raised about this stream."""
        self._id: str | None = None
        self._finish_reason: str | None = None
        self._refusal = False
        self._extra: dict[str, Any] = {}
        self._usage: dict[str, Any] | None = None
        self._extras = extras
        self.done = False
        """Whether ``[DONE]`` was received."""
        self.chunks = 0
        """Events received so far."""

    def feed(self, line: str) -> list[ChatGenerationChunk]:
        """Take one line of the body.

        Args:
            line: The line, without its ending.

        Returns:
            The chunks it completed (often none).
        """
        event = self._decoder.feed(line)
        return self._on_event(event.data, event.event) if event is not None else []

    def finish(self) -> list[ChatGenerationChunk]:
        """Close the stream: flush the last event and check that the answer is complete.

        Returns:
            The remaining chunks, the last one carrying the response metadata.

        Raises:
            openai.APIConnectionError: (as polyvox's mapped class, by the caller) when the
                stream ended before the server said it had finished.
        """
        out: list[ChatGenerationChunk] = []
        event = self._decoder.flush()
        if event is not None:
            out += self._on_event(event.data, event.event)
        if not self.done and self._finish_reason is None and self.chunks == 0:
            msg = (
                f"{self._provider} answered 200 with an empty stream (no event at all); is "
                "base_url an OpenAI-compatible server, and is a proxy in between cutting answers?"
            )
            raise ProviderResponseError(msg, provider=self._provider, body="")
        if not self.done and self._finish_reason is None:
            error = openai.APIConnectionError(
                message=f"the stream ended cleanly after {self.chunks} events but unfinished "
                "(no finish_reason, no [DONE]): the answer is incomplete",
                request=self.request,
            )
            setattr(error, STREAM_BROKE, True)
            raise error
        meta = response_metadata(
            model_name=self._model,
            model_provider=self._provider,
            finish_reason=self._finish_reason,
            blocked=is_blocked(self._finish_reason, refusal="x" if self._refusal else None),
            id=self._id,
            token_usage=self._usage,
            provider_cost=provider_cost_from_openai(self._usage),
            **self._extra,
        )
        last = AIMessageChunk(content="", response_metadata=meta, id=self._id)
        last.chunk_position = "last"
        out.append(ChatGenerationChunk(message=last))
        return out

    def _on_event(self, data: str, event: str | None) -> list[ChatGenerationChunk]:
        if data == "[DONE]":
            self.done = True
            return []
        self.chunks += 1
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as exc:
            msg = f"{self._provider} sent a stream event that is not JSON: {data[:200]!r}"
            raise ProviderResponseError(msg, provider=self._provider, body=data[:2000]) from exc
        if not isinstance(payload, dict):
            msg = f"{self._provider} sent a stream event that is not an object: {data[:200]!r}"
            raise ProviderResponseError(msg, provider=self._provider, body=data[:2000])
        if payload.get("error") or event == "error":
            error = payload.get("error") or payload
            message = error.get("message") if isinstance(error, dict) else str(error)
            raise openai.APIError(
                f"{self._provider} reported an error mid-stream: {message}",
                self.request,
                body=error,
            )
        return self._on_chunk(payload)

    def _on_chunk(self, payload: dict[str, Any]) -> list[ChatGenerationChunk]:
        self._id = self._id or payload.get("id")
        if payload.get("model"):
            self._model = payload["model"]
        for key, name in (
            ("system_fingerprint", "system_fingerprint"),
            ("service_tier", "service_tier"),
            ("provider", "upstream_provider"),
            *((key, key) for key in self._extras),
        ):
            if payload.get(key):
                self._extra[name] = payload[key]
        out: list[ChatGenerationChunk] = []
        for choice in payload.get("choices") or ():
            if not isinstance(choice, dict) or (choice.get("index") or 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("refusal"):
                self._refusal = True
            message = chunk_from_openai_delta(delta, chunk_id=self._id)
            if choice.get("finish_reason"):
                self._finish_reason = choice["finish_reason"]
            if message.content or message.tool_call_chunks or message.additional_kwargs:
                info = {"logprobs": choice["logprobs"]} if choice.get("logprobs") else None
                out.append(ChatGenerationChunk(message=message, generation_info=info))
        raw_usage = payload.get("usage")
        usage = usage_from_openai(raw_usage)
        if usage is not None:
            self._usage = raw_usage
            out.append(
                ChatGenerationChunk(
                    message=AIMessageChunk(content="", usage_metadata=usage, id=self._id)
                )
            )
        return out
