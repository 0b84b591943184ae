"""LangChainLLM: any LangChain chat model as a LlamaIndex FunctionCallingLLM."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from llama_index.core import PromptTemplate
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.callbacks.token_counting import get_tokens_from_response
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.tools import FunctionTool
from pydantic import Field, SecretStr

from polyvox.core.llamaindex import LangChainLLM, to_llamaindex
from polyvox.core.llamaindex.responses import as_chunk

USAGE = {"input_tokens": 7, "output_tokens": 3, "total_tokens": 10}
META = {"model_name": "fake-1", "finish_reason": "stop"}


def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


ADD = FunctionTool.from_defaults(fn=add)


def text(content: str) -> AIMessage:
    return AIMessage(content=content, usage_metadata=USAGE, response_metadata=META)


def calls(*pairs: tuple[int, int]) -> AIMessage:
    tool_calls = [
        tool_call(name="add", args={"a": a, "b": b}, id=f"call_{i}")
        for i, (a, b) in enumerate(pairs)
    ]
    return AIMessage(content="", tool_calls=tool_calls, usage_metadata=USAGE)


class ScriptedChatModel(GenericFakeChatModel):
    """GenericFakeChatModel that binds tools, records its calls and streams tool calls."""

    seen: list[dict[str, Any]] = Field(default_factory=list)
    api_key: SecretStr = SecretStr("sk-scripted-secret")

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        specs = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=specs, tool_choice=tool_choice, **kwargs)

    def _record(self, mode: str, messages: list[BaseMessage], stop: Any, kwargs: Any) -> None:
        self.seen.append({"mode": mode, "messages": messages, "stop": stop, **kwargs})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._record("sync", messages, stop, kwargs)
        return super()._generate(messages, stop=stop, **kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self._record("async", messages, stop, kwargs)
        return super()._generate(messages, stop=stop, **kwargs)

    def _chunks(self) -> Iterator[ChatGenerationChunk]:
        message = next(self.messages)
        assert isinstance(message, AIMessage)
        for word in re.split(r"(?<= )", str(message.text)):
            if word:
                yield ChatGenerationChunk(message=AIMessageChunk(content=word))
        pieces = [
            tool_call_chunk(name=c["name"], args=json.dumps(c["args"]), id=c["id"], index=i)
            for i, c in enumerate(message.tool_calls)
        ]
        last = AIMessageChunk(
            content="",
            tool_call_chunks=pieces,
            usage_metadata=message.usage_metadata,
            response_metadata=dict(message.response_metadata),
        )
        yield ChatGenerationChunk(message=last)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        self._record("stream", messages, stop, kwargs)
        yield from self._chunks()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        self._record("astream", messages, stop, kwargs)
        for chunk in self._chunks():
            yield chunk


def scripted(*answers: AIMessage, **fields: Any) -> ScriptedChatModel:
    return ScriptedChatModel(messages=iter(answers), **fields)


def user(content: str) -> list[ChatMessage]:
    return [ChatMessage(role=MessageRole.USER, content=content)]


# -- metadata -----------------------------------------------------------------------------


def test_metadata_reads_the_model_profile() -> None:
    profile = {"max_input_tokens": 1000, "max_output_tokens": 100, "tool_calling": True}
    meta = LangChainLLM(GenericFakeChatModel(messages=iter([]), profile=profile)).metadata
    assert meta.context_window == 1000
    assert meta.num_output == 100
    assert meta.is_chat_model
    assert meta.is_function_calling_model
    assert meta.model_name == "generic-fake-chat-model"


def test_metadata_fallbacks() -> None:
    meta = LangChainLLM(GenericFakeChatModel(messages=iter([]))).metadata
    assert meta.context_window == DEFAULT_CONTEXT_WINDOW
    assert meta.num_output == DEFAULT_NUM_OUTPUTS
    assert not meta.is_function_calling_model  # GenericFakeChatModel has no bind_tools
    assert LangChainLLM(scripted()).metadata.is_function_calling_model


def test_metadata_overrides_and_model_attributes() -> None:
    class Named(ScriptedChatModel):
        model: str = "named-model"
        max_tokens: int = 321

    llm = LangChainLLM(Named(messages=iter([])), context_window=5000, is_function_calling=False)
    meta = llm.metadata
    assert (meta.context_window, meta.num_output, meta.model_name) == (5000, 321, "named-model")
    assert not meta.is_function_calling_model
    assert LangChainLLM(Named(messages=iter([])), num_output=42).metadata.num_output == 42


# -- chat and completion -------------------------------------------------------------------


def test_chat_converts_messages_and_reports_usage() -> None:
    model = scripted(text("hello there"))
    history = [
        ChatMessage(role=MessageRole.SYSTEM, content="be brief"),
        ChatMessage(role=MessageRole.USER, content="hi"),
    ]
    response = to_llamaindex(model).chat(history)
    assert response.message.role == MessageRole.ASSISTANT
    assert response.message.content == "hello there"
    assert isinstance(response.raw, dict)
    assert response.raw["usage_metadata"] == USAGE
    assert response.raw["response_metadata"] == META
    assert response.additional_kwargs["prompt_tokens"] == 7
    assert get_tokens_from_response(response) == (7, 3)
    (call,) = model.seen
    assert call["mode"] == "sync"
    assert [(m.type, m.content) for m in call["messages"]] == [
        ("system", "be brief"),
        ("human", "hi"),
    ]


async def test_achat_awaits_the_async_path() -> None:
    model = scripted(text("async hello"))
    response = await LangChainLLM(model).achat(user("hi"))
    assert response.message.content == "async hello"
    assert [c["mode"] for c in model.seen] == ["async"]


def assert_stream(responses: Sequence[ChatResponse], expected: str) -> None:
    assert len(responses) > 2
    assert "".join(r.delta or "" for r in responses) == expected
    last = responses[-1]
    assert last.message.content == expected
    assert isinstance(last.raw, dict)
    assert last.raw["usage_metadata"] == USAGE
    assert get_tokens_from_response(last) == (7, 3)


def test_stream_chat() -> None:
    model = scripted(text("one two three"))
    assert_stream(list(LangChainLLM(model).stream_chat(user("count"))), "one two three")
    assert [c["mode"] for c in model.seen] == ["stream"]


async def test_astream_chat() -> None:
    model = scripted(text("one two three"))
    responses = [r async for r in await LangChainLLM(model).astream_chat(user("count"))]
    assert_stream(responses, "one two three")
    assert [c["mode"] for c in model.seen] == ["astream"]


def test_complete_sends_the_prompt_as_a_user_message() -> None:
    model = scripted(text("completed"))
    response = LangChainLLM(model).complete("finish this")
    assert response.text == "completed"
    assert isinstance(response.raw, dict)
    assert response.raw["usage_metadata"] == USAGE
    assert [(m.type, m.content) for m in model.seen[0]["messages"]] == [("human", "finish this")]


async def test_acomplete() -> None:
    model = scripted(text("completed"))
    assert (await LangChainLLM(model).acomplete("x")).text == "completed"
    assert model.seen[0]["mode"] == "async"


def test_stream_complete() -> None:
    responses = list(LangChainLLM(scripted(text("a b c"))).stream_complete("x"))
    assert len(responses) > 2
    assert "".join(r.delta or "" for r in responses) == responses[-1].text == "a b c"


async def test_astream_complete() -> None:
    model = scripted(text("a b c"))
    responses = [r async for r in await LangChainLLM(model).astream_complete("x")]
    assert "".join(r.delta or "" for r in responses) == responses[-1].text == "a b c"
    assert model.seen[0]["mode"] == "astream"


def test_call_options_reach_the_chat_model() -> None:
    model = scripted(text("x"))
    LangChainLLM(model).chat(user("hi"), stop=["END"], seed=3)
    assert model.seen[0]["stop"] == ["END"]
    assert model.seen[0]["seed"] == 3


def test_llamaindex_token_counting_sees_the_usage() -> None:
    counter = TokenCountingHandler()
    llm = LangChainLLM(scripted(text("a"), text("b")), callback_manager=CallbackManager([counter]))
    llm.chat(user("hi"))
    llm.complete("hi")
    assert counter.prompt_llm_token_count == 14
    assert counter.completion_llm_token_count == 6


def test_predict_uses_the_system_prompt() -> None:
    model = scripted(text("predicted"))
    llm = LangChainLLM(model, system_prompt="be kind")
    assert llm.predict(PromptTemplate("hi {x}"), x="there") == "predicted"
    assert [(m.type, m.content) for m in model.seen[0]["messages"]] == [
        ("system", "be kind"),
        ("human", "hi there"),
    ]


# -- tool calling --------------------------------------------------------------------------


def test_predict_and_call_runs_the_tool() -> None:
    model = scripted(calls((3, 4)))
    llm = LangChainLLM(model)
    response = llm.predict_and_call([ADD], "what is 3 + 4?")
    assert response.response == "7"
    (call,) = model.seen
    assert call["tools"] == [ADD.metadata.to_openai_tool()]
    assert call["tool_choice"] is None


async def test_apredict_and_call_runs_the_tool() -> None:
    model = scripted(calls((3, 4)))
    response = await LangChainLLM(model).apredict_and_call([ADD], "what is 3 + 4?")
    assert response.response == "7"
    assert model.seen[0]["mode"] == "async"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [({}, None), ({"tool_required": True}, "any"), ({"tool_choice": "add"}, "add")],
)
def test_tool_choice(kwargs: dict[str, Any], expected: str | None) -> None:
    model = scripted(calls((1, 2)))
    LangChainLLM(model).chat_with_tools([ADD], user_msg="1 + 2", **kwargs)
    assert model.seen[0]["tool_choice"] == expected


def test_tool_calls_are_read_from_the_response() -> None:
    llm = LangChainLLM(scripted(calls((3, 4))))
    response = llm.chat_with_tools([ADD], user_msg="3 + 4")
    assert response.message.additional_kwargs["tool_calls"][0]["args"] == {"a": 3, "b": 4}
    (selection,) = llm.get_tool_calls_from_response(response)
    assert (selection.tool_id, selection.tool_name, selection.tool_kwargs) == (
        "call_0",
        "add",
        {"a": 3, "b": 4},
    )


def test_parallel_tool_calls_are_trimmed_unless_allowed() -> None:
    llm = LangChainLLM(scripted(calls((1, 2), (3, 4)), calls((1, 2), (3, 4))))
    single = llm.chat_with_tools([ADD], user_msg="add")
    assert len(llm.get_tool_calls_from_response(single)) == 1
    both = llm.chat_with_tools([ADD], user_msg="add", allow_parallel_tool_calls=True)
    assert len(llm.get_tool_calls_from_response(both)) == 2
    parallel = LangChainLLM(scripted(calls((1, 2), (3, 4))))
    answer = parallel.predict_and_call([ADD], "add", allow_parallel_tool_calls=True)
    assert answer.response == "3\n\n7"


def test_no_tool_call() -> None:
    llm = LangChainLLM(scripted(text("no tools needed")))
    response = llm.chat_with_tools([ADD], user_msg="hi")
    assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
    with pytest.raises(ValueError, match="Expected at least one tool call"):
        llm.get_tool_calls_from_response(response)


def test_stream_chat_with_tools_ends_with_the_tool_call() -> None:
    llm = LangChainLLM(scripted(calls((5, 6))))
    responses = list(llm.stream_chat_with_tools([ADD], user_msg="5 + 6"))
    (selection,) = llm.get_tool_calls_from_response(responses[-1])
    assert selection.tool_kwargs == {"a": 5, "b": 6}


async def test_tool_result_turn_reaches_the_chat_model() -> None:
    model = scripted(calls((3, 4)), text("It is 7."))
    llm = LangChainLLM(model)
    first = await llm.achat_with_tools([ADD], user_msg="3 + 4")
    (selection,) = llm.get_tool_calls_from_response(first)
    result = ChatMessage(
        role=MessageRole.TOOL, content="7", additional_kwargs={"tool_call_id": selection.tool_id}
    )
    history = [*user("3 + 4"), first.message, result]
    final = await llm.achat_with_tools([ADD], chat_history=history)
    assert final.message.content == "It is 7."
    sent = model.seen[1]["messages"]
    assert [m.type for m in sent] == ["human", "ai", "tool"]
    assert sent[1].tool_calls == [tool_call(name="add", args={"a": 3, "b": 4}, id="call_0")]
    assert sent[2].tool_call_id == "call_0"


def test_whole_messages_in_a_stream_become_chunks() -> None:
    message = calls((1, 2))
    chunk = as_chunk(message)
    assert isinstance(chunk, AIMessageChunk)
    assert chunk.tool_calls == message.tool_calls
    assert chunk.usage_metadata == message.usage_metadata
    assert as_chunk(chunk) is chunk


# -- hygiene -------------------------------------------------------------------------------


def test_secrets_stay_hidden() -> None:
    llm = LangChainLLM(scripted())
    assert "sk-scripted-secret" not in repr(llm)
    assert "sk-scripted-secret" not in llm.model_dump_json()
    assert "sk-scripted-secret" not in json.dumps(llm.to_payload())


def test_no_llama_index_import_outside_the_bridge() -> None:
    script = (
        "import importlib, pkgutil, sys\n"
        "import polyvox.core as core\n"
        "for info in pkgutil.iter_modules(core.__path__, 'polyvox.core.'):\n"
        "    if info.name != 'polyvox.core.llamaindex':\n"
        "        importlib.import_module(info.name)\n"
        "        leaked = [m for m in sys.modules if m.startswith('llama_index')]\n"
        "        assert not leaked, info.name\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
