"""A conformance suite for LlamaIndex LLMs (LlamaIndex itself ships none).

A provider's test module subclasses :class:`LlamaIndexLLMTests`, returns the LLM under test
from `build_llm()` (or overrides the `llm` fixture) and sets the capability flags::

    class TestOpenAILlamaIndex(LlamaIndexLLMTests):
        def build_llm(self) -> LLM:
            return to_llamaindex(ChatOpenAI(model="gpt-4o-mini", base_url=emulator_url))

The tests assume nothing about answers beyond "non-empty", so they run against a real model
as well as against the polyvox emulator. Async tests drive their coroutine with
`asyncio.run`, so the suite needs no pytest plugin.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    CompletionResponse,
    ImageBlock,
    MessageRole,
    TextBlock,
)
from llama_index.core.callbacks.token_counting import get_tokens_from_response
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import LLM, ToolSelection
from llama_index.core.tools import FunctionTool

if TYPE_CHECKING:
    from llama_index.core.agent.workflow import AgentOutput, ToolCallResult

__all__ = ["LlamaIndexLLMTests", "add"]

_T = TypeVar("_T")

PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
"""A 1x1 PNG for the image-input test."""


def add(a: int, b: int) -> int:
    """Add two integers and return their sum.

    Args:
        a: The first integer.
        b: The second integer.

    Returns:
        `a + b`.
    """
    return a + b


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """Run an async test body on a fresh event loop."""
    return asyncio.run(coroutine)


def _assert_answer(response: ChatResponse) -> None:
    """Check that a chat response is a non-empty assistant answer."""
    assert response.message.role == MessageRole.ASSISTANT
    assert isinstance(response.message.content, str)
    assert response.message.content.strip(), "the answer is empty"


def _assert_chat_stream(responses: Sequence[ChatResponse]) -> None:
    """Check that streamed deltas reassemble into the last response's full message."""
    deltas = [r.delta for r in responses if r.delta]
    assert len(deltas) > 1, f"expected several non-empty deltas, got {deltas!r}"
    last = responses[-1]
    _assert_answer(last)
    assert "".join(r.delta or "" for r in responses) == last.message.content


def _assert_completion_stream(responses: Sequence[CompletionResponse]) -> None:
    """Check that streamed completion deltas reassemble into the last response's text."""
    deltas = [r.delta for r in responses if r.delta]
    assert len(deltas) > 1, f"expected several non-empty deltas, got {deltas!r}"
    assert responses[-1].text.strip(), "the completion is empty"
    assert "".join(r.delta or "" for r in responses) == responses[-1].text


