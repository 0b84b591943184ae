"""The direct stream path (polyvox.core.invocation): what langchain-core's stream() yields."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import ensure_config

from polyvox.core import langchain_internals as li
from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.core.invocation import direct_stream_allowed

RUN_ID = re.compile(r"^lc_run--[0-9a-f-]{36}$")


class _Streamer(PolyvoxChatModel):
    """A polyvox chat model streaming a scripted answer without a server."""

    provider = "openai"
    requires_api_key = False
    parts: list[str] = ["Hel", "lo"]
    """The text chunks to stream."""
    closing: bool = True
    """End with a usage chunk marked ``chunk_position="last"``."""

    def _generate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        message = AIMessage(content="".join(self.parts))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> ChatResult:
        return self._generate(messages)

    def _chunks(self, messages: list[BaseMessage]) -> list[ChatGenerationChunk]:
        chunks = [
            ChatGenerationChunk(
                message=AIMessageChunk(content=part),
                generation_info={"index": i} if i else None,
            )
            for i, part in enumerate(self.parts)
        ]
        if self.closing:
            usage = {"input_tokens": len(messages), "output_tokens": 2, "total_tokens": 3}
            last = AIMessageChunk(
                content="",
                usage_metadata=usage,
                response_metadata={"model_provider": "openai", "finish_reason": "stop"},
                chunk_position="last",
            )
            chunks.append(ChatGenerationChunk(message=last, generation_info={"done": True}))
        return chunks

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(messages)

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for chunk in self._chunks(messages):
            yield chunk


class _SyncOnly(_Streamer):
    """A model without a native ``_astream`` (langchain-core's default runs it)."""

    _astream = BaseChatModel._astream


class _Tokens(BaseCallbackHandler):
    def __init__(self) -> None:
        self.tokens: list[str] = []

    def on_llm_new_token(self, token: Any, **kwargs: Any) -> None:
        self.tokens.append(token)


def _shape(chunks: list[AIMessageChunk]) -> list[tuple[Any, ...]]:
    for chunk in chunks:
        assert RUN_ID.match(chunk.id or ""), chunk.id
    return [(c.content, c.response_metadata, c.usage_metadata, c.chunk_position) for c in chunks]


def _full(model: BaseChatModel) -> list[AIMessageChunk]:
    """langchain-core's own stream(), forced by a handler that observes the call."""
    config: Any = {"callbacks": [_Tokens()]}
    return list(BaseChatModel.stream(model, "hi", config))


@pytest.mark.parametrize("closing", [True, False], ids=["closing chunk", "no closing chunk"])
def test_direct_stream_yields_what_langchain_core_yields(closing: bool) -> None:
    model = _Streamer(model="m", closing=closing)
    assert direct_stream_allowed(model, ensure_config(None), {}, native=True)
    direct = list(model.stream("hi"))
    assert _shape(direct) == _shape(_full(model))
    assert direct[-1].chunk_position == "last"
    assert len({c.id for c in direct}) == 1, "every chunk of a stream carries the run's id"
    merged = sum(direct[1:], direct[0])
    assert merged.content == "Hello"


async def test_direct_astream_yields_what_langchain_core_yields() -> None:
    model = _Streamer(model="m")
    direct = [c async for c in model.astream("hi")]
    full = [c async for c in BaseChatModel.astream(model, "hi", {"callbacks": [_Tokens()]})]
    assert _shape(direct) == _shape(full)


async def test_a_stream_with_no_chunks_fails_as_in_langchain_core() -> None:
    model = _Streamer(model="m", parts=[], closing=False)
    with pytest.raises(ValueError, match="No generation chunks were returned"):
        list(model.stream("hi"))
    with pytest.raises(ValueError, match="No generation chunks were returned"):
        [c async for c in model.astream("hi")]


def test_a_handler_gets_the_full_path_and_every_token() -> None:
    model = _Streamer(model="m")
    handler = _Tokens()
    list(model.stream("hi", {"callbacks": [handler]}))
    assert handler.tokens == ["Hel", "lo", ""]


def test_disabled_streaming_falls_back_to_invoke() -> None:
    model = _Streamer(model="m", disable_streaming=True)
    assert not direct_stream_allowed(model, ensure_config(None), {}, native=True)
    (only,) = list(model.stream("hi"))
    assert only.content == "Hello"


async def test_a_model_without_native_astream_keeps_langchain_cores_fallback() -> None:
    model = _SyncOnly(model="m")
    assert li.implements_stream(model, async_api=False)
    assert not li.implements_stream(model, async_api=True)
    chunks = [c async for c in model.astream("hi")]
    assert "".join(str(c.content) for c in chunks) == "Hello"


def test_unknown_keywords_are_refused_on_the_direct_path() -> None:
    with pytest.raises(TypeError, match="temprature"):
        list(_Streamer(model="m").stream("hi", temprature=1))


def test_finish_chunk_merges_generation_info_as_stream_does() -> None:
    chunk = ChatGenerationChunk(
        message=AIMessageChunk(content="x", response_metadata={"a": 1}),
        generation_info={"finish_reason": "stop"},
    )
    message = li.finish_chunk(chunk, "lc_run--id")
    assert (message.id, message.response_metadata) == (
        "lc_run--id",
        {"a": 1, "finish_reason": "stop"},
    )
    assert li.stream_message_id(li.new_run_id()).startswith("lc_run--")
