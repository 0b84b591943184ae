"""Chat completions from the router or an endpoint, as LangChain results and chunks.

The answers are OpenAI-shaped (``polyvox.core.openai_format`` reads them); what is specific
to Hugging Face is kept here: reasoning models served without a reasoning parser
(DeepSeek-R1 and its distillations) put their thinking inline, as ``<think>...</think>``
before the answer, which becomes ``additional_kwargs["reasoning_content"]``; providers and
older TGI versions send tool calls without ids (or with ``"0"``), which get stable ids
(:func:`polyvox.core.tool_ids.stable_tool_call_id`); and a stream that ends without a
``finish_reason`` is refused as incomplete.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from polyvox.core.errors import ProviderResponseError
from polyvox.core.metadata import is_blocked, response_metadata
from polyvox.core.openai_format import (
    chunk_from_openai_delta,
    message_from_openai,
    usage_from_openai,
)
from polyvox.core.tool_ids import stable_tool_call_id

__all__ = ["StreamReader", "ThinkSplitter", "chat_result", "split_think"]

_OPEN = "<think>"
_CLOSE = "</think>"


def split_think(text: str) -> tuple[str | None, str]:
    """Split an answer that starts with ``<think>...</think>`` into reasoning and answer.

    Args:
        text: The content as the server sent it.

    Returns:
        The reasoning (``None`` when the text does not start with a think block) and the
        answer. An unclosed block is all reasoning.
    """
    stripped = text.lstrip()
    if not stripped.startswith(_OPEN):
        return None, text
    inner = stripped[len(_OPEN) :]
    reasoning, closed, answer = inner.partition(_CLOSE)
    if not closed:
        return reasoning.strip(), ""
    return reasoning.strip(), answer.lstrip()


class ThinkSplitter:
    """:func:`split_think` for a stream: content pieces in, (reasoning, answer) pieces out."""

    def __init__(self) -> None:
        self._state = "start"  # start → thinking → after → answer
        self._buffer = ""

    def feed(self, piece: str) -> tuple[str, str]:
        """Take the next content piece.

        Args:
            piece: Content text, as streamed.

        Returns:
            The reasoning text and the answer text it completes (either may be empty).
        """
        if self._state == "answer":
            return "", piece
        if self._state == "after":  # the answer's leading blank lines go, as split_think's
            piece = piece.lstrip()
            if piece:
                self._state = "answer"
            return "", piece
        self._buffer += piece
        if self._state == "start":
            head = self._buffer.lstrip()
            if not head:
                return "", ""
            if _OPEN.startswith(head[: len(_OPEN)]) and len(head) < len(_OPEN):
                return "", ""  # maybe the start of <think>: wait for more
            if not head.startswith(_OPEN):
                self._state, out, self._buffer = "answer", self._buffer, ""
                return "", out
            self._state, self._buffer = "thinking", head[len(_OPEN) :].lstrip("\n")
        reasoning, closed, answer = self._buffer.partition(_CLOSE)
        if closed:
            answer = answer.lstrip()
            self._state, self._buffer = ("answer" if answer else "after"), ""
            return reasoning.rstrip(), answer
        keep = _partial_tag(self._buffer)
        out, self._buffer = (
            self._buffer[: len(self._buffer) - keep],
            self._buffer[len(self._buffer) - keep :],
        )
        return out, ""

    def flush(self) -> tuple[str, str]:
        """End of stream: what is still held back.

        Returns:
            The reasoning and answer text left.
        """
        out, self._buffer = self._buffer, ""
        if self._state == "thinking":
            return out, ""
        return "", out


def _partial_tag(text: str) -> int:
    """How many trailing characters of ``text`` could begin ``</think>``."""
    for size in range(min(len(_CLOSE) - 1, len(text)), 0, -1):
        if _CLOSE.startswith(text[-size:]):
            return size
    return 0


def _with_ids(message: AIMessage, turn: int) -> AIMessage:
    for index, call in enumerate(message.tool_calls):
        if not call.get("id") or call.get("id") == str(index):
            call["id"] = stable_tool_call_id(turn, index, call["name"], call["args"])
    return message


def chat_result(data: Mapping[str, Any], *, provider: str, model: str, turn: int) -> ChatResult:
    """Read a chat completion (a dict, or the SDK's ``ChatCompletionOutput``, which is one).

    Args:
        data: The decoded body.
        provider: The provider id for the metadata.
        model: The model asked for (when the body names none).
        turn: How many messages preceded the answer (for stable tool-call ids).

    Returns:
        The LangChain result.

    Raises:
        ProviderResponseError: When the body has no ``choices[0].message`` object.
    """
    choices = data.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    message = choice.get("message") if isinstance(choice, Mapping) else None
    if not isinstance(message, Mapping):
        text = str(dict(data))
        msg = f"{provider} returned a response that is not a chat completion: {text[:200]!r}"
        raise ProviderResponseError(msg, provider=provider, body=text[:2000])
    assert isinstance(choice, Mapping)
    finish = choice.get("finish_reason")
    raw_usage = data.get("usage")
    raw_usage = dict(raw_usage) if isinstance(raw_usage, Mapping) else None
    meta = response_metadata(
        model_name=data.get("model") or model,
        model_provider=provider,
        finish_reason=finish,
        blocked=is_blocked(finish, refusal=message.get("refusal")),
        id=data.get("id"),
        system_fingerprint=data.get("system_fingerprint"),
        token_usage=raw_usage,
        logprobs=choice.get("logprobs"),
    )
    ai = message_from_openai(
        message,
        response_metadata=meta,
        usage=usage_from_openai(raw_usage),
        message_id=data.get("id"),
    )
    if isinstance(ai.content, str) and "reasoning_content" not in ai.additional_kwargs:
        reasoning, answer = split_think(ai.content)
        if reasoning is not None:
            ai.content = answer
            ai.additional_kwargs["reasoning_content"] = reasoning
    ai = _with_ids(ai, turn)
    return ChatResult(
        generations=[ChatGeneration(message=ai, generation_info={"finish_reason": finish})],
        llm_output={"model_name": meta["model_name"], "model_provider": provider},
    )


class StreamReader:
    """Turns the SDK's stream outputs (dicts) into chunks, and checks the stream finished."""

    def __init__(self, *, provider: str, model: str, turn: int) -> None:
        self._provider = provider
        self._model = model
        self._turn = turn
        self._id: str | None = None
        self._finish: str | None = None
        self._usage: dict[str, Any] | None = None
        self._think = ThinkSplitter()
        self._calls: dict[int, int] = {}  # tool-call index -> position, for missing ids
        self.events = 0
        """Events received so far."""

    def feed(self, event: Mapping[str, Any]) -> list[ChatGenerationChunk]:
        """Take one stream event.

        Args:
            event: The decoded ``chat.completion.chunk``.

        Returns:
            The chunks it completes.
        """
        self.events += 1
        self._id = self._id or event.get("id")
        if event.get("model"):
            self._model = str(event["model"])
        out: list[ChatGenerationChunk] = []
        for choice in event.get("choices") or ():
            if not isinstance(choice, Mapping) or (choice.get("index") or 0) != 0:
                continue
            delta = dict(choice.get("delta") or {})
            if choice.get("finish_reason"):
                self._finish = str(choice["finish_reason"])
            content = delta.get("content")
            if isinstance(content, str) and content:
                reasoning, delta["content"] = self._think.feed(content)
                if reasoning and not delta.get("reasoning_content") and not delta.get("reasoning"):
                    delta["reasoning_content"] = reasoning
            for call in delta.get("tool_calls") or ():
                self._fix_call_id(call)
            chunk = chunk_from_openai_delta(delta, chunk_id=self._id)
            if chunk.content or chunk.tool_call_chunks or chunk.additional_kwargs:
                out.append(ChatGenerationChunk(message=chunk))
        raw_usage = event.get("usage")
        if isinstance(raw_usage, Mapping) and (usage := usage_from_openai(raw_usage)) is not None:
            self._usage = dict(raw_usage)
            out.append(
                ChatGenerationChunk(
                    message=AIMessageChunk(content="", usage_metadata=usage, id=self._id)
                )
            )
        return out

    def _fix_call_id(self, call: Any) -> None:
        if not isinstance(call, dict):
            return
        raw_index = call.get("index")
        index = raw_index if isinstance(raw_index, int) else len(self._calls)
        function = call.get("function") or {}
        if index not in self._calls and function.get("name"):
            self._calls[index] = index
            if not call.get("id") or call.get("id") == str(index):
                call["id"] = stable_tool_call_id(self._turn, index, str(function["name"]), {})

    def finish(self) -> ChatGenerationChunk:
        """Close the stream.

        Returns:
            The last chunk (held-back text, the metadata).

        Raises:
            ProviderResponseError: When the stream ended before a ``finish_reason``.
        """
        if self._finish is None and self.events == 0:
            msg = (
                f"{self._provider} answered 200 without a single stream event: the body is "
                "not a chat completion stream"
            )
            raise ProviderResponseError(msg, provider=self._provider, body="")
        if self._finish is None:
            msg = (
                f"{self._provider}: the stream ended after {self.events} events without a "
                "finish_reason: the answer is incomplete"
            )
            raise ProviderResponseError(msg, provider=self._provider, body="")
        reasoning, answer = self._think.flush()
        meta = response_metadata(
            model_name=self._model,
            model_provider=self._provider,
            finish_reason=self._finish,
            blocked=is_blocked(self._finish),
            id=self._id,
            token_usage=self._usage,
        )
        extra = {"reasoning_content": reasoning} if reasoning else {}
        last = AIMessageChunk(
            content=answer, additional_kwargs=extra, response_metadata=meta, id=self._id
        )
        last.chunk_position = "last"
        return ChatGenerationChunk(message=last)
