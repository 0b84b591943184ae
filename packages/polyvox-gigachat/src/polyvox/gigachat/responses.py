"""GigaChat answers as LangChain messages: completions, stream chunks, usage.

Everything is read from the JSON as GigaChat sends it (a missing or ``null`` field is
absent, never an error): ``choices[0].message`` with its ``content``, one
``function_call`` (arguments an object), ``functions_state_id`` and ``reasoning_content``;
``finish_reason`` (``stop``, ``length``, ``function_call``, ``blacklist`` — the safety
filter, reported as ``blocked`` — or ``error``); ``usage`` with ``precached_prompt_tokens``
(the cached part of the prompt, LangChain's ``cache_read``). GigaChat gives its function
calls no ids: polyvox makes stable ones (:func:`polyvox.core.tool_ids.stable_tool_call_id`).

The v2 API's shapes (``/api/v2/chat/completions``, which the SDK's ``chat.create`` calls:
``messages[].content[]`` parts, ``tool_state_id``, ``usage.input_tokens`` with
``input_tokens_details.cached_tokens``) are read as well, so a recorded v2 answer or a v2
stream event parses to the same message.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk

from polyvox.core.errors import ProviderResponseError
from polyvox.core.metadata import is_blocked, response_metadata
from polyvox.core.tool_ids import stable_tool_call_id
from polyvox.core.usage import make_usage

__all__ = [
    "BLOCKED_FINISH_REASON",
    "StopCutter",
    "StreamReader",
    "message_from_gigachat",
    "metadata_from_gigachat",
    "usage_from_gigachat",
]

BLOCKED_FINISH_REASON = "blacklist"
"""GigaChat's ``finish_reason`` when its filter replaced the answer."""

_PROVIDER = "gigachat"


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def usage_from_gigachat(usage: Any) -> UsageMetadata | None:
    """GigaChat's ``usage`` in LangChain's form.

    Args:
        usage: ``{prompt_tokens, completion_tokens, total_tokens, precached_prompt_tokens}``
            (any of them missing or ``null``), or ``None``.

    Returns:
        The usage (``cache_read`` when GigaChat reported cached tokens), or ``None`` when
        there is none.
    """
    if not isinstance(usage, Mapping):
        return None
    if "input_tokens" in usage or "output_tokens" in usage:  # the v2 API's names
        details = _mapping(usage.get("input_tokens_details"))
        usage = {"prompt_tokens": usage.get("input_tokens"),
                 "completion_tokens": usage.get("output_tokens"),
                 "total_tokens": usage.get("total_tokens"),
                 "precached_prompt_tokens": details.get("cached_tokens")}  # fmt: skip
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    total = _count(usage.get("total_tokens"))
    if prompt is None and completion is None and total is None:
        return None
    if total is not None and prompt is not None and completion is not None:
        total = max(total, prompt + completion)
    return make_usage(
        prompt, completion, total, cache_read=_count(usage.get("precached_prompt_tokens"))
    )


def metadata_from_gigachat(data: Mapping[str, Any], finish: Any, model: str) -> dict[str, Any]:
    """The ``response_metadata`` of an answer.

    Args:
        data: The completion (or the last chunk).
        finish: Its ``finish_reason``.
        model: The model asked for (when the answer names none).

    Returns:
        ``model_name`` (the version GigaChat answered with, ``GigaChat-2-Max:2.0.28.2``),
        ``model_provider``, ``finish_reason``, ``blocked`` and ``created``.
    """
    reason = str(finish) if finish else None
    return response_metadata(
        model_name=str(data.get("model") or model),
        model_provider=_PROVIDER,
        finish_reason=reason,
        blocked=reason == BLOCKED_FINISH_REASON or is_blocked(reason),
        created=_count(data.get("created")),
        x_headers={k: v for k, v in _mapping(data.get("x_headers")).items() if v} or None,
    )


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str) and raw.strip():
        try:
            parsed = json.loads(raw)
        except ValueError:
            return {"__raw__": raw}
        return parsed if isinstance(parsed, dict) else {"value": parsed}
    return {}


