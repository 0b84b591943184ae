"""The bridge from any LangChain chat model to a LlamaIndex `FunctionCallingLLM`.

`LangChainLLM` wraps a `BaseChatModel` so it drops into LlamaIndex query engines, chat
engines and agents (`FunctionAgent` included): all eight chat/complete methods delegate to
the chat model (the async ones natively through `ainvoke`/`astream`), tools are bound with
the chat model's own `bind_tools`, and usage reaches LlamaIndex token counting through
`ChatResponse.raw["usage_metadata"]` and `additional_kwargs`.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.load import dumpd, load
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import Runnable
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, field_serializer, model_validator
from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW, DEFAULT_NUM_OUTPUTS
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection

from polyvox.core.langchain_internals import (
    LangChainBetaWarning,
    identifying_params,
    llm_type,
)
from polyvox.core.llamaindex.messages import to_langchain_messages, tool_calls_of
from polyvox.core.llamaindex.responses import as_chunk, chat_response, completion_response
from polyvox.core.wrapping import build_wrapped

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

__all__ = ["LangChainLLM", "to_llamaindex"]

_F = TypeVar("_F", bound=Callable[..., Any])
_ChatRunnable = Runnable[LanguageModelInput, AIMessage]


def _chat_callback(method: _F) -> _F:
    """Apply LlamaIndex's chat instrumentation (events, callbacks) keeping the signature."""
    return cast("_F", llm_chat_callback()(method))


def _completion_callback(method: _F) -> _F:
    """Apply LlamaIndex's completion instrumentation keeping the signature."""
    return cast("_F", llm_completion_callback()(method))


def _prompt_message(prompt: str) -> list[ChatMessage]:
    """The single user message a completion prompt becomes."""
    return [ChatMessage(role=MessageRole.USER, content=prompt)]


def _restore_chat_model(dumped: dict[str, Any], cls: type[LangChainLLM]) -> BaseChatModel:
    """Rebuild a chat model from ``to_dict()`` output; secrets come from the environment."""
    allowed = cls.chat_model_class
    if allowed is None:
        msg = (
            f"{cls.__name__}.from_dict cannot rebuild a chat model it does not know; "
            "pass chat_model=<model> instead, or use a provider class such as "
            "polyvox.openai.llamaindex.OpenAI"
        )
        raise ValueError(msg)
    with warnings.catch_warnings():  # `load` is marked beta; its behaviour is what we need
        warnings.simplefilter("ignore", LangChainBetaWarning)
        model = load(
            dumped, allowed_objects=[allowed], valid_namespaces=["polyvox"], secrets_from_env=True
        )
    if not isinstance(model, BaseChatModel):
        msg = f"expected a chat model in {cls.__name__}.from_dict, got {type(model).__name__}"
        raise TypeError(msg)
    return model


