"""``ChatGoogleGenerativeAI``: Gemini through the official ``google-genai`` SDK.

The Gemini Developer API by default (``GOOGLE_API_KEY`` or ``GEMINI_API_KEY``), Vertex AI
with ``vertexai=True`` (``project``, ``location``; an API key for express mode, else the
environment's Google credentials). Sync calls go through ``client.models``, async ones
through ``client.aio.models``, natively. The SDK does not retry; polyvox does
(``max_retries``), waiting what a 429's ``RetryInfo`` asks.
"""

from __future__ import annotations

import functools
import os
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import AliasChoices, Field, PrivateAttr, SecretStr, model_validator

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.core.errors import MissingAPIKeyError
from polyvox.core.ranges import GEMINI_RANGES, ParameterRanges
from polyvox.core.retry import (
    acall_with_retries,
    astream_with_retries,
    call_with_retries,
    stream_with_retries,
)
from polyvox.google import profiles as _profiles  # noqa: F401  (registers the profiles)
from polyvox.google._sdk import GenAIClientMixin
from polyvox.google.messages import to_function_declarations, to_gemini_contents, to_tool_config
from polyvox.google.responses import StreamReader, chat_result

if TYPE_CHECKING:
    from polyvox.core.token_counting import TokenCounter

__all__ = ["ChatGoogleGenerativeAI"]

_THINKING = ("thinking_budget", "thinking_level", "include_thoughts")
_SAMPLING = ("temperature", "top_p", "top_k", "seed", "presence_penalty", "frequency_penalty")
_DROPPED = frozenset({"parallel_tool_calls", "strict", "stream_usage"})


@functools.cache
def _config_fields() -> frozenset[str]:
    """The fields of the SDK's ``GenerateContentConfig`` (a call may pass any of them)."""
    from polyvox.google._sdk import sdk_types

    return frozenset(sdk_types().GenerateContentConfig.model_fields)


def _errors() -> tuple[type[BaseException], ...]:
    from polyvox.google._sdk import genai_errors, transport_errors

    return (genai_errors().APIError, *transport_errors())


def _unreadable() -> tuple[type[BaseException], ...]:
    """What the SDK raises for a body (or a stream event) that is not JSON."""
    import json

    from polyvox.google._sdk import genai_errors

    return (genai_errors().UnknownApiResponseError, json.JSONDecodeError)


class GoogleModelMixin(GenAIClientMixin):
    """The connection fields and key rules that the chat model and embeddings share."""

    if TYPE_CHECKING:
        api_key: SecretStr | None
        vertexai: bool
        project: str | None
        location: str | None

    def _check_credentials(self) -> None:
        """Read ``GEMINI_API_KEY`` and the Vertex settings; require a key outside Vertex."""
        if self.api_key is None and os.environ.get("GEMINI_API_KEY"):
            self.api_key = SecretStr(os.environ["GEMINI_API_KEY"])
        if not self.vertexai and os.environ.get("GOOGLE_GENAI_USE_VERTEXAI", "").lower() in (
            "1",
            "true",
        ):
            self.vertexai = True
        if self.vertexai:
            self.project = self.project or os.environ.get("GOOGLE_CLOUD_PROJECT")
            self.location = self.location or os.environ.get("GOOGLE_CLOUD_LOCATION")
            return
        if self.api_key is None:
            msg = (
                f"{type(self).__name__} needs an API key: pass api_key=... (or google_api_key=...)"
                " or set GOOGLE_API_KEY or GEMINI_API_KEY; for Vertex AI pass vertexai=True "
                "with project and location."
            )
            raise MissingAPIKeyError(msg)

    def _fail(self, exc: BaseException, events: int = 0) -> BaseException:
        from polyvox.google.errors import map_google_error

        url = getattr(self, "base_url", None)
        return map_google_error(exc, provider="google", base_url=url, events=events)