def _message_and_finish(data: Mapping[str, Any]) -> tuple[dict[str, Any], Any]:
    """``(message, finish_reason)`` of a completion or chunk, v1 or v2 alike.

    v1: ``choices[0].message`` (or ``.delta``); v2: the assistant entry of ``messages``, its
    ``content`` parts joined into text and a ``function_call`` part made the message's.
    """
    choices = data.get("choices")
    if isinstance(choices, list):
        choice = _mapping(choices[0]) if choices else {}
        given = _mapping(choice.get("message") or choice.get("delta"))
        return dict(given), choice.get("finish_reason")
    entries = data.get("messages")
    found: Mapping[str, Any] = {}
    for entry in entries if isinstance(entries, list) else ():
        if _mapping(entry).get("role") in ("assistant", None):
            found = _mapping(entry)
            break
    message: dict[str, Any] = {"role": "assistant"}
    texts = []
    for part in found.get("content") or ():
        part = _mapping(part)
        if isinstance(part.get("text"), str):
            texts.append(part["text"])
        if isinstance(part.get("function_call"), Mapping):
            message["function_call"] = part["function_call"]
    message["content"] = "".join(texts)
    if state := found.get("tool_state_id") or found.get("functions_state_id"):
        message["functions_state_id"] = state
    if (reasoning := found.get("reasoning_content")) is not None:
        message["reasoning_content"] = reasoning
    return message, data.get("finish_reason") or found.get("finish_reason")


def _plain_text(delta: Any) -> bool:
    """Whether an SDK delta holds text alone (no function call, state id or reasoning)."""
    return (
        delta is not None
        and getattr(delta, "function_call", None) is None
        and not getattr(delta, "functions_state_id", None)
        and getattr(delta, "reasoning_content", None) is None
    )


def _extras(message: Mapping[str, Any]) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if state := message.get("functions_state_id"):
        extras["functions_state_id"] = state
    if (reasoning := message.get("reasoning_content")) is not None:
        extras["reasoning_content"] = reasoning
    return extras


def message_from_gigachat(data: Mapping[str, Any], *, model: str, turn: int) -> AIMessage:
    """Read a chat completion.

    Args:
        data: The completion as GigaChat sends it.
        model: The model asked for.
        turn: How many messages the conversation had (for the tool call's stable id).

    Returns:
        The message, its function call as a tool call.
    """
    message, finish = _message_and_finish(data)
    extras = _extras(message)
    calls = []
    call = _mapping(message.get("function_call"))
    if call.get("name"):
        args = _arguments(call.get("arguments"))
        name = str(call["name"])
        extras["function_call"] = {"name": name, "arguments": args}
        calls.append(tool_call(name=name, args=args, id=stable_tool_call_id(turn, 0, name, args)))
    return AIMessage(
        content=str(message.get("content") or ""),
        tool_calls=calls,
        additional_kwargs=extras,
        usage_metadata=usage_from_gigachat(data.get("usage")),
        response_metadata=metadata_from_gigachat(data, finish, model),
    )


