"""``GigaChat``: Sber's GigaChat models through the official ``gigachat`` SDK (the v1 chat API)."""

from __future__ import annotations

import os
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput, ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from pydantic import AliasChoices, Field, PrivateAttr

from polyvox.core.chat_model import PolyvoxChatModel, ToolLike
from polyvox.core.retry import (
    acall_with_retries,
    astream_with_retries,
    call_with_retries,
    stream_with_retries,
)
from polyvox.core.structured import StructuredOutputMethod
from polyvox.gigachat import profiles as _profiles  # noqa: F401  (registers the profiles)
from polyvox.gigachat._sdk import call_errors
from polyvox.gigachat.connection import DEFAULT_BASE_URL, GigaChatConnection
from polyvox.gigachat.messages import (
    to_gigachat_function,
    to_gigachat_function_call,
    to_gigachat_messages,
)
from polyvox.gigachat.responses import StopCutter, StreamReader, message_from_gigachat

if TYPE_CHECKING:
    from gigachat.models import Balance, Model, Models, TokensCount

    from polyvox.core.token_counting import TokenCounter

__all__ = ["GigaChat"]

_SAMPLING = ("temperature", "top_p", "max_tokens", "repetition_penalty", "update_interval",
             "profanity_check", "reasoning_effort", "flags", "function_ranker")  # fmt: skip
"""Request fields the model's own fields set (a call's keyword of the same name wins)."""

_CALL_ONLY = frozenset({"functions", "function_call", "tools", "tool_choice",
                        "parallel_tool_calls", "response_format", "model"})  # fmt: skip
_IGNORED = ("stream_usage", "strict", "ls_structured_output_format",
            "structured_output_format")  # fmt: skip


@cache
def _chat_fields() -> frozenset[str]:
    """The fields of the SDK's v1 chat request (what a call may pass)."""
    from gigachat.models import Chat

    return frozenset(Chat.model_fields) | _CALL_ONLY


def _default_model() -> str:
    return os.environ.get("GIGACHAT_MODEL") or "GigaChat-2"


