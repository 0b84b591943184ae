"""Run the LlamaIndex conformance suite against the bridge over an emulator-like fake model.

`EmulatorLikeChatModel` answers the way the polyvox emulator's "auto" behaviour does: it
echoes the last user message; with tools bound and no trailing tool result it calls the
forced tool (or the first) with schema-valid arguments taken from the prompt's numbers;
after a tool result it answers with text quoting it. It streams word by word, tool-call
arguments in pieces, and usage in a last chunk.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

import pytest
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    ToolMessage,
)
from langchain_core.messages.tool import tool_call, tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from llama_index.core.llms import LLM
from llama_index.core.tools import FunctionTool
from pydantic import ValidationError

from polyvox.core.llamaindex import LangChainLLM, to_llamaindex
from polyvox.testing.emulator.auto import echo_text
from polyvox.testing.emulator.schema_values import Hints, generate_value
from polyvox.testing.llamaindex_suite import LlamaIndexLLMTests, add


class EmulatorLikeChatModel(BaseChatModel):
    """A deterministic chat model with the emulator's default behaviour."""

    calls: int = 0

    @property
    def _llm_type(self) -> str:
        return "emulator-like"

    def bind_tools(
        self, tools: Sequence[Any], *, tool_choice: str | None = None, **kwargs: Any
    ) -> Runnable[LanguageModelInput, AIMessage]:
        specs = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=specs, tool_choice=tool_choice, **kwargs)

    def _answer(
        self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None, tool_choice: Any
    ) -> AIMessage:
        self.calls += 1
        last_user = next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)
        user_text = str(last_user.text) if last_user else ""
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        if tools and tool_choice != "none" and not isinstance(messages[-1], ToolMessage):
            by_name = {t["function"]["name"]: t["function"] for t in tools}
            chosen = by_name.get(tool_choice) if isinstance(tool_choice, str) else None
            function = chosen or tools[0]["function"]
            args = generate_value(function.get("parameters") or {}, Hints(user_text))
            call = tool_call(name=function["name"], args=args, id=f"call_{self.calls}")
            return AIMessage(content="", tool_calls=[call], usage_metadata=usage)
        if isinstance(messages[-1], ToolMessage):
            return AIMessage(
                content=f"The tool returned: {messages[-1].text}", usage_metadata=usage
            )
        return AIMessage(content=echo_text(user_text), usage_metadata=usage)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = self._answer(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        return ChatResult(generations=[ChatGeneration(message=answer)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        answer = self._answer(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        return ChatResult(generations=[ChatGeneration(message=answer)])

    def _chunks(self, answer: AIMessage) -> Iterator[ChatGenerationChunk]:
        for word in re.split(r"(?<= )", str(answer.text)):
            if word:
                yield ChatGenerationChunk(message=AIMessageChunk(content=word))
        for index, call in enumerate(answer.tool_calls):
            arguments = json.dumps(call["args"])
            middle = len(arguments) // 2
            head = tool_call_chunk(
                name=call["name"], args=arguments[:middle], id=call["id"], index=index
            )
            tail = tool_call_chunk(args=arguments[middle:], index=index)
            for piece in (head, tail):
                yield ChatGenerationChunk(
                    message=AIMessageChunk(content="", tool_call_chunks=[piece])
                )
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", usage_metadata=answer.usage_metadata)
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        yield from self._chunks(
            self._answer(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        )

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        answer = self._answer(messages, kwargs.get("tools"), kwargs.get("tool_choice"))
        for chunk in self._chunks(answer):
            yield chunk


class BrokenChatModel(EmulatorLikeChatModel):
    """Faults the suite must catch: wrong tool arguments, one-chunk streams, no usage."""

    def _answer(
        self, messages: list[BaseMessage], tools: list[dict[str, Any]] | None, tool_choice: Any
    ) -> AIMessage:
        answer = super()._answer(messages, tools, tool_choice)
        bad_calls = [
            tool_call(name=c["name"], args={"a": "three"}, id=c["id"]) for c in answer.tool_calls
        ]
        return AIMessage(content=answer.content, tool_calls=bad_calls)

    def _chunks(self, answer: AIMessage) -> Iterator[ChatGenerationChunk]:
        yield ChatGenerationChunk(message=AIMessageChunk(content=answer.content))


class TestLangChainLLMConformance(LlamaIndexLLMTests):
    has_image_input = True

    def build_llm(self) -> LLM:
        return LangChainLLM(EmulatorLikeChatModel(profile={"max_input_tokens": 8192}))


class TestToLlamaIndexWithoutTools(LlamaIndexLLMTests):
    """The suite's flags switch tests off: a model without tools and without usage."""

    has_tool_calling = False
    has_usage = False

    def build_llm(self) -> LLM:
        return to_llamaindex(EmulatorLikeChatModel(profile={"tool_calling": False}))


@pytest.mark.parametrize(
    ("test_name", "error"),
    [
        ("test_chat_with_tools", ValidationError),
        ("test_predict_and_call", AssertionError),
        ("test_stream_chat", AssertionError),
        ("test_stream_complete", AssertionError),
        ("test_usage", AssertionError),
        ("test_metadata", AssertionError),
    ],
)
def test_suite_catches_faults(test_name: str, error: type[Exception]) -> None:
    suite = TestLangChainLLMConformance()
    broken = LangChainLLM(BrokenChatModel(), is_function_calling=test_name != "test_metadata")
    test = getattr(suite, test_name)
    kwargs: dict[str, Any] = {"llm": broken}
    if "tool" in test_name or "call" in test_name:
        kwargs["add_tool"] = FunctionTool.from_defaults(fn=add)
    with pytest.raises(error):
        test(**kwargs)


def test_suite_needs_an_llm() -> None:
    class Incomplete(LlamaIndexLLMTests):
        pass

    with pytest.raises(NotImplementedError, match="build_llm"):
        Incomplete().build_llm()