class LlamaIndexLLMTests:
    """Conformance tests for a LlamaIndex LLM; subclass it in a `Test...` class.

    Override `build_llm()` (or the `llm` fixture) and the capability flags below.
    """

    has_tool_calling: bool = True
    """The LLM is a `FunctionCallingLLM` whose model calls tools."""

    has_tool_choice: bool = True
    """The model can be forced to call a tool (`tool_required=True`)."""

    has_streaming: bool = True
    """The model streams its answers in several deltas."""

    has_usage: bool = True
    """Responses report token usage that LlamaIndex's token counting can read."""

    has_image_input: bool = False
    """The model accepts image blocks in user messages."""

    has_agent: bool = True
    """Run a `FunctionAgent` loop (needs `has_tool_calling`)."""

    chat_prompt: str = "Say hello in one short sentence."
    """The prompt of the plain chat and completion tests."""

    stream_prompt: str = "Count from one to ten in words, separated by spaces."
    """The prompt of the streaming tests; it should draw an answer of several tokens."""

    tool_prompt: str = "What is 3 plus 4? Use the add tool."
    """The prompt of the tool-calling tests."""

    def build_llm(self) -> LLM:
        """Return the LlamaIndex LLM under test; subclasses must override this (or `llm`).

        Raises:
            NotImplementedError: When the subclass overrides neither.
        """
        msg = f"{type(self).__name__} must override build_llm() or the llm fixture"
        raise NotImplementedError(msg)

    @pytest.fixture
    def llm(self) -> LLM:
        """The LLM under test, a fresh one for every test."""
        return self.build_llm()

    @pytest.fixture
    def add_tool(self) -> FunctionTool:
        """The `add(a, b)` tool of the tool-calling tests."""
        return FunctionTool.from_defaults(fn=add)

    # -- helpers ----------------------------------------------------------------------

    def _tool_llm(self, llm: LLM) -> FunctionCallingLLM:
        """Skip without tool calling; return the LLM as a `FunctionCallingLLM`."""
        if not self.has_tool_calling:
            pytest.skip("the model has no tool calling")
        assert isinstance(llm, FunctionCallingLLM)
        return llm

    def _tool_kwargs(self) -> dict[str, Any]:
        """Force the tool call where the model supports it."""
        return {"tool_required": True} if self.has_tool_choice else {}

    def _skip_without_streaming(self) -> None:
        if not self.has_streaming:
            pytest.skip("the model does not stream")

    @staticmethod
    def _assert_selection(selections: Sequence[ToolSelection], tool: FunctionTool) -> None:
        """Check the first tool call: the right tool, arguments valid for its schema."""
        assert selections, "the model called no tool"
        first = selections[0]
        assert first.tool_name == tool.metadata.name
        assert isinstance(first.tool_id, str)
        schema = tool.metadata.fn_schema
        assert schema is not None
        schema.model_validate(first.tool_kwargs)

    @staticmethod
    def _tool_turn(
        prompt: str, response: ChatResponse, selection: ToolSelection, tool: FunctionTool
    ) -> list[ChatMessage]:
        """The conversation after running the selected tool: user, assistant, tool result."""
        output = tool(**selection.tool_kwargs)
        result = ChatMessage(
            role=MessageRole.TOOL,
            content=str(output.content),
            additional_kwargs={"tool_call_id": selection.tool_id, "name": selection.tool_name},
        )
        return [ChatMessage(role=MessageRole.USER, content=prompt), response.message, result]

    # -- metadata ---------------------------------------------------------------------

    def test_metadata(self, llm: LLM) -> None:
        """The metadata describes a chat model with a context window and a name."""
        metadata = llm.metadata
        assert metadata.context_window > 0
        assert metadata.num_output != 0
        assert isinstance(metadata.model_name, str)
        assert metadata.model_name.strip()
        assert metadata.is_chat_model
        assert metadata.is_function_calling_model == self.has_tool_calling

    # -- chat and completion ----------------------------------------------------------

    def test_chat(self, llm: LLM) -> None:
        """`chat` answers with a non-empty assistant message."""
        _assert_answer(llm.chat([ChatMessage(role=MessageRole.USER, content=self.chat_prompt)]))

    def test_achat(self, llm: LLM) -> None:
        """`achat` answers with a non-empty assistant message."""
        message = ChatMessage(role=MessageRole.USER, content=self.chat_prompt)
        _assert_answer(_run(llm.achat([message])))

    def test_stream_chat(self, llm: LLM) -> None:
        """`stream_chat` yields deltas that reassemble into the final message."""
        self._skip_without_streaming()
        message = ChatMessage(role=MessageRole.USER, content=self.stream_prompt)
        _assert_chat_stream(list(llm.stream_chat([message])))

    def test_astream_chat(self, llm: LLM) -> None:
        """`astream_chat` yields deltas that reassemble into the final message."""
        self._skip_without_streaming()
        message = ChatMessage(role=MessageRole.USER, content=self.stream_prompt)

        async def collect() -> list[ChatResponse]:
            return [response async for response in await llm.astream_chat([message])]

        _assert_chat_stream(_run(collect()))

    def test_complete(self, llm: LLM) -> None:
        """`complete` returns non-empty text."""
        assert llm.complete(self.chat_prompt).text.strip()

    def test_acomplete(self, llm: LLM) -> None:
        """`acomplete` returns non-empty text."""
        assert _run(llm.acomplete(self.chat_prompt)).text.strip()

    def test_stream_complete(self, llm: LLM) -> None:
        """`stream_complete` yields deltas that reassemble into the final text."""
        self._skip_without_streaming()
        _assert_completion_stream(list(llm.stream_complete(self.stream_prompt)))

    def test_astream_complete(self, llm: LLM) -> None:
        """`astream_complete` yields deltas that reassemble into the final text."""
        self._skip_without_streaming()

        async def collect() -> list[CompletionResponse]:
            return [r async for r in await llm.astream_complete(self.stream_prompt)]

        _assert_completion_stream(_run(collect()))

    def test_multi_turn_with_system_message(self, llm: LLM) -> None:
        """A conversation with a system message and earlier turns is answered."""
        messages = [
            ChatMessage(role=MessageRole.SYSTEM, content="You are terse. Answer in a few words."),
            ChatMessage(role=MessageRole.USER, content="My name is Ada."),
            ChatMessage(role=MessageRole.ASSISTANT, content="Nice to meet you, Ada."),
            ChatMessage(role=MessageRole.USER, content="What is my name?"),
        ]
        _assert_answer(llm.chat(messages))

    def test_usage(self, llm: LLM) -> None:
        """LlamaIndex's token counting reads the usage of a chat response."""
        if not self.has_usage:
            pytest.skip("the model reports no usage")
        response = llm.chat([ChatMessage(role=MessageRole.USER, content=self.chat_prompt)])
        prompt_tokens, completion_tokens = get_tokens_from_response(response)
        assert prompt_tokens > 0
        assert completion_tokens > 0

    def test_image_input(self, llm: LLM) -> None:
        """A user message with an image block is answered."""
        if not self.has_image_input:
            pytest.skip("the model takes no image input")
        message = ChatMessage(
            role=MessageRole.USER,
            blocks=[
                TextBlock(text="What colour is this image? Answer in one word."),
                ImageBlock(image=PNG_1X1, image_mimetype="image/png"),
            ],
        )
        _assert_answer(llm.chat([message]))

    # -- tool calling -----------------------------------------------------------------

    def test_chat_with_tools(self, llm: LLM, add_tool: FunctionTool) -> None:
        """`chat_with_tools` yields a tool call whose arguments fit the tool's schema."""
        model = self._tool_llm(llm)
        response = model.chat_with_tools(
            [add_tool], user_msg=self.tool_prompt, **self._tool_kwargs()
        )
        self._assert_selection(model.get_tool_calls_from_response(response), add_tool)

    def test_achat_with_tools(self, llm: LLM, add_tool: FunctionTool) -> None:
        """`achat_with_tools` yields a tool call whose arguments fit the tool's schema."""
        model = self._tool_llm(llm)
        response = _run(
            model.achat_with_tools([add_tool], user_msg=self.tool_prompt, **self._tool_kwargs())
        )
        self._assert_selection(model.get_tool_calls_from_response(response), add_tool)

    def test_stream_chat_with_tools(self, llm: LLM, add_tool: FunctionTool) -> None:
        """The last response of `stream_chat_with_tools` holds the complete tool call."""
        model = self._tool_llm(llm)
        self._skip_without_streaming()
        stream = model.stream_chat_with_tools(
            [add_tool], user_msg=self.tool_prompt, **self._tool_kwargs()
        )
        responses = list(stream)
        assert responses
        self._assert_selection(model.get_tool_calls_from_response(responses[-1]), add_tool)

    def test_astream_chat_with_tools(self, llm: LLM, add_tool: FunctionTool) -> None:
        """The last response of `astream_chat_with_tools` holds the complete tool call."""
        model = self._tool_llm(llm)
        self._skip_without_streaming()

        async def collect() -> list[ChatResponse]:
            stream = await model.astream_chat_with_tools(
                [add_tool], user_msg=self.tool_prompt, **self._tool_kwargs()
            )
            return [response async for response in stream]

        responses = _run(collect())
        assert responses
        self._assert_selection(model.get_tool_calls_from_response(responses[-1]), add_tool)

    def test_predict_and_call(self, llm: LLM, add_tool: FunctionTool) -> None:
        """`predict_and_call` runs the tool and returns its output."""
        model = self._tool_llm(llm)
        response = model.predict_and_call(
            [add_tool], user_msg=self.tool_prompt, **self._tool_kwargs()
        )
        self._assert_tool_ran(response.response, response.sources)

    def test_apredict_and_call(self, llm: LLM, add_tool: FunctionTool) -> None:
        """`apredict_and_call` runs the tool and returns its output."""
        model = self._tool_llm(llm)
        response = _run(
            model.apredict_and_call([add_tool], user_msg=self.tool_prompt, **self._tool_kwargs())
        )
        self._assert_tool_ran(response.response, response.sources)

    @staticmethod
    def _assert_tool_ran(answer: str, sources: Sequence[Any]) -> None:
        """Check that `add` ran on the model's arguments and its output is the answer."""
        assert len(sources) == 1
        output = sources[0]
        assert not output.is_error, output.content
        assert output.raw_output == add(**output.raw_input["kwargs"])
        assert answer == str(output.raw_output)

    def test_tool_result_follow_up(self, llm: LLM, add_tool: FunctionTool) -> None:
        """After a tool result the model answers in text."""
        model = self._tool_llm(llm)
        first = model.chat_with_tools([add_tool], user_msg=self.tool_prompt, **self._tool_kwargs())
        selection = model.get_tool_calls_from_response(first)[0]
        history = self._tool_turn(self.tool_prompt, first, selection, add_tool)
        _assert_answer(model.chat_with_tools([add_tool], chat_history=history))

    def test_atool_result_follow_up(self, llm: LLM, add_tool: FunctionTool) -> None:
        """After a tool result the model answers in text (async)."""
        model = self._tool_llm(llm)

        async def converse() -> ChatResponse:
            first = await model.achat_with_tools(
                [add_tool], user_msg=self.tool_prompt, **self._tool_kwargs()
            )
            selection = model.get_tool_calls_from_response(first)[0]
            history = self._tool_turn(self.tool_prompt, first, selection, add_tool)
            return await model.achat_with_tools([add_tool], chat_history=history)

        _assert_answer(_run(converse()))

    # -- agents -----------------------------------------------------------------------

    @pytest.mark.filterwarnings("ignore::DeprecationWarning:inspect")
    def test_function_agent(self, llm: LLM, add_tool: FunctionTool) -> None:
        """A `FunctionAgent` calls the tool, reads its result and answers."""
        model = self._tool_llm(llm)
        if not self.has_agent:
            pytest.skip("the agent test is switched off")
        from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult

        async def run_agent() -> tuple[AgentOutput, list[ToolCallResult]]:
            agent = FunctionAgent(
                tools=[add_tool],
                llm=model,
                system_prompt="You are a calculator. Always use the add tool to add numbers.",
            )
            handler = agent.run(user_msg=self.tool_prompt)
            calls = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
            output: AgentOutput = await handler
            return output, calls

        output, calls = _run(run_agent())
        assert calls, "the agent called no tool"
        assert calls[0].tool_name == add_tool.metadata.name
        assert not calls[0].tool_output.is_error, calls[0].tool_output.content
        assert calls[0].tool_output.raw_output == add(**calls[0].tool_kwargs)
        assert isinstance(output.response.content, str)
        assert output.response.content.strip(), "the agent's answer is empty"
