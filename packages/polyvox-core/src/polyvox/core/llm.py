"""The chat-model → text-completion adapter: any `BaseChatModel` as a LangChain `LLM`.

`ChatModelLLM` turns a chat model into a plain "text in, text out" LangChain `LLM`:
the prompt becomes a single `HumanMessage`, the answer's text is the completion. Every
call is delegated natively (`invoke`/`ainvoke`/`stream`/`astream`/`batch`/`abatch`), the
run manager's child callbacks are passed down so tracing and cost handlers see the inner
chat-model call, and the chat model's `response_metadata` and `usage_metadata` surface in
the `LLMResult`.

Provider packages subclass it and set `chat_model_class`, so that
`OpenAILLM(model="gpt-4o-mini", api_key=...)` builds the chat model from its keyword
arguments.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self

from langchain_core.callbacks import (
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.llms import LLM
from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage
from langchain_core.messages.ai import UsageMetadata, add_usage
from langchain_core.outputs import Generation, GenerationChunk, LLMResult
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from pydantic import ConfigDict, Field, model_validator

from polyvox.core.langchain_internals import (
    child_callback_manager,
    identifying_params,
    llm_type,
    ls_params,
    refuse_bytes,
)
from polyvox.core.wrapping import build_wrapped

__all__ = ["ChatModelLLM", "as_llm"]


def _generation_info(message: BaseMessage | None) -> dict[str, Any]:
    """Build a generation's `generation_info` from a chat model's answer.

    Args:
        message: The chat model's final (or aggregated streamed) message.

    Returns:
        The message's `response_metadata` and `usage_metadata` (the latter `None` when
        the model reported no usage), plus `finish_reason` when the model gave one.
    """
    if message is None:
        return {"response_metadata": {}, "usage_metadata": None}
    response_metadata = dict(message.response_metadata)
    usage = getattr(message, "usage_metadata", None)
    info: dict[str, Any] = {
        "response_metadata": response_metadata,
        "usage_metadata": dict(usage) if usage else None,
    }
    if "finish_reason" in response_metadata:
        info["finish_reason"] = response_metadata["finish_reason"]
    return info


def _llm_output(messages: Sequence[BaseMessage]) -> dict[str, Any]:
    """Summarise the answers of one `generate` call for `LLMResult.llm_output`.

    Args:
        messages: The chat model's answers, one per prompt.

    Returns:
        The summed `usage_metadata`, the same counts under the conventional
        `token_usage` keys, the `model_name` and, for a single prompt, the answer's
        `response_metadata`.
    """
    usage: UsageMetadata | None = None
    for message in messages:
        message_usage = getattr(message, "usage_metadata", None)
        if message_usage:
            usage = add_usage(usage, message_usage)
    output: dict[str, Any] = {"usage_metadata": dict(usage) if usage else None}
    if usage:
        output["token_usage"] = {
            "prompt_tokens": usage["input_tokens"],
            "completion_tokens": usage["output_tokens"],
            "total_tokens": usage["total_tokens"],
        }
    for message in messages:
        model_name = message.response_metadata.get("model_name")
        if model_name:
            output["model_name"] = model_name
            break
    if len(messages) == 1:
        output["response_metadata"] = dict(messages[0].response_metadata)
    return output


def _child_config(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
) -> RunnableConfig:
    """Build the config that makes the inner chat-model call a child of the LLM run.

    LLM run managers have no `get_child()` (only chain/tool runs do), so the child
    manager is built the same way `ParentRunManager.get_child()` builds it: the run's
    inheritable handlers, tags and metadata, with the LLM run as the parent.

    Args:
        run_manager: The LLM run's callback manager, if any.

    Returns:
        A `RunnableConfig` carrying the child callback manager.
    """
    if run_manager is None:
        return RunnableConfig()
    child = child_callback_manager(
        run_manager.run_id,
        run_manager.inheritable_handlers,
        run_manager.inheritable_tags,
        run_manager.inheritable_metadata,
        asynchronous=isinstance(run_manager, AsyncCallbackManagerForLLMRun),
    )
    return RunnableConfig(callbacks=child)


_RUN_MANAGERS = "_polyvox_run_managers"
"""Keyword through which `_generate_helper` hands `_generate` every prompt's run manager."""


def _configs(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
    run_managers: Sequence[CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun] | None,
    count: int,
) -> list[RunnableConfig]:
    """One child config per prompt: each chat call nests under its own prompt's LLM run."""
    if run_managers is not None and len(run_managers) == count:
        return [_child_config(manager) for manager in run_managers]
    return [_child_config(run_manager)] * count


def _missing_chat_model() -> BaseChatModel:
    """Fail for a `ChatModelLLM` built without a chat model (and no `chat_model_class`).

    Raises:
        ValueError: Always.
    """
    msg = "ChatModelLLM needs a chat_model (or a subclass with chat_model_class set)"
    raise ValueError(msg)