class LangChainLLM(FunctionCallingLLM):
    """A LlamaIndex function-calling LLM backed by any LangChain chat model.

    Example:
        ```python
        from llama_index.core.agent.workflow import FunctionAgent

        llm = LangChainLLM(ChatOpenAI(model="gpt-4o-mini"))
        agent = FunctionAgent(tools=[add], llm=llm)
        ```
    """

    chat_model: BaseChatModel = Field(description="The LangChain chat model to delegate to.")
    """The LangChain chat model every call is delegated to."""

    context_window: int | None = Field(
        default=None, description="Context window; read from the model profile when unset."
    )
    """Context window in tokens; `None` reads `profile["max_input_tokens"]`."""

    num_output: int | None = Field(
        default=None, description="Output budget; read from the chat model when unset."
    )
    """Output budget in tokens; `None` reads `max_tokens` or `profile["max_output_tokens"]`."""

    is_function_calling: bool | None = Field(
        default=None, description="Tool-calling support; detected when unset."
    )
    """Tool-calling support; `None` reads `profile["tool_calling"]`, else whether the chat
    model implements `bind_tools`."""

    chat_model_class: ClassVar[type[BaseChatModel] | None] = None
    """Chat model class built from the constructor's other keyword arguments, when set
    (provider packages set it: ``polyvox.openai.llamaindex.OpenAI(model=...)``)."""

    @model_validator(mode="before")
    @classmethod
    def _build_chat_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("chat_model"), dict):
            data = {**data, "chat_model": _restore_chat_model(data["chat_model"], cls)}
        return build_wrapped(cls, data, field="chat_model", wrapped_class=cls.chat_model_class)

    @field_serializer("chat_model")
    def _dump_chat_model(self, chat_model: BaseChatModel) -> dict[str, Any]:
        """LangChain's own serialisation: settings kept, secrets as references only."""
        dumped: dict[str, Any] = dumpd(chat_model)
        return dumped

    def __init__(self, chat_model: BaseChatModel | None = None, /, **kwargs: Any) -> None:
        """Wrap a chat model.

        Args:
            chat_model: The LangChain chat model; may also be given as `chat_model=`.
            **kwargs: Other fields (`context_window`, `num_output`, `callback_manager`,
                `system_prompt`, ...).
        """
        if chat_model is not None:
            kwargs["chat_model"] = chat_model
        super().__init__(**kwargs)

    @classmethod
    def class_name(cls) -> str:
        """The class name LlamaIndex uses in serialisation and traces."""
        return "LangChainLLM"

    @property
    def metadata(self) -> LLMMetadata:
        """Context window, output budget, tool calling and name, from the chat model."""
        model = self.chat_model
        profile = model.profile or {}
        context_window = self.context_window or profile.get("max_input_tokens")
        max_tokens = getattr(model, "max_tokens", None)
        num_output = self.num_output or (max_tokens if isinstance(max_tokens, int) else None)
        function_calling = self.is_function_calling
        if function_calling is None:
            function_calling = profile.get("tool_calling")
        if function_calling is None:
            function_calling = type(model).bind_tools is not BaseChatModel.bind_tools
        return LLMMetadata(
            context_window=context_window or DEFAULT_CONTEXT_WINDOW,
            num_output=num_output or profile.get("max_output_tokens") or DEFAULT_NUM_OUTPUTS,
            is_chat_model=True,
            is_function_calling_model=function_calling,
            model_name=self._model_name(),
        )

    def _model_name(self) -> str:
        """The wrapped model's name, falling back to its `_llm_type`."""
        model = self.chat_model
        params = identifying_params(model)
        for candidate in (
            getattr(model, "model_name", None),
            getattr(model, "model", None),
            params.get("model_name"),
            params.get("model"),
        ):
            if isinstance(candidate, str) and candidate:
                return candidate
        return llm_type(model)

    # -- calling the chat model -----------------------------------------------------------

    def _runnable(self, kwargs: dict[str, Any]) -> tuple[_ChatRunnable, dict[str, Any]]:
        """Bind tools when given; return the runnable and the remaining call kwargs."""
        call_kwargs = dict(kwargs)
        tools = call_kwargs.pop("tools", None)
        tool_choice = call_kwargs.pop("tool_choice", None)
        if not tools:
            return self.chat_model, call_kwargs
        if tool_choice is None:
            return self.chat_model.bind_tools(tools), call_kwargs
        return self.chat_model.bind_tools(tools, tool_choice=tool_choice), call_kwargs

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        runnable, call_kwargs = self._runnable(kwargs)
        answer = runnable.invoke(to_langchain_messages(messages), **call_kwargs)
        return chat_response(answer)

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        runnable, call_kwargs = self._runnable(kwargs)
        answer = await runnable.ainvoke(to_langchain_messages(messages), **call_kwargs)
        return chat_response(answer)

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        runnable, call_kwargs = self._runnable(kwargs)
        stream = runnable.stream(to_langchain_messages(messages), **call_kwargs)

        def gen() -> ChatResponseGen:
            aggregate: AIMessageChunk | None = None
            for piece in stream:
                chunk = as_chunk(piece)
                aggregate = chunk if aggregate is None else aggregate + chunk
                yield chat_response(aggregate, delta=str(chunk.text))

        return gen()

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        runnable, call_kwargs = self._runnable(kwargs)
        lc_messages = to_langchain_messages(messages)

        async def gen() -> ChatResponseAsyncGen:
            aggregate: AIMessageChunk | None = None
            async for piece in runnable.astream(lc_messages, **call_kwargs):
                chunk = as_chunk(piece)
                aggregate = chunk if aggregate is None else aggregate + chunk
                yield chat_response(aggregate, delta=str(chunk.text))

        return gen()

    # -- the LlamaIndex LLM interface -----------------------------------------------------

    @_chat_callback
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Answer a conversation with the chat model's `invoke`.

        Args:
            messages: The conversation.
            **kwargs: `tools`/`tool_choice` (bound via `bind_tools`), else call options.

        Returns:
            The answer, its usage in `raw["usage_metadata"]` and `additional_kwargs`.
        """
        return self._chat(messages, **kwargs)

    @_chat_callback
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Answer a conversation with the chat model's `ainvoke` (see `chat`)."""
        return await self._achat(messages, **kwargs)

    @_chat_callback
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream the answer: each response holds the text so far and the new `delta`."""
        return self._stream_chat(messages, **kwargs)

    @_chat_callback
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Stream the answer natively async with the chat model's `astream`."""
        return await self._astream_chat(messages, **kwargs)

    @_completion_callback
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete a prompt, sent as one user message.

        Args:
            prompt: The prompt.
            formatted: Accepted for interface compatibility; the prompt is sent as is.
            **kwargs: Call options for the chat model.

        Returns:
            The completion.
        """
        return completion_response(self._chat(_prompt_message(prompt), **kwargs))

    @_completion_callback
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Complete a prompt natively async (see `complete`)."""
        return completion_response(await self._achat(_prompt_message(prompt), **kwargs))

    @_completion_callback
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion: each response holds the text so far and the new `delta`."""
        stream = self._stream_chat(_prompt_message(prompt), **kwargs)
        return (completion_response(response) for response in stream)

    @_completion_callback
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Stream a completion natively async (see `stream_complete`)."""
        stream = await self._astream_chat(_prompt_message(prompt), **kwargs)

        async def gen() -> CompletionResponseAsyncGen:
            async for response in stream:
                yield completion_response(response)

        return gen()

    # -- tool calling ---------------------------------------------------------------------

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Build `chat` arguments: the messages plus OpenAI-style tool schemas to bind.

        `tool_required` becomes `tool_choice="any"` (LangChain's portable "call some
        tool"); an explicit `tool_choice` (e.g. a tool name) wins.
        """
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        tool_choice = kwargs.pop("tool_choice", None)
        if tool_choice is None and tool_required:
            tool_choice = "any"
        prepared: dict[str, Any] = {"messages": messages, **kwargs}
        specs = [tool.metadata.to_openai_tool(skip_length_check=True) for tool in tools]
        if specs:
            prepared["tools"] = specs
            if tool_choice is not None:
                prepared["tool_choice"] = tool_choice
        return prepared

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep only the first tool call unless parallel tool calls are allowed."""
        calls = response.message.additional_kwargs.get("tool_calls") or []
        if allow_parallel_tool_calls or len(calls) <= 1:
            return response
        message = response.message
        message.additional_kwargs["tool_calls"] = calls[:1]
        first_block = True
        kept = []
        for block in message.blocks:
            if isinstance(block, ToolCallBlock):
                if not first_block:
                    continue
                first_block = False
            kept.append(block)
        message.blocks = kept
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """Read the tool calls of a response as LlamaIndex `ToolSelection`s.

        Args:
            response: A response of `chat_with_tools` (or a streamed one).
            error_on_no_tool_call: Raise when the response calls no tool.
            **kwargs: Unused; part of the LlamaIndex interface.

        Returns:
            One `ToolSelection` per tool call.

        Raises:
            ValueError: When there is no tool call and `error_on_no_tool_call` is set.
        """
        calls = tool_calls_of(response.message)
        if not calls and error_on_no_tool_call:
            msg = f"Expected at least one tool call, but got none: {response.message.content!r}"
            raise ValueError(msg)
        return [
            ToolSelection(
                tool_id=call["id"] or "", tool_name=call["name"], tool_kwargs=call["args"]
            )
            for call in calls
        ]


def to_llamaindex(chat_model: BaseChatModel, **kwargs: Any) -> LangChainLLM:
    """Wrap a LangChain chat model as a LlamaIndex function-calling LLM.

    Args:
        chat_model: Any LangChain chat model.
        **kwargs: Further `LangChainLLM` fields (`context_window`, `num_output`, ...).

    Returns:
        The LlamaIndex LLM.
    """
    return LangChainLLM(chat_model, **kwargs)