class GigaChat(GigaChatConnection, PolyvoxChatModel):
    """A chat model for Sber's GigaChat (GigaChat-2, -2-Pro, -2-Max), on the current SDK.

    A drop-in for ``langchain_gigachat.GigaChat``: the same class name and the parameters
    code written for it passes (``credentials``, ``scope``, ``verify_ssl_certs``,
    ``ca_bundle_file``, ``profanity_check``, ``repetition_penalty``, ``flags``...), the same
    ``additional_kwargs`` (``function_call``, ``functions_state_id``,
    ``reasoning_content``) and exceptions that are the SDK's. Beyond it: one OAuth token
    shared by sync and async calls (:mod:`polyvox.gigachat.auth`), TLS errors that say how
    to install the Russian Trusted Root CA, stable tool call ids, ``stop`` sequences
    applied client-side, exact token counts from ``tokens/count``, ``blocked`` for answers
    GigaChat's filter replaced, and every polyvox contract (retries, costs, routing).

    Example:
        .. code-block:: python

            from polyvox.gigachat import GigaChat

            model = GigaChat(model="GigaChat-2-Max", credentials="...", scope="GIGACHAT_API_PERS")
            model.invoke("Привет!").content
    """

    provider: ClassVar[str] = "gigachat"
    api_key_env: ClassVar[str | None] = "GIGACHAT_CREDENTIALS"
    base_url_env: ClassVar[str | None] = "GIGACHAT_BASE_URL"
    requires_api_key: ClassVar[bool] = False  # user/password or a static token also do
    default_structured_output_method: ClassVar[StructuredOutputMethod] = "function_calling"

    model: str = Field(
        default_factory=_default_model, validation_alias=AliasChoices("model", "model_name")
    )
    """The model: ``GigaChat-2`` (Lite), ``GigaChat-2-Pro``, ``GigaChat-2-Max``...;
    ``GIGACHAT_MODEL``, else ``GigaChat-2``."""

    top_p: float | None = None
    """Nucleus sampling mass (0..1)."""

    repetition_penalty: float | None = None
    """Penalty for repeated tokens (1.0: none)."""

    update_interval: float | None = None
    """Seconds between stream updates."""

    profanity_check: bool | None = None
    """Ask GigaChat to filter profanity (the API's default when ``None``)."""

    reasoning_effort: str | None = None
    """``low``, ``medium`` or ``high`` for reasoning models; the reasoning comes back in
    ``additional_kwargs["reasoning_content"]``."""

    flags: list[str] | None = None
    """GigaChat's feature flags."""

    function_ranker: dict[str, Any] | None = None
    """Function ranking settings (``{"enabled": False}`` turns it off)."""

    use_api_for_tokens: bool = True
    """Count tokens with GigaChat's ``tokens/count`` (exact; one request per count); ``False``
    estimates locally."""

    allow_any_tool_choice_fallback: bool = False
    """Send ``"auto"`` (with a warning) for ``tool_choice="any"`` with several tools, which
    GigaChat cannot force; by default that is an error."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further request fields, sent as they are."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Constructor arguments that are secrets, and the variables holding them."""
        return {
            "api_key": "GIGACHAT_CREDENTIALS",
            "access_token": "GIGACHAT_ACCESS_TOKEN",
            "password": "GIGACHAT_PASSWORD",
            "key_file_password": "GIGACHAT_KEY_FILE_PASSWORD",
        }

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {**super()._identifying_params, "top_p": self.top_p,
                "repetition_penalty": self.repetition_penalty,
                "profanity_check": self.profanity_check, "scope": self.scope}  # fmt: skip

    def _api_keywords(self) -> frozenset[str]:
        return _chat_fields()

    def _resolve_model_profile(self) -> ModelProfile | None:
        from polyvox.gigachat.profiles import profile_for

        return profile_for(self.model)

    def _configured_parameters(self) -> Iterable[Mapping[str, Any]]:
        return (self.model_kwargs,)

    @property
    def _where(self) -> str:
        return f"{(self.base_url or DEFAULT_BASE_URL).rstrip('/')}/chat/completions"

    # ---- request ---------------------------------------------------------------------

    def _payload(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The SDK's chat payload; unknown fields travel in ``additional_fields``.

        The functions go there too: the SDK's ``Function`` model keeps only the schema
        keywords it knows (nested ``required`` is lost), so they are sent as polyvox
        reduced them (:func:`~polyvox.gigachat.messages.gigachat_schema`).
        """
        payload: dict[str, Any] = {
            "model": kwargs.pop("model", None) or self.model,
            "messages": to_gigachat_messages(messages),
        }
        for name in _SAMPLING:
            value = kwargs.pop(name, getattr(self, name))
            if value is not None:
                payload[name] = value
        functions = [to_gigachat_function(f) for f in kwargs.pop("functions", None) or ()]
        functions += [to_gigachat_function(t) for t in kwargs.pop("tools", None) or ()]
        choice = kwargs.pop("function_call", None)
        if (tool_choice := kwargs.pop("tool_choice", None)) is not None:
            choice = self._function_call(tool_choice, functions)
        _refuse_parallel(kwargs.pop("parallel_tool_calls", None))
        if (fmt := kwargs.pop("response_format", None)) is not None:
            payload["response_format"] = _response_format(fmt)
        for key in _IGNORED:
            kwargs.pop(key, None)
        extra = {**self.model_kwargs, **kwargs}
        if functions:
            extra["functions"] = functions
            if choice is not None:
                payload["function_call"] = choice
        if extra:
            payload["additional_fields"] = extra
        return payload

    def _function_call(self, choice: Any, functions: Sequence[Mapping[str, Any]]) -> Any:
        result = to_gigachat_function_call(
            choice, functions, fallback_to_auto=self.allow_any_tool_choice_fallback
        )
        if result == "auto" and choice not in ("auto", None):
            warnings.warn(
                "GigaChat cannot force 'any' of several functions: sending function_call="
                "'auto' (allow_any_tool_choice_fallback=True); the model may answer without "
                "calling one",
                UserWarning,
                stacklevel=3,
            )
        return result

    def bind_tools(
        self,
        tools: Sequence[ToolLike],
        *,
        tool_choice: str | bool | dict[str, Any] | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools as GigaChat functions.

        Args:
            tools: Functions, pydantic models, LangChain tools, OpenAI or GigaChat dicts
                (``few_shot_examples`` and ``return_parameters`` are kept).
            tool_choice: ``"auto"``, ``"none"``, a tool's name (forced), or ``"any"`` /
                ``True`` with one tool (forced); with several, see
                :attr:`allow_any_tool_choice_fallback`.
            strict: Not an option of GigaChat's functions (accepted, ignored).
            parallel_tool_calls: GigaChat calls one function per answer: ``True`` is refused.
            **kwargs: Further call parameters to bind.

        Returns:
            A runnable that calls the model with the functions.

        Raises:
            ValueError: For ``parallel_tool_calls=True``, a bad ``tool_choice`` or a schema
                GigaChat cannot take (:class:`~polyvox.gigachat.messages.GigaChatSchemaError`).
        """
        _refuse_parallel(parallel_tool_calls)
        functions = [to_gigachat_function(tool) for tool in tools]
        if tool_choice is not None:
            kwargs["function_call"] = self._function_call(tool_choice, functions)
        return self.bind(functions=functions, **kwargs)

    def bind_functions(
        self,
        functions: Sequence[ToolLike],
        function_call: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind functions, as langchain-gigachat's legacy method does.

        Args:
            functions: The functions (anything :meth:`bind_tools` takes).
            function_call: ``"auto"``, ``"none"`` or the name of the function to force.
            **kwargs: Further call parameters to bind.

        Returns:
            A runnable that calls the model with the functions.
        """
        return self.bind_tools(functions, tool_choice=function_call, **kwargs)

    def _structured_output_kwargs(
        self,
        method: Literal["json_schema", "json_mode"],
        json_schema: dict[str, Any],
        name: str,
        strict: bool | None,
    ) -> dict[str, Any]:
        schema = {"type": "json_schema", "schema": json_schema, "strict": strict is not False}
        return {"response_format": schema}

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
            method: ``"function_calling"`` (the default: the schema as a function GigaChat
                is forced to call) or ``"json_schema"`` (the API's ``response_format``,
                which newer models take); ``"json_mode"``, which GigaChat lacks, warns and
                forces the function.
            strict: With ``json_schema``: ask for strict adherence (the default).
            **kwargs: Not accepted; present for signature compatibility.

        Returns:
            The structured-output runnable.
        """
        if method == "json_mode":
            warnings.warn(
                "GigaChat has no JSON mode: method='json_mode' forces a function instead "
                "(function_calling)",
                stacklevel=2,
            )
            method = "function_calling"
        return super().with_structured_output(
            schema, include_raw=include_raw, method=method, strict=strict, **kwargs
        )

    # ---- the API's other methods ---------------------------------------------------------

    def _sdk_call(self, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except call_errors() as exc:
            raise self._fail(exc) from exc

    async def _asdk_call(self, call: Callable[[], Any]) -> Any:
        try:
            return await call()
        except call_errors() as exc:
            raise self._fail(exc) from exc

    def tokens_count(self, input_: list[str], model: str | None = None) -> list[TokensCount]:
        """Count the tokens of texts with GigaChat's ``tokens/count``.

        Args:
            input_: The texts.
            model: The model whose tokenizer counts (this model's by default).

        Returns:
            One ``TokensCount`` (``tokens``, ``characters``) per text.
        """
        client = self.client
        return self._sdk_call(lambda: client.tokens_count(input_, model or self.model))  # type: ignore[no-any-return]

    async def atokens_count(self, input_: list[str], model: str | None = None) -> list[TokensCount]:
        """Async :meth:`tokens_count`."""
        client = self.async_client
        return await self._asdk_call(lambda: client.atokens_count(input_, model or self.model))  # type: ignore[no-any-return]

    def get_models(self) -> Models:
        """The models this account may use (``GET /models``)."""
        client = self.client
        return self._sdk_call(client.get_models)  # type: ignore[no-any-return]

    async def aget_models(self) -> Models:
        """Async :meth:`get_models`."""
        return await self._asdk_call(self.async_client.aget_models)  # type: ignore[no-any-return]

    def get_model(self, model: str) -> Model:
        """One model's description (``GET /models/{model}``)."""
        client = self.client
        return self._sdk_call(lambda: client.get_model(model))  # type: ignore[no-any-return]

    async def aget_model(self, model: str) -> Model:
        """Async :meth:`get_model`."""
        client = self.async_client
        return await self._asdk_call(lambda: client.aget_model(model))  # type: ignore[no-any-return]

    def get_balance(self) -> Balance:
        """The tokens left on a prepaid account (``GET /balance``; 403 for other scopes)."""
        client = self.client
        return self._sdk_call(client.get_balance)  # type: ignore[no-any-return]

    async def aget_balance(self) -> Balance:
        """Async :meth:`get_balance`."""
        return await self._asdk_call(self.async_client.aget_balance)  # type: ignore[no-any-return]

    def _token_counter(self) -> TokenCounter:
        if not self.use_api_for_tokens:
            return super()._token_counter()
        from polyvox.gigachat.tokens import TokensCountCounter

        return TokensCountCounter(self)

    # ---- answers -----------------------------------------------------------------------

    def _result(self, data: Mapping[str, Any], payload: Mapping[str, Any], cut: StopCutter,
                turn: int) -> ChatResult:  # fmt: skip
        message = message_from_gigachat(data, model=payload["model"], turn=turn)
        if cut.stops and isinstance(message.content, str):
            message.content = cut.feed(message.content) + cut.flush()
        headers = message.response_metadata.get("x_headers") or {}
        if request_id := headers.get("x-request-id"):
            message.id = request_id
        meta = message.response_metadata
        generation = ChatGeneration(
            message=message, generation_info={"finish_reason": meta.get("finish_reason")}
        )
        llm_output = {"token_usage": data.get("usage"), "model_name": meta["model_name"],
                      "x_headers": data.get("x_headers") or {}}  # fmt: skip
        return ChatResult(generations=[generation], llm_output=llm_output)

    def _chunks(self, payload: dict[str, Any]) -> Iterator[Any]:
        """The SDK's ``ChatCompletionChunk`` objects (:meth:`StreamReader.read` reads them)."""
        client = self.client
        try:
            yield from client.stream(payload)
        except call_errors() as exc:
            raise self._fail(exc) from exc

    async def _achunks(self, payload: dict[str, Any]) -> AsyncIterator[Any]:
        client = self.async_client
        try:
            async for chunk in client.astream(payload):
                yield chunk
        except call_errors() as exc:
            raise self._fail(exc) from exc

    def _piece(self, chunk: ChatGenerationChunk, cut: StopCutter) -> ChatGenerationChunk:
        if cut.stops and isinstance(chunk.message.content, str):
            chunk.message.content = cut.feed(chunk.message.content)
            if chunk.generation_info:  # the last chunk: what was held back goes with it
                chunk.message.content += cut.flush()
            chunk.text = chunk.message.content
        return chunk

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
        payload = self._payload(messages, kwargs)
        client = self.client

        def once() -> dict[str, Any]:
            completion = self._sdk_call(lambda: client.chat(payload))
            return completion.model_dump(by_alias=True)  # type: ignore[no-any-return]

        data = call_with_retries(once, self.max_retries)
        return self._result(data, payload, StopCutter(self._resolve_stop(stop)), len(messages))

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
        payload = self._payload(messages, kwargs)
        client = self.async_client

        async def once() -> dict[str, Any]:
            completion = await self._asdk_call(lambda: client.achat(payload))
            return completion.model_dump(by_alias=True)  # type: ignore[no-any-return]

        data = await acall_with_retries(once, self.max_retries)
        return self._result(data, payload, StopCutter(self._resolve_stop(stop)), len(messages))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        payload = self._payload(messages, kwargs)
        reader = StreamReader(model=payload["model"], turn=len(messages), where=self._where)
        cut = StopCutter(self._resolve_stop(stop))
        for data in stream_with_retries(lambda: self._chunks(payload), self.max_retries):
            chunk = self._piece(reader.read(data), cut)
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        reader.finish()

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        payload = self._payload(messages, kwargs)
        reader = StreamReader(model=payload["model"], turn=len(messages), where=self._where)
        cut = StopCutter(self._resolve_stop(stop))
        async for data in astream_with_retries(lambda: self._achunks(payload), self.max_retries):
            chunk = self._piece(reader.read(data), cut)
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk
        reader.finish()


def _refuse_parallel(parallel: bool | None) -> None:
    if parallel:
        raise ValueError(
            "GigaChat calls at most one function per answer: parallel_tool_calls=True cannot "
            "be honoured (leave it unset; a conversation with several calls in one AIMessage "
            "is sent one call at a time)"
        )


def _response_format(fmt: Any) -> Any:
    """OpenAI's ``response_format`` (or GigaChat's own) as GigaChat takes it."""
    if isinstance(fmt, Mapping) and isinstance(fmt.get("json_schema"), Mapping):
        inner = fmt["json_schema"]
        out = {"type": "json_schema", "schema": inner.get("schema")}
        if inner.get("strict") is not None:
            out["strict"] = inner["strict"]
        return out
    return fmt