class StreamReader:
    """Turns GigaChat's stream chunks into LangChain chunks, and refuses an unfinished stream.

    A chunk is a ``chat.completion`` object (GigaChat writes ``object: "chat.completion"``
    in chunks too) with ``choices[].delta``; a function call arrives whole in one delta;
    the last chunk carries ``finish_reason`` and ``usage``. A stream that ends before a
    ``finish_reason`` lost the end of the answer: :meth:`finish` raises.
    """

    def __init__(self, *, model: str, turn: int, where: str) -> None:
        """Read one stream.

        Args:
            model: The model asked for.
            turn: How many messages the conversation had (for the tool call's stable id).
            where: The server, named when the stream ends early.
        """
        self.model = model
        """The model asked for."""
        self.turn = turn
        """Messages before the answer."""
        self.where = where
        """The server's URL."""
        self.chunks = 0
        """Chunks read so far."""
        self.finish_reason: str | None = None
        """The ``finish_reason`` once it came."""

    def feed(self, data: Mapping[str, Any]) -> Iterator[ChatGenerationChunk]:
        """The LangChain chunks of one GigaChat chunk.

        Args:
            data: The chunk.

        Yields:
            Its message chunk (with usage and metadata on the last one).
        """
        yield self._chunk_of(data)

    def read(self, chunk: Any) -> ChatGenerationChunk:
        """The LangChain chunk of one chunk as the SDK parsed it (a ``ChatCompletionChunk``).

        Most chunks of a stream carry a piece of text and nothing else: those are read from
        the SDK's object as they are; any other (a function call, the state id, reasoning,
        the finish reason, usage) goes through :meth:`feed`'s reading of the whole chunk.

        Args:
            chunk: The SDK's chunk.

        Returns:
            Its message chunk.
        """
        choices = getattr(chunk, "choices", None)
        if getattr(chunk, "usage", None) is None and choices and len(choices) == 1:
            choice = choices[0]
            delta = getattr(choice, "delta", None)
            if getattr(choice, "finish_reason", None) is None and _plain_text(delta):
                self.chunks += 1
                message = AIMessageChunk(
                    content=str(getattr(delta, "content", None) or ""),
                    response_metadata={"model_provider": _PROVIDER},
                )
                return ChatGenerationChunk(message=message)
        return self._chunk_of(chunk.model_dump(by_alias=True))

    def _chunk_of(self, data: Mapping[str, Any]) -> ChatGenerationChunk:
        self.chunks += 1
        delta, finish = _message_and_finish(data)
        extras = _extras(delta)
        call_chunks = []
        call = _mapping(delta.get("function_call"))
        if call.get("name"):
            name = str(call["name"])
            args = _arguments(call.get("arguments"))
            extras["function_call"] = {"name": name, "arguments": args}
            call_id = stable_tool_call_id(self.turn, 0, name, args)
            call_chunks.append(
                tool_call_chunk(
                    name=name, args=json.dumps(args, ensure_ascii=False), id=call_id, index=0
                )
            )
        usage = usage_from_gigachat(data.get("usage"))
        meta: dict[str, Any] = {"model_provider": _PROVIDER}
        if finish:
            self.finish_reason = str(finish)
            meta = metadata_from_gigachat(data, finish, self.model)
        message = AIMessageChunk(
            content=str(delta.get("content") or ""),
            additional_kwargs=extras,
            tool_call_chunks=call_chunks,
            usage_metadata=usage,
            response_metadata=meta,
        )
        info = {"finish_reason": self.finish_reason} if finish else None
        return ChatGenerationChunk(message=message, generation_info=info)

    def finish(self) -> None:
        """Check that the stream ended with its ``finish_reason``.

        Raises:
            ProviderResponseError: When it did not (the answer is incomplete).
        """
        if self.finish_reason is None:
            what = "an empty stream" if not self.chunks else f"{self.chunks} chunks"
            msg = (
                f"GigaChat at {self.where} ended the stream without a finish_reason after "
                f"{what}: the answer is incomplete"
            )
            raise ProviderResponseError(msg, provider=_PROVIDER)


class StopCutter:
    """Stop sequences applied on polyvox's side: GigaChat's API has no ``stop`` parameter.

    The text is cut before the first stop sequence; in a stream, text that may be the start
    of one is held back until the next chunk shows whether it is.
    """

    def __init__(self, stops: list[str] | None) -> None:
        """Cut at ``stops``.

        Args:
            stops: The stop sequences (empty ones are ignored).
        """
        self.stops = [s for s in stops or () if s]
        """The stop sequences."""
        self.stopped = False
        """Whether a stop sequence was met (the rest of the answer is dropped)."""
        self._held = ""

    def feed(self, text: str) -> str:
        """The part of ``text`` that can be passed on now.

        Args:
            text: The next piece of the answer.

        Returns:
            Text before any stop sequence, less a tail that may begin one.
        """
        if self.stopped or not self.stops:
            return "" if self.stopped else text
        buffer = self._held + text
        cut = min((i for s in self.stops if (i := buffer.find(s)) >= 0), default=-1)
        if cut >= 0:
            self.stopped, self._held = True, ""
            return buffer[:cut]
        keep = max(
            (k for s in self.stops for k in range(1, len(s)) if buffer.endswith(s[:k])), default=0
        )
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        """The text held back at the end of the answer (it began no stop sequence)."""
        held, self._held = self._held, ""
        return "" if self.stopped else held
