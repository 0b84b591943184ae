"""``ChatAnthropic``: Claude through Anthropic's Messages API and the official ``anthropic`` SDK."""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr

from polyvox.anthropic import profiles as _profiles  # noqa: F401  (registers the profiles)
from polyvox.anthropic._sdk import STREAM_BROKE, SDKClientMixin, sdk, transport_errors
from polyvox.anthropic.messages import (
    to_anthropic_messages,
    to_anthropic_tool,
    to_anthropic_tool_choice,
)
from polyvox.core.chat_model import PolyvoxChatModel, ToolLike
from polyvox.core.errors import ProviderResponseError
from polyvox.core.ranges import ANTHROPIC_RANGES, ParameterRanges
from polyvox.core.structured import StructuredOutputMethod
from polyvox.core.token_counting import TokenCounter

if TYPE_CHECKING:
    import anthropic

    from polyvox.anthropic.streaming import MessageStreamReader

__all__ = ["DEFAULT_MAX_TOKENS", "ChatAnthropic"]

DEFAULT_MAX_TOKENS = 8192
"""``max_tokens`` for a model polyvox has no profile of (the API requires a value); a
model with a profile gets its whole output limit (``max_output_tokens``)."""

_SAMPLING = ("temperature", "top_p", "top_k")
"""Parameters the SDK 2.x's ``messages.create`` no longer names: sent in ``extra_body``."""

_LEGACY_STRUCTURED = ("claude-3", "claude-sonnet-4-0", "claude-sonnet-4-2025", "claude-opus-4-0",
                      "claude-opus-4-2025")  # fmt: skip
"""Models without the API's native JSON-schema output: structured output forces a tool."""


@cache
def _sdk_params() -> frozenset[str]:
    """Parameters the SDK's ``messages.create`` accepts by name."""
    from anthropic.resources.messages import Messages

    return frozenset(inspect.signature(Messages.create).parameters) - {"self"}


@cache
def _api_params() -> frozenset[str]:
    return _sdk_params() | frozenset(_SAMPLING)


