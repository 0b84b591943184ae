"""The base every polyvox chat model subclasses: standard parameters, keys, tools, profiles.

A provider subclass sets a few class variables (its provider id, key variable, default
base URL) and implements the four generation methods; everything a LangChain user relies
on beyond that — the standard constructor parameters, refusing unknown ones, reading the
key from the environment, hiding it, LangSmith parameters, ``bind_tools``,
``with_structured_output`` and the model profile — lives here once.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from langchain_core.language_models import BaseChatModel, LanguageModelInput, ModelProfile
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import AliasChoices, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.credentials import resolve_api_key, resolve_base_url
from polyvox.core.invocation import (
    ObservedCall,
    direct_astream,
    direct_callbacks,
    direct_stream,
    direct_stream_allowed,
    message_from_result,
)
from polyvox.core.keywords import STANDARD_CALL_KEYWORDS, check_call_keywords
from polyvox.core.langchain_internals import (
    convert_input,
    implements_stream,
    invocation_params,
    normalize_messages,
    refuse_bytes,
)
from polyvox.core.lifecycle import ClientsMixin
from polyvox.core.profiles import get_profile
from polyvox.core.ranges import ParameterRanges
from polyvox.core.structured import StructuredOutputMethod, build_structured_output

if TYPE_CHECKING:
    from polyvox.core.token_counting import TokenCounter

__all__ = ["PolyvoxChatModel", "ToolLike", "field_keywords", "format_tool_choice"]

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool
"""Anything ``bind_tools`` accepts: an OpenAI tool dict, a pydantic model, a function, a tool."""


def format_tool_choice(tool_choice: Any, tools: Sequence[dict[str, Any]]) -> Any:
    """Normalise LangChain's ``tool_choice`` values to the OpenAI form.

    ``"any"`` and ``True`` become ``"required"`` (``True`` with a single tool names it);
    a tool name becomes ``{"type": "function", "function": {"name": ...}}``; ``"auto"``,
    ``"none"``, ``"required"`` and dicts pass through. Providers translate from this form.

    Args:
        tool_choice: The user's choice.
        tools: The tools being bound, in OpenAI form.

    Returns:
        The OpenAI-form tool choice, or ``None``.

    Raises:
        ValueError: When a named tool is not among ``tools``.
    """
    if tool_choice is None or tool_choice is False:
        return None
    if tool_choice is True:
        if len(tools) == 1:
            return {"type": "function", "function": {"name": tools[0]["function"]["name"]}}
        return "required"
    if isinstance(tool_choice, dict):
        return tool_choice
    if tool_choice == "any":
        return "required"
    if tool_choice in ("auto", "none", "required"):
        return tool_choice
    names = [t["function"]["name"] for t in tools if "function" in t]
    if tool_choice not in names:
        msg = f"tool_choice={tool_choice!r} names no bound tool; bound tools are {names}"
        raise ValueError(msg)
    return {"type": "function", "function": {"name": tool_choice}}


@functools.cache
def field_keywords(cls: type[BaseChatModel]) -> frozenset[str]:
    """A model class's field names and their validation aliases.

    Args:
        cls: The class.

    Returns:
        The names.
    """
    names: set[str] = set()
    for name, info in cls.model_fields.items():
        names.add(name)
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        if isinstance(info.alias, str):
            names.add(info.alias)
    return frozenset(names)


@functools.cache
def _known_keywords(cls: type[BaseChatModel], api: frozenset[str]) -> frozenset[str]:
    """One shared set per class and API (its hash, computed once, makes lookups cheap)."""
    return field_keywords(cls) | STANDARD_CALL_KEYWORDS | api


class PolyvoxChatModel(ClientsMixin, BaseChatModel):
    """Base class of every polyvox chat model.

    Subclasses set :attr:`provider`, :attr:`api_key_env` and friends, and implement
    ``_generate``, ``_agenerate``, ``_stream`` and ``_astream`` natively. Their SDK clients
    are shared with the models of the same settings; ``close()``, ``aclose()``, ``with``
    and ``async with`` give them back, and copies and pickles leave them out
    (:mod:`polyvox.core.lifecycle`).
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, protected_namespaces=())

    provider: ClassVar[str] = ""
    """The provider id written to ``response_metadata["model_provider"]`` and traces."""

    api_key_env: ClassVar[str | None] = None
    """Environment variable the API key is read from when ``api_key`` is not given."""

    base_url_env: ClassVar[str | None] = None
    """Environment variable the base URL is read from when ``base_url`` is not given."""

    default_base_url: ClassVar[str | None] = None
    """Base URL used when neither ``base_url`` nor :attr:`base_url_env` gives one."""

    requires_api_key: ClassVar[bool] = True
    """Whether a missing key is an error at construction (local servers need none)."""

    is_local: ClassVar[bool] = False
    """Whether the model runs on the user's own machine or network (Ollama, llama.cpp,
    vLLM): the router sends sensitive data only to local models, and local calls cost 0."""

    default_structured_output_method: ClassVar[StructuredOutputMethod] = "json_schema"
    """The ``method`` :meth:`with_structured_output` uses when none is given."""

    call_keywords: ClassVar[frozenset[str]] = frozenset()
    """Parameters of the provider's API a call may pass besides the model's own fields (a
    near miss of any known keyword is refused, see :mod:`polyvox.core.keywords`)."""

    parameter_ranges: ClassVar[ParameterRanges | None] = None
    """The ranges the provider documents for its parameters (see :mod:`polyvox.core.ranges`):
    checked on the model's fields at construction and on every call's keywords."""

    model: str = Field(validation_alias=AliasChoices("model", "model_name"))
    """The model id, as the provider names it."""

    temperature: float | None = None
    """Sampling temperature; ``None`` leaves the provider's default."""

    max_tokens: int | None = Field(
        default=None, validation_alias=AliasChoices("max_tokens", "max_completion_tokens")
    )
    """Most tokens to generate; ``None`` leaves the provider's default."""

    timeout: float | None = Field(
        default=None, validation_alias=AliasChoices("timeout", "request_timeout")
    )
    """Seconds to wait for a response before raising a timeout error."""

    max_retries: int = 2
    """Retries (with the SDK's backoff, honouring ``Retry-After``) on retryable failures."""

    stop: list[str] | None = Field(
        default=None, validation_alias=AliasChoices("stop", "stop_sequences")
    )
    """Sequences at which generation stops; a call's ``stop`` replaces these."""

    api_key: SecretStr | None = None
    """The API key; read from :attr:`api_key_env` when not given. Never shown."""

    streaming: bool = False
    """Stream internally even for ``invoke`` (callbacks then see every token)."""

    base_url: str | None = None
    """The server's base URL; read from :attr:`base_url_env` or the default when not given."""

    _held: Any = PrivateAttr(default=None)  # this model's shares of the SDK clients

    @model_validator(mode="after")
    def _resolve_key_and_url(self) -> Self:
        cls = type(self)
        self.api_key = resolve_api_key(
            self.api_key, env=cls.api_key_env, required=cls.requires_api_key, owner=cls.__name__
        )
        self.base_url = resolve_base_url(
            self.base_url, env=cls.base_url_env, default=cls.default_base_url
        )
        if self.max_retries < 0:
            msg = f"max_retries must be 0 or more, got {self.max_retries}"
            raise ValueError(msg)
        if (ranges := self._parameter_ranges()) is not None:
            fields = type(self).model_fields
            ranges.check({name: getattr(self, name) for name in ranges.ranges if name in fields})
            for extra in self._configured_parameters():
                ranges.check(extra)
        return self

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Constructor arguments that are secrets, and the variables holding them."""
        return {"api_key": type(self).api_key_env or "API_KEY"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Polyvox chat models serialise with ``dumpd`` (secrets replaced by their ids)."""
        return True

    @property
    def _llm_type(self) -> str:
        return f"polyvox-{type(self).provider}-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stop": self.stop,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        model = kwargs.get("model")
        params = LangSmithParams(
            ls_provider=type(self).provider,
            ls_model_name=model if isinstance(model, str) else self.model,
            ls_model_type="chat",
            ls_integration="polyvox",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop := self._resolve_stop(stop):
            params["ls_stop"] = stop
        return params

    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Call the model (see :mod:`polyvox.core.invocation` for the direct path)."""
        config = ensure_config(config)
        callbacks = direct_callbacks(self, config, kwargs)
        if callbacks is None:
            return super().invoke(input, config, stop=stop, **kwargs)
        self._check_call_keywords(kwargs)
        messages = convert_input(self, input).to_messages()
        if not callbacks.handlers:
            result = self._generate(normalize_messages(messages), stop=stop, **kwargs)
            return message_from_result(result)
        call = ObservedCall(self, callbacks, messages, config, stop, kwargs)
        normalized = normalize_messages(messages)
        try:
            result = self._generate(normalized, stop=stop, **kwargs)
        except BaseException as exc:  # as BaseChatModel.generate: interrupts are reported too
            call.failed(exc)
            raise
        return call.finished(result)

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Call the model asynchronously (see :mod:`polyvox.core.invocation`)."""
        config = ensure_config(config)
        callbacks = direct_callbacks(self, config, kwargs)
        if callbacks is None:
            return await super().ainvoke(input, config, stop=stop, **kwargs)
        self._check_call_keywords(kwargs)
        messages = convert_input(self, input).to_messages()
        if not callbacks.handlers:
            result = await self._agenerate(normalize_messages(messages), stop=stop, **kwargs)
            return message_from_result(result)
        call = ObservedCall(self, callbacks, messages, config, stop, kwargs)
        normalized = normalize_messages(messages)
        try:
            result = await self._agenerate(normalized, stop=stop, **kwargs)
        except Exception as exc:
            # as BaseChatModel.agenerate, whose gather() reports failures but not the
            # cancellation of the call itself (a timeout): that leaves no end event there
            call.failed(exc)
            raise
        return call.finished(result)

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream the answer (see :mod:`polyvox.core.invocation` for the direct path)."""
        config = ensure_config(config)
        native = implements_stream(self, async_api=False)
        if not direct_stream_allowed(self, config, kwargs, native=native):
            yield from super().stream(input, config, stop=stop, **kwargs)
            return
        self._check_call_keywords(kwargs)
        messages = normalize_messages(convert_input(self, input).to_messages())
        yield from direct_stream(self._stream(messages, stop=stop, **kwargs))

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Stream the answer asynchronously (see :mod:`polyvox.core.invocation`)."""
        config = ensure_config(config)
        native = implements_stream(self, async_api=True)
        if not direct_stream_allowed(self, config, kwargs, native=native):
            async for chunk in super().astream(input, config, stop=stop, **kwargs):
                yield chunk
            return
        self._check_call_keywords(kwargs)
        messages = normalize_messages(convert_input(self, input).to_messages())
        async for chunk in direct_astream(self._astream(messages, stop=stop, **kwargs)):
            yield chunk

    def _convert_input(self, model_input: LanguageModelInput) -> PromptValue:
        refuse_bytes(model_input)  # langchain-core would say "Unsupported message type: int"
        return super()._convert_input(model_input)

    def _get_invocation_params(
        self, stop: list[str] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        # Every LangChain path (generate, stream, batch) asks for these before the call.
        self._check_call_keywords(kwargs)
        return invocation_params(self, stop, **kwargs)

    def known_call_keywords(self) -> frozenset[str]:
        """Every keyword a call to this model understands.

        The model's fields (and their aliases), the keywords every chat model takes
        (``stop``, ``tools``, ``response_format``...) and its API's parameters
        (:meth:`_api_keywords`).
        """
        return _known_keywords(type(self), self._api_keywords())

    def _api_keywords(self) -> frozenset[str]:
        """The provider API's parameters a call may pass (override to read the SDK's)."""
        return type(self).call_keywords

    def _check_call_keywords(self, kwargs: dict[str, Any]) -> None:
        if kwargs:
            check_call_keywords(type(self).__name__, kwargs, self.known_call_keywords())

    def _parameter_ranges(self) -> ParameterRanges | None:
        """The table this model's parameters are checked against (override to pick by server)."""
        return type(self).parameter_ranges

    def _configured_parameters(self) -> Iterable[Mapping[str, Any]]:
        """Request parameters set outside the model's fields (``model_kwargs``, ``options``).

        They are checked against the ranges at construction too.
        """
        return ()

    def _check_ranges(self, values: Mapping[str, Any]) -> None:
        """Refuse a parameter outside the range its provider documents (nothing is sent).

        Args:
            values: Call keywords, bound keywords or extra request fields.

        Raises:
            ParameterRangeError: For a value of the wrong type or out of range.
        """
        if values and (ranges := self._parameter_ranges()) is not None:
            ranges.check(values)

    def _resolve_model_profile(self) -> ModelProfile | None:
        return get_profile(type(self).provider, self.model)

    # ---- token counting (see polyvox.core.token_counting) -------------------------------

    def _token_counter(self) -> TokenCounter:
        """This model's tokenizer (override with the provider's); the estimate by default."""
        from polyvox.core.token_counting import EstimateCounter

        return EstimateCounter(f"{type(self).__name__} has no tokenizer polyvox can run")

    def _counter(self) -> TokenCounter:
        if self.custom_get_token_ids is not None:
            from polyvox.core.token_counting import IdsCounter

            return IdsCounter(self.custom_get_token_ids)
        return self._token_counter()

    def get_token_ids(self, text: str) -> list[int]:
        """Tokenize text with the model's tokenizer.

        Args:
            text: The text.

        Returns:
            The token ids, in order.

        Raises:
            TokenizerUnavailableError: When no tokenizer for the model can be had
                (counting still works: :meth:`get_num_tokens` estimates).
        """
        ids = self._counter().encode(text)
        if ids is None:
            from polyvox.core.token_counting import TokenizerUnavailableError

            msg = (
                f"{type(self).__name__} has no tokenizer for {self.model!r} here, so it has "
                "no token ids; get_num_tokens() estimates the count instead"
            )
            raise TokenizerUnavailableError(msg)
        return ids

    def get_num_tokens(self, text: str) -> int:
        """Count the tokens of a text: exact with the model's tokenizer, else estimated.

        Args:
            text: The text.

        Returns:
            The count (an estimate, with a warning once, where no tokenizer can be had).
        """
        return self._counter().count([text]) if text else 0

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[Any] | None = None,
    ) -> int:
        """Count the prompt tokens of a conversation, framing and tools included.

        This is what ``trim_messages(..., token_counter=model)`` calls. The counting rules
        are OpenAI's for its chat models (:mod:`polyvox.core.token_counting`).

        Args:
            messages: The conversation.
            tools: Tools offered with it (anything ``bind_tools`` accepts).

        Returns:
            The count (an estimate, with a warning once, where no tokenizer can be had).
        """
        from polyvox.core.openai_format import to_openai_messages
        from polyvox.core.token_counting import count_openai_messages

        specs = [convert_to_openai_tool(tool) for tool in tools or ()]
        return count_openai_messages(to_openai_messages(messages), self._counter(), specs)

    def _resolve_stop(self, stop: list[str] | None) -> list[str] | None:
        """The stop sequences of a call: the call's own, else the model's."""
        return stop if stop is not None else self.stop

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (functions, pydantic models, LangChain tools or OpenAI dicts).

        Args:
            tools: The tools the model may call.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (must
                call one), or a tool's name (must call that one).
            strict: Ask the provider to enforce the tools' schemas exactly, where it can.
            parallel_tool_calls: Allow several tool calls in one answer (provider default
                when ``None``).
            **kwargs: Further call parameters to bind.

        Returns:
            A runnable that calls the model with the tools.
        """
        self._check_ranges(kwargs)  # refused here rather than at the first call
        formatted = [convert_to_openai_tool(t, strict=strict) for t in tools]
        choice = format_tool_choice(tool_choice, formatted)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        include_raw: bool = False,
        method: StructuredOutputMethod | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | Any]:
        """Return a runnable whose output follows ``schema``.

        Args:
            schema: A pydantic model (v1 or v2), a TypedDict, a JSON schema or an OpenAI
                tool dict.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising
                on a parsing failure.
            method: ``"json_schema"`` (the provider's native structured output),
                ``"function_calling"`` (a forced tool call) or ``"json_mode"`` (JSON object
                mode; describe the schema in the prompt). Defaults to the provider's best.
            strict: Ask the provider to enforce the schema exactly, where it can.
            **kwargs: Not accepted; present for signature compatibility.

        Returns:
            The structured-output runnable.

        Raises:
            ValueError: For unknown keyword arguments or an unsupported method.
        """
        if kwargs:
            msg = f"with_structured_output got unsupported arguments {sorted(kwargs)}"
            raise ValueError(msg)
        return build_structured_output(
            self,
            schema,
            method=method or type(self).default_structured_output_method,
            include_raw=include_raw,
            strict=strict,
            native_kwargs=self._structured_output_kwargs,
        )

    def _structured_output_kwargs(
        self,
        method: Literal["json_schema", "json_mode"],
        json_schema: dict[str, Any],
        name: str,
        strict: bool | None,
    ) -> dict[str, Any]:
        """Call parameters that make the provider answer in JSON (following a schema).

        The default is OpenAI's ``response_format``; providers with another wire form
        override this.

        Args:
            method: ``"json_schema"`` or ``"json_mode"``.
            json_schema: The JSON schema of the output.
            name: The schema's name.
            strict: Whether the provider should enforce the schema exactly.

        Returns:
            Keyword arguments to bind to the model.
        """
        if method == "json_mode":
            return {"response_format": {"type": "json_object"}}
        spec: dict[str, Any] = {"name": name, "schema": json_schema}
        if strict is not None:
            spec["strict"] = strict
        return {"response_format": {"type": "json_schema", "json_schema": spec}}