class ChatGoogleGenerativeAI(GoogleModelMixin, PolyvoxChatModel):
    """A chat model for Gemini: the Gemini Developer API, or Vertex AI.

    A drop-in for ``langchain_google_genai.ChatGoogleGenerativeAI``: the same class name and
    the parameters code written for it passes (``google_api_key``, ``max_output_tokens``,
    ``thinking_budget``, ``include_thoughts``, ``safety_settings``...), the same
    ``response_metadata`` keys (``finish_reason`` as Gemini says it, ``safety_ratings``,
    ``prompt_feedback``) and the same key for thought signatures, so a conversation moves
    between the two.

    Example:
        .. code-block:: python

            from polyvox.google import ChatGoogleGenerativeAI

            model = ChatGoogleGenerativeAI(model="gemini-2.5-flash", temperature=0)
            model.invoke("Say hi").content
    """

    provider: ClassVar[str] = "google"
    api_key_env: ClassVar[str | None] = "GOOGLE_API_KEY"
    base_url_env: ClassVar[str | None] = "GOOGLE_GEMINI_BASE_URL"
    requires_api_key: ClassVar[bool] = False  # Vertex AI may use Google credentials instead
    parameter_ranges: ClassVar[ParameterRanges | None] = GEMINI_RANGES

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("api_key", "google_api_key")
    )
    """The API key; read from ``GOOGLE_API_KEY``, then ``GEMINI_API_KEY``. Never shown."""

    max_tokens: int | None = Field(
        default=None,
        validation_alias=AliasChoices("max_tokens", "max_output_tokens", "max_completion_tokens"),
    )
    """Most tokens to generate (``maxOutputTokens``); ``None`` leaves the model's default."""

    top_p: float | None = None
    """Nucleus sampling mass."""

    top_k: int | None = None
    """Sample among the k most likely tokens."""

    seed: int | None = None
    """Seed for best-effort reproducible sampling."""

    presence_penalty: float | None = None
    """Penalty for tokens that appeared at all so far."""

    frequency_penalty: float | None = None
    """Penalty for tokens by how often they appeared so far."""

    thinking_budget: int | None = None
    """Tokens the model may think with (``0`` off, ``-1`` dynamic; Gemini 2.5)."""

    thinking_level: Literal["minimal", "low", "medium", "high"] | None = None
    """How hard the model thinks (Gemini 3)."""

    include_thoughts: bool | None = None
    """Return thought summaries, as ``additional_kwargs["reasoning_content"]``."""

    safety_settings: dict[str, str] | list[dict[str, str]] | None = None
    """Safety thresholds: ``{"HARM_CATEGORY_HATE_SPEECH": "BLOCK_LOW_AND_ABOVE"}`` or the
    API's list of ``{"category", "threshold"}``."""

    response_mime_type: str | None = None
    """``"application/json"`` for JSON answers (``with_structured_output`` sets it)."""

    cached_content: str | None = None
    """A context cache's name (``cachedContents/...``) to answer from."""

    vertexai: bool = False
    """Call Vertex AI instead of the Developer API (also ``GOOGLE_GENAI_USE_VERTEXAI``)."""

    project: str | None = None
    """The Google Cloud project (Vertex AI); ``GOOGLE_CLOUD_PROJECT`` when not given."""

    location: str | None = None
    """The Google Cloud region (Vertex AI); ``GOOGLE_CLOUD_LOCATION`` when not given."""

    credentials: Any = Field(default=None, exclude=True)
    """Google credentials (``google.auth.credentials.Credentials``) for Vertex AI; ``None``
    uses the environment's (Application Default Credentials). Never serialised."""

    api_version: str | None = None
    """The API version path (``"v1"``, ``"v1beta"``); the SDK's default when ``None``."""

    additional_headers: dict[str, str] | None = None
    """Headers sent with every request."""

    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Further ``GenerateContentConfig`` fields, sent as they are."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _credentials(self) -> Self:
        self._check_credentials()
        return self

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {**super()._identifying_params, "top_p": self.top_p, "top_k": self.top_k}

    # ---- request ---------------------------------------------------------------------

    def _api_keywords(self) -> frozenset[str]:
        return _config_fields() | frozenset(_THINKING) | {"max_output_tokens"}

    def _configured_parameters(self) -> Iterable[Mapping[str, Any]]:
        return (self.model_kwargs,)

    def _token_counter(self) -> TokenCounter:
        """The API's ``countTokens``: exact, one request per count."""
        from polyvox.google.tokens import CountTokensCounter

        return CountTokensCounter(self)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Count a conversation's prompt tokens with the API's ``countTokens``.

        The system instruction and the tools' schemas are counted as text (the Developer
        API's ``countTokens`` takes contents only).

        Args:
            messages: The conversation.
            tools: Tools offered with it.

        Returns:
            The count.
        """
        if self.custom_get_token_ids is not None:
            return super().get_num_tokens_from_messages(messages, tools)
        from langchain_core.messages import convert_to_messages

        from polyvox.google.tokens import count_contents

        contents, system = to_gemini_contents(convert_to_messages(messages))
        extra = list((system or {}).get("parts", []))
        if tools:
            import json

            specs = [convert_to_openai_tool(t) for t in tools]
            extra.append({"text": json.dumps(specs)})
        if extra:
            contents = [{"role": "user", "parts": extra}, *contents]
        if not contents:
            return 0
        return count_contents(self, contents)

    def _config(
        self, system: dict[str, Any] | None, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The call's ``GenerateContentConfig`` as a dict, or ``None`` when it sets nothing.

        A call with no settings sends no config at all: the SDK converts a config field by
        field on every call (about as much CPU time as the rest of the call), which the
        same call through the raw SDK, without a config, does not pay either.
        """
        if kwargs:
            self._check_ranges(kwargs)
        config: dict[str, Any] = {}
        for key in _SAMPLING:
            value = kwargs.pop(key, getattr(self, key))
            if value is not None:
                config[key] = value
        limit = kwargs.pop("max_tokens", None) or kwargs.pop("max_output_tokens", None)
        if (limit := limit or self.max_tokens) is not None:
            config["max_output_tokens"] = limit
        if stop := self._resolve_stop(stop):
            config["stop_sequences"] = stop
        if system is not None:
            config["system_instruction"] = system
        thinking = {k: kwargs.pop(k, getattr(self, k)) for k in _THINKING}
        thinking = {k: v for k, v in thinking.items() if v is not None}
        if thinking:
            config["thinking_config"] = thinking
        if self.safety_settings is not None:
            config["safety_settings"] = _safety(self.safety_settings)
        if self.response_mime_type is not None:
            config["response_mime_type"] = self.response_mime_type
        if self.cached_content is not None:
            config["cached_content"] = self.cached_content
        tools = kwargs.pop("tools", None)
        choice = kwargs.pop("tool_choice", None)
        if tools:
            config["tools"] = to_function_declarations(tools)
            if (tool_config := to_tool_config(choice)) is not None:
                config["tool_config"] = tool_config
        for key in _DROPPED:  # Gemini decides on parallel calls; nothing to send
            kwargs.pop(key, None)
        if "safety_settings" in kwargs:
            kwargs["safety_settings"] = _safety(kwargs["safety_settings"])
        config.update(self.model_kwargs)
        config.update(kwargs)
        if not config:
            return None
        # The SDK's automatic function calling only runs Python callables, which polyvox
        # never sends; turned off, it also spares the SDK a deep copy of the config.
        return {"automatic_function_calling": {"disable": True}, **config}

    def _request(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> dict[str, Any]:
        contents, system = to_gemini_contents(messages)
        if not contents:  # a system prompt alone: the API wants a user turn
            contents = [{"role": "user", "parts": [{"text": ""}]}]
        model = kwargs.pop("model", self.model)
        config = self._config(system, stop, kwargs)
        return {"model": model, "contents": _plain_prompt(contents), "config": config}

    def _structured_output_kwargs(
        self,
        method: Literal["json_schema", "json_mode"],
        json_schema: dict[str, Any],
        name: str,
        strict: bool | None,
    ) -> dict[str, Any]:
        if method == "json_mode":
            return {"response_mime_type": "application/json"}
        return {"response_mime_type": "application/json", "response_json_schema": json_schema}

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
        request = self._request(messages, stop, kwargs)

        def attempt() -> Any:
            try:
                return self.client.models.generate_content(**request)
            except _errors() as exc:
                raise self._fail(exc) from exc
            except _unreadable() as exc:
                raise _malformed(self.provider, exc) from exc

        response = call_with_retries(attempt, self.max_retries)
        return chat_result(
            response, model=request["model"], provider=self.provider, turn=len(messages)
        )

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
        request = self._request(messages, stop, kwargs)

        async def attempt() -> Any:
            try:
                return await self.async_client.models.generate_content(**request)
            except _errors() as exc:
                raise self._fail(exc) from exc
            except _unreadable() as exc:
                raise _malformed(self.provider, exc) from exc

        response = await acall_with_retries(attempt, self.max_retries)
        return chat_result(
            response, model=request["model"], provider=self.provider, turn=len(messages)
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)

        def attempt() -> Iterator[ChatGenerationChunk]:
            reader = StreamReader(
                model=request["model"], provider=self.provider, turn=len(messages)
            )
            try:
                for event in self.client.models.generate_content_stream(**request):
                    yield from reader.feed(event)
            except _errors() as exc:
                raise self._fail(exc, reader.events) from exc
            except _unreadable() as exc:
                raise _malformed(self.provider, exc) from exc
            yield reader.finish()

        for chunk in stream_with_retries(attempt, self.max_retries):
            if run_manager is not None and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        request = self._request(messages, stop, kwargs)

        async def attempt() -> AsyncIterator[ChatGenerationChunk]:
            reader = StreamReader(
                model=request["model"], provider=self.provider, turn=len(messages)
            )
            try:
                async for event in await self.async_client.models.generate_content_stream(
                    **request
                ):
                    for chunk in reader.feed(event):
                        yield chunk
            except _errors() as exc:
                raise self._fail(exc, reader.events) from exc
            except _unreadable() as exc:
                raise _malformed(self.provider, exc) from exc
            yield reader.finish()

        async for chunk in astream_with_retries(attempt, self.max_retries):
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk


def _malformed(provider: str, exc: BaseException) -> Exception:
    from polyvox.core.errors import ProviderResponseError

    msg = f"{provider} sent a response that is not JSON: {exc}"
    return ProviderResponseError(msg, provider=provider, body=str(exc)[:2000])


def _plain_prompt(contents: list[dict[str, Any]]) -> str | list[dict[str, Any]]:
    """One user turn of plain text as the string itself, else the contents unchanged.

    The SDK sends a string as that very user turn, and reads it with less work than the
    dict (which it first tries, and fails, to read as a part).
    """
    if len(contents) == 1:
        turn = contents[0]
        parts = turn["parts"]
        if turn["role"] == "user" and len(parts) == 1 and parts[0].keys() == {"text"}:
            text = parts[0]["text"]
            if isinstance(text, str) and text:
                return text
    return contents


def _safety(settings: Any) -> list[dict[str, str]]:
    """Safety settings in the API's list form, from a category → threshold mapping or a list."""
    if isinstance(settings, Mapping):
        return [
            {"category": str(getattr(k, "value", k)), "threshold": str(getattr(v, "value", v))}
            for k, v in settings.items()
        ]
    return [dict(item) for item in settings]