class ChatAnthropic(SDKClientMixin, PolyvoxChatModel):
    """A chat model for Anthropic's Claude models (the Messages API).

    A drop-in for ``langchain_anthropic.ChatAnthropic``: change the import and nothing
    else (``anthropic_api_key``, ``anthropic_api_url``, ``default_request_timeout`` and
    ``stop_sequences`` are accepted as well). The key comes from ``ANTHROPIC_API_KEY`` and
    the server from ``ANTHROPIC_BASE_URL`` unless given. ``max_tokens``, which the API
    requires, defaults to the model's output limit from its profile.

    Example:
        .. code-block:: python

            from polyvox.anthropic import ChatAnthropic

            model = ChatAnthropic(model="claude-haiku-4-5", temperature=0)
            model.invoke("Say hi").content
    """

    provider: ClassVar[str] = "anthropic"
    api_key_env: ClassVar[str | None] = "ANTHROPIC_API_KEY"
    base_url_env: ClassVar[str | None] = "ANTHROPIC_BASE_URL"
    parameter_ranges: ClassVar[ParameterRanges | None] = ANTHROPIC_RANGES

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "anthropic_api_key")
    )
    """The API key; read from ``ANTHROPIC_API_KEY`` when not given. Never shown."""

    base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("base_url", "anthropic_api_url")
    )
    """The API's root URL (the SDK adds ``/v1/messages``); from ``ANTHROPIC_BASE_URL``, else
    Anthropic's."""

    timeout: float | None = Field(
        default=None,
        validation_alias=AliasChoices("timeout", "request_timeout", "default_request_timeout"),
    )
    """Seconds to wait for a response; ``None`` keeps the SDK's 10 minutes."""

    top_p: float | None = None
    """Nucleus sampling mass (sent in ``extra_body``: SDK 2.x names no sampling parameter)."""

    top_k: int | None = None
    """Sample among the k most likely tokens."""

    thinking: dict[str, Any] | None = None
    """Extended thinking, as the API takes it: ``{"type": "enabled", "budget_tokens":
    2000}``. Thinking blocks come back in the content with their signatures, which a tool
    loop must send back (the message history does it); the text is also in
    ``additional_kwargs["reasoning_content"]``."""

    default_headers: dict[str, str] | None = None
    """Headers sent with every request."""

    betas: list[str] | None = None
    """Anthropic beta features to turn on (``["context-1m-2025-08-07"]``), sent with every
    request as the ``anthropic-beta`` header, comma-separated, as langchain-anthropic does."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further request fields (``metadata``, ``cache_control``, ``service_tier``...), sent
    as they are."""

    stream_usage: bool = True
    """Report usage in streams (always on; kept for langchain-anthropic's signature)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    # ---- request ---------------------------------------------------------------------

    def _api_keywords(self) -> frozenset[str]:
        return _api_params()

    def _configured_parameters(self) -> Iterable[Mapping[str, Any]]:
        return (self.model_kwargs,)

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {**super()._identifying_params, "top_p": self.top_p, "top_k": self.top_k,
                "thinking": self.thinking}  # fmt: skip

    def _default_max_tokens(self, model: str) -> int:
        if model == self.model:
            profile = self.profile
        else:
            from polyvox.core.profiles import get_profile

            profile = get_profile("anthropic", model)
        limit = (profile or {}).get("max_output_tokens")
        return int(limit) if isinstance(limit, int) and limit > 0 else DEFAULT_MAX_TOKENS

    def _payload(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        stream: bool,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        if kwargs:
            self._check_ranges(kwargs)
            if isinstance(given := kwargs.get("extra_body"), dict):
                self._check_ranges(given)
        system, turns = to_anthropic_messages(messages)
        model = kwargs.pop("model", None) or self.model
        max_tokens = kwargs.pop("max_tokens", None) or self.max_tokens
        body: dict[str, Any] = {
            "model": model,
            "max_tokens": max_tokens or self._default_max_tokens(model),
            "messages": turns,
        }
        if system is not None:
            body["system"] = system
        if stop := self._resolve_stop(stop):
            body["stop_sequences"] = stop
        thinking = kwargs.pop("thinking", self.thinking)
        if thinking is not None:
            body["thinking"] = thinking
        extra: dict[str, Any] = {}
        for key in _SAMPLING:
            value = kwargs.pop(key, getattr(self, key))
            if value is not None:
                extra[key] = value
        tools = kwargs.pop("tools", None)
        choice = kwargs.pop("tool_choice", None)
        parallel = kwargs.pop("parallel_tool_calls", None)
        if tools:
            body["tools"] = [to_anthropic_tool(tool) for tool in tools]
        if (choice is not None or parallel is False) and tools:
            body["tool_choice"] = to_anthropic_tool_choice(choice, body["tools"], parallel)
        if (fmt := kwargs.pop("response_format", None)) is not None:
            body["output_config"] = {"format": _output_format(fmt)}
        for key in ("stream_usage", "strict", "ls_structured_output_format",
                    "structured_output_format"):  # fmt: skip
            kwargs.pop(key, None)
        body.update(self.model_kwargs)
        body.update(kwargs)
        known = _sdk_params()
        extra.update({k: body.pop(k) for k in list(body) if k not in known})
        if extra:
            body["extra_body"] = {**extra, **body.get("extra_body", {})}
        if stream:
            body["stream"] = True
        elif "timeout" not in body:
            # Given explicitly, the timeout keeps the SDK from refusing a non-streamed call
            # whose max_tokens (the model's whole output limit) could take over 10 minutes.
            body["timeout"] = self.timeout if self.timeout is not None else sdk().DEFAULT_TIMEOUT
        return body

    def _structured_output_kwargs(
        self,
        method: Literal["json_schema", "json_mode"],
        json_schema: dict[str, Any],
        name: str,
        strict: bool | None,
    ) -> dict[str, Any]:
        schema = sdk().transform_schema(json_schema)
        return {"output_config": {"format": {"type": "json_schema", "schema": schema}}}

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
            schema: A pydantic model, a TypedDict, a JSON schema or a tool dict.
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising
                on a parsing failure.
            method: ``"json_schema"`` (the API's JSON-schema output, ``output_config``) or
                ``"function_calling"`` (a forced tool call). By default the first where the
                model has it (Claude Sonnet 4.5, Opus 4.1, Haiku 4.5 and later), else the
                second; ``"json_mode"`` (which the API lacks) warns and does the same.
            strict: Ask Anthropic to follow a forced tool's schema exactly.
            **kwargs: Not accepted; present for signature compatibility.

        Returns:
            The structured-output runnable.
        """
        if method == "json_mode":  # as langchain-anthropic: the API has no JSON mode
            warnings.warn(
                "Anthropic's Messages API has no JSON mode: method='json_mode' uses the "
                "schema instead (json_schema, or function_calling where the model lacks it)",
                stacklevel=2,
            )
            method = None
        if method is None:
            legacy = self.model.startswith(_LEGACY_STRUCTURED)
            method = "function_calling" if legacy else "json_schema"
        return super().with_structured_output(
            schema, include_raw=include_raw, method=method, strict=strict, **kwargs
        )

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools: functions, pydantic models, LangChain tools, OpenAI or Anthropic dicts.

        An Anthropic tool dict (``name``, ``description``, ``input_schema``) is sent as it
        is, ``cache_control`` included, and so is a server tool
        (``{"type": "web_search_20250305", "name": "web_search"}``).

        Args:
            tools: The tools the model may call.
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` (must
                call one), a tool's name, or Anthropic's ``tool_choice`` dict.
            strict: Ask Anthropic to follow the tools' schemas exactly.
            parallel_tool_calls: ``False`` allows one tool call per answer
                (``disable_parallel_tool_use``).
            **kwargs: Further call parameters to bind.

        Returns:
            A runnable that calls the model with the tools.
        """
        self._check_ranges(kwargs)
        formatted = [to_anthropic_tool(tool, strict=strict) for tool in tools]
        choice = to_anthropic_tool_choice(tool_choice, formatted, parallel_tool_calls)
        if choice is not None:
            kwargs["tool_choice"] = choice
        return self.bind(tools=formatted, **kwargs)

    # ---- token counting ----------------------------------------------------------------

    def _token_counter(self) -> TokenCounter:
        """Anthropic's ``count_tokens`` endpoint: exact, one request per count."""
        from polyvox.anthropic.tokens import CountTokensCounter

        return CountTokensCounter(self)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Count a conversation's input tokens with Anthropic (``/v1/messages/count_tokens``).

        Exact, tools and system prompt included; one HTTP call each time (what
        ``trim_messages(..., token_counter=model)`` calls for every candidate). With
        ``custom_get_token_ids``, or where the endpoint cannot be reached, the count is
        polyvox's (OpenAI's framing rules over that tokenizer, or the estimate, with a
        warning once).

        Args:
            messages: The conversation.
            tools: Tools offered with it (anything ``bind_tools`` takes).

        Returns:
            The count of input tokens.
        """
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens_from_messages(messages, tools)
        from polyvox.anthropic.tokens import UnreachableError, count_request

        system, turns = to_anthropic_messages(messages)
        body: dict[str, Any] = {"model": self.model, "messages": turns}
        if system is not None:
            body["system"] = system
        if tools:
            body["tools"] = [to_anthropic_tool(tool) for tool in tools]
        if self.thinking is not None:
            body["thinking"] = self.thinking
        try:
            return count_request(self, body)
        except UnreachableError as exc:
            from polyvox.core.openai_format import to_openai_messages
            from polyvox.core.token_counting import count_openai_messages

            specs = [convert_to_openai_tool(tool) for tool in tools or ()]
            return count_openai_messages(to_openai_messages(messages), exc.counter, specs)

    # ---- answers -----------------------------------------------------------------------

    def _result(self, raw: Any, model: str) -> ChatResult:
        from polyvox.anthropic.responses import message_from_anthropic

        text = raw.http_response.text
        try:
            data = json.loads(text)
            if not isinstance(data, dict) or not isinstance(data.get("content", []), list):
                raise TypeError("not a message object")
        except (ValueError, TypeError) as exc:
            msg = (
                f"anthropic at {self.base_url or 'api.anthropic.com'} returned a response that "
                f"is not a Messages API message: {text[:200]!r}"
            )
            raise ProviderResponseError(msg, provider="anthropic", body=text[:2000]) from exc
        message = message_from_anthropic(data, model=model)
        meta = message.response_metadata
        llm_output = {k: meta[k] for k in ("id", "model", "stop_reason", "stop_sequence",
                                           "usage", "model_name") if k in meta}  # fmt: skip
        return ChatResult(generations=[ChatGeneration(message=message)], llm_output=llm_output)

    def _fail(self, exc: anthropic.AnthropicError) -> Exception:
        from polyvox.anthropic.errors import map_anthropic_error

        return map_anthropic_error(exc, base_url=self.base_url)

    def _reader(self, response: Any, body: Mapping[str, Any]) -> MessageStreamReader:
        from polyvox.anthropic.streaming import MessageStreamReader

        plain = not body.get("tools") and not body.get("thinking")
        return MessageStreamReader(model=body["model"], response=response, text_as_string=plain)

    # ---- the four generation methods ----------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import generate_from_stream

            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        body = self._payload(messages, stop, False, kwargs)
        try:
            raw = self.client.messages.with_raw_response.create(**body)
        except sdk().AnthropicError as exc:
            raise self._fail(exc) from exc
        return self._result(raw, body["model"])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import agenerate_from_stream

            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        body = self._payload(messages, stop, False, kwargs)
        try:
            raw = await self.async_client.messages.with_raw_response.create(**body)
        except sdk().AnthropicError as exc:
            raise self._fail(exc) from exc
        return self._result(raw, body["model"])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        body = self._payload(messages, stop, True, kwargs)
        try:
            raw = self.client.messages.with_raw_response.create(**body)
        except sdk().AnthropicError as exc:
            raise self._fail(exc) from exc
        response = raw.http_response
        reader = self._reader(response, body)
        try:
            for line in _lines(response.iter_lines(), reader):
                for chunk in reader.feed(line):
                    if run_manager is not None and chunk.text:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk
            yield from reader.finish()
        except sdk().AnthropicError as exc:
            raise self._fail(exc) from exc
        finally:
            response.close()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        body = self._payload(messages, stop, True, kwargs)
        try:
            raw = await self.async_client.messages.with_raw_response.create(**body)
        except sdk().AnthropicError as exc:
            raise self._fail(exc) from exc
        response = raw.http_response
        reader = self._reader(response, body)
        try:
            try:
                async for line in response.aiter_lines():
                    for chunk in reader.feed(line):
                        if run_manager is not None and chunk.text:
                            await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                        yield chunk
            except transport_errors() as exc:
                raise _broken(reader, exc) from exc
            for chunk in reader.finish():
                yield chunk
        except sdk().AnthropicError as exc:
            raise self._fail(exc) from exc
        finally:
            await response.aclose()


def _output_format(fmt: Any) -> dict[str, Any]:
    """OpenAI's ``response_format`` (or a bare JSON schema) as Anthropic's output format."""
    if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
        inner = fmt.get("json_schema")
        schema = inner.get("schema") if isinstance(inner, Mapping) else fmt.get("schema")
    else:
        schema = fmt
    if not isinstance(schema, Mapping):
        msg = f"response_format must carry a JSON schema for Anthropic, got {fmt!r}"
        raise ValueError(msg)
    return {"type": "json_schema", "schema": sdk().transform_schema(dict(schema))}


def _broken(reader: MessageStreamReader, exc: BaseException) -> anthropic.APIConnectionError:
    error: anthropic.APIConnectionError = sdk().APIConnectionError(
        message=f"the stream broke after {reader.events} events "
        f"({type(exc).__name__}: {exc}): the answer is incomplete",
        request=reader.request,
    )
    setattr(error, STREAM_BROKE, True)
    return error


def _lines(lines: Iterator[str], reader: MessageStreamReader) -> Iterator[str]:
    """The body's lines; a connection that breaks mid-body becomes an SDK connection error."""
    try:
        yield from lines
    except transport_errors() as exc:
        raise _broken(reader, exc) from exc