class ChatModelLLM(LLM):
    """A LangChain `LLM` (text in, text out) backed by any `BaseChatModel`.

    The prompt is sent to the wrapped chat model as one `HumanMessage`; the answer's text
    is the completion. Sync, async and streaming calls all delegate natively, and the
    chat model's call is traced as a child run of the LLM run.

    Subclasses may set `chat_model_class`; then keyword arguments that are not LLM-level
    fields (`callbacks`, `tags`, `metadata`, `cache`, `verbose`, `name`, ...) build the
    chat model, so unknown parameters are rejected by the chat model itself.

    Example:
        ```python
        llm = ChatModelLLM(chat_model=ChatOpenAI(model="gpt-4o-mini"))
        chain = PromptTemplate.from_template("Say {x}") | llm | StrOutputParser()
        ```
    """

    chat_model: BaseChatModel = Field(default_factory=_missing_chat_model)
    """The chat model every call is delegated to.

    Required unless the class sets `chat_model_class`; the factory, which only raises, lets
    type checkers accept `SubclassLLM(model=..., api_key=...)`.
    """

    chat_model_class: ClassVar[type[BaseChatModel] | None] = None
    """Chat model class built from the constructor's keyword arguments, when set."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        refuse_bytes(model_input)  # langchain-core would say "Unsupported message type: int"
        return super()._convert_input(model_input)

    def __init__(self, chat_model: BaseChatModel | None = None, /, **kwargs: Any) -> None:
        """Create the adapter.

        Args:
            chat_model: The chat model to wrap; may also be given as `chat_model=`.
            **kwargs: LLM-level fields and, when `chat_model_class` is set, the chat
                model's own parameters.
        """
        if chat_model is not None:
            kwargs["chat_model"] = chat_model
        super().__init__(**kwargs)

    @model_validator(mode="before")
    @classmethod
    def _build_chat_model(cls, data: Any) -> Any:
        """Build `chat_model` from `chat_model_class`; reject unknown keyword arguments.

        Unknown keys are rejected here rather than through `extra="forbid"`, which would
        make the pydantic mypy plugin refuse `OpenAILLM(model=..., api_key=...)`.
        """
        return build_wrapped(cls, data, field="chat_model", wrapped_class=cls.chat_model_class)

    @property
    def _llm_type(self) -> str:
        """The wrapped chat model's type, marked as a text LLM (``...-chat-llm``)."""
        return f"{llm_type(self.chat_model)}-llm"

    @property
    def _identifying_params(self) -> Mapping[str, Any]:
        """The wrapped chat model's identifying parameters."""
        return dict(identifying_params(self.chat_model))

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        """Tracing parameters of the wrapped chat model, marked as an `llm` run."""
        params = ls_params(self.chat_model, stop, **kwargs)
        params["ls_model_type"] = "llm"
        return params

    def get_token_ids(self, text: str) -> list[int]:
        """Tokenize text with the wrapped chat model's tokenizer.

        Args:
            text: The text to tokenize.

        Returns:
            The token ids.
        """
        if self.custom_get_token_ids is not None:
            return self.custom_get_token_ids(text)
        return self.chat_model.get_token_ids(text)

    # -- resources ----------------------------------------------------------------------

    def close(self) -> None:
        """Close the wrapped chat model (when it can be closed, as polyvox models can)."""
        close = getattr(self.chat_model, "close", None)
        if callable(close):
            close()

    async def aclose(self) -> None:
        """Close the wrapped chat model asynchronously (or with its ``close()``)."""
        aclose = getattr(self.chat_model, "aclose", None)
        if callable(aclose):
            await aclose()
        else:
            self.close()

    def __enter__(self) -> Self:
        """Use the adapter in a ``with`` block, which closes the chat model at the end."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the chat model (:meth:`close`)."""
        self.close()

    async def __aenter__(self) -> Self:
        """Use the adapter in an ``async with`` block, which closes the chat model at the end."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the chat model (:meth:`aclose`)."""
        await self.aclose()

    def get_num_tokens(self, text: str) -> int:
        """Count the tokens of a text as the wrapped chat model counts them.

        Args:
            text: The text.

        Returns:
            The count (the chat model's estimate where it has no tokenizer).
        """
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return self.chat_model.get_num_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Count the prompt tokens of a conversation as the wrapped chat model counts them.

        Args:
            messages: The conversation.
            tools: Tools offered with it.

        Returns:
            The count.
        """
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens_from_messages(messages, tools)
        return self.chat_model.get_num_tokens_from_messages(messages, tools)

    # -- batching -----------------------------------------------------------------------

    def batch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[str]:
        """Answer several prompts concurrently, one LLM run (and chat-model child) each.

        `BaseLLM.batch` makes one `generate` call whose `_generate` only sees the first
        prompt's run manager; invoking per input keeps every inner chat-model call under
        its own prompt's run.
        """
        return Runnable.batch(self, inputs, config, return_exceptions=return_exceptions, **kwargs)

    async def abatch(
        self,
        inputs: list[LanguageModelInput],
        config: RunnableConfig | list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[str]:
        """Answer several prompts concurrently with `ainvoke`, one LLM run each."""
        return await Runnable.abatch(
            self, inputs, config, return_exceptions=return_exceptions, **kwargs
        )

    # -- generation ---------------------------------------------------------------------

    def _generate_helper(
        self,
        prompts: list[str],
        stop: list[str] | None,
        run_managers: list[CallbackManagerForLLMRun],
        *,
        new_arg_supported: bool,
        **kwargs: Any,
    ) -> LLMResult:
        """LangChain's helper, handing `_generate` every prompt's run manager.

        `BaseLLM` opens one run per prompt but passes only the first run manager on, which
        would nest every prompt's chat call (and its cost) under the first prompt's run.
        """
        if len(run_managers) > 1:
            kwargs[_RUN_MANAGERS] = run_managers
        return super()._generate_helper(
            prompts, stop, run_managers, new_arg_supported=new_arg_supported, **kwargs
        )

    async def _agenerate_helper(
        self,
        prompts: list[str],
        stop: list[str] | None,
        run_managers: list[AsyncCallbackManagerForLLMRun],
        *,
        new_arg_supported: bool,
        **kwargs: Any,
    ) -> LLMResult:
        """LangChain's async helper, handing `_agenerate` every prompt's run manager."""
        if len(run_managers) > 1:
            kwargs[_RUN_MANAGERS] = run_managers
        return await super()._agenerate_helper(
            prompts, stop, run_managers, new_arg_supported=new_arg_supported, **kwargs
        )

    def _generate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Answer each prompt with one chat-model call (a batch for several prompts)."""
        configs = _configs(run_manager, kwargs.pop(_RUN_MANAGERS, None), len(prompts))
        inputs: list[LanguageModelInput] = [[HumanMessage(content=prompt)] for prompt in prompts]
        messages: Sequence[BaseMessage]
        if len(inputs) == 1:
            messages = [self.chat_model.invoke(inputs[0], config=configs[0], stop=stop, **kwargs)]
        else:
            messages = self.chat_model.batch(inputs, config=configs, stop=stop, **kwargs)
        return self._to_llm_result(messages)

    async def _agenerate(
        self,
        prompts: list[str],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> LLMResult:
        """Answer each prompt natively async (`ainvoke`, or `abatch` for several)."""
        configs = _configs(run_manager, kwargs.pop(_RUN_MANAGERS, None), len(prompts))
        inputs: list[LanguageModelInput] = [[HumanMessage(content=prompt)] for prompt in prompts]
        messages: Sequence[BaseMessage]
        if len(inputs) == 1:
            message = await self.chat_model.ainvoke(
                inputs[0], config=configs[0], stop=stop, **kwargs
            )
            messages = [message]
        else:
            messages = await self.chat_model.abatch(inputs, config=configs, stop=stop, **kwargs)
        return self._to_llm_result(messages)

    @staticmethod
    def _to_llm_result(messages: Sequence[BaseMessage]) -> LLMResult:
        """Turn the chat model's answers into an `LLMResult`."""
        generations = [
            [Generation(text=str(message.text), generation_info=_generation_info(message))]
            for message in messages
        ]
        return LLMResult(generations=generations, llm_output=_llm_output(messages))

    def _call(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer one prompt with the chat model's `invoke`."""
        result = self._generate([prompt], stop=stop, run_manager=run_manager, **kwargs)
        return result.generations[0][0].text

    async def _acall(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> str:
        """Answer one prompt with the chat model's `ainvoke`."""
        result = await self._agenerate([prompt], stop=stop, run_manager=run_manager, **kwargs)
        return result.generations[0][0].text

    def _stream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[GenerationChunk]:
        """Stream the chat model's answer as text chunks.

        A last, empty chunk carries the aggregated `response_metadata` and
        `usage_metadata` in its `generation_info`.
        """
        config = _child_config(run_manager)
        aggregate: AIMessageChunk | None = None
        stream = self.chat_model.stream(
            [HumanMessage(content=prompt)], config=config, stop=stop, **kwargs
        )
        for message_chunk in stream:
            aggregate = message_chunk if aggregate is None else aggregate + message_chunk
            text = str(message_chunk.text)
            if text:
                chunk = GenerationChunk(text=text)
                if run_manager is not None:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        yield GenerationChunk(text="", generation_info=_generation_info(aggregate))

    async def _astream(
        self,
        prompt: str,
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[GenerationChunk]:
        """Stream the chat model's answer natively async (see `_stream`)."""
        config = _child_config(run_manager)
        aggregate: AIMessageChunk | None = None
        stream = self.chat_model.astream(
            [HumanMessage(content=prompt)], config=config, stop=stop, **kwargs
        )
        async for message_chunk in stream:
            aggregate = message_chunk if aggregate is None else aggregate + message_chunk
            text = str(message_chunk.text)
            if text:
                chunk = GenerationChunk(text=text)
                if run_manager is not None:
                    await run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
        yield GenerationChunk(text="", generation_info=_generation_info(aggregate))


def as_llm(chat_model: BaseChatModel) -> ChatModelLLM:
    """Wrap a chat model as a LangChain text-completion `LLM`.

    Args:
        chat_model: Any LangChain chat model.

    Returns:
        A `ChatModelLLM` delegating every call to `chat_model`.
    """
    return ChatModelLLM(chat_model=chat_model)
