"""``ChatOllama``: a model served by Ollama, through its native API and official SDK."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from polyvox.core.chat_model import PolyvoxChatModel
from polyvox.core.ranges import OLLAMA_RANGES, ParameterRanges
from polyvox.core.retry import (
    acall_with_retries,
    astream_with_retries,
    call_with_retries,
    stream_with_retries,
)
from polyvox.ollama import profiles as _profiles  # noqa: F401  (registers the profiles)
from polyvox.ollama.context import arequest_window, check_fits, request_window
from polyvox.ollama.messages import to_ollama_messages
from polyvox.ollama.responses import ChatStreamReader, message_from_response
from polyvox.ollama.server import OllamaServerMixin

if TYPE_CHECKING:
    from polyvox.core.token_counting import TokenCounter

__all__ = ["ChatOllama"]

_OPTION_FIELDS = ("temperature", "top_p", "top_k", "seed", "repeat_penalty")


@functools.cache
def _ollama_keywords() -> frozenset[str]:
    """``/api/chat``'s fields and Ollama's options.

    A call keyword that is neither becomes an option too (Ollama ignores what it does not
    know), unless it is a near miss of one of these.
    """
    from polyvox.ollama._sdk import sdk

    options = frozenset(sdk().Options.model_fields)
    return options | {"format", "think", "keep_alive", "options", "num_predict"}


class ChatOllama(OllamaServerMixin, PolyvoxChatModel):
    """A chat model served by Ollama (``/api/chat``), local or remote.

    Every request carries ``options.num_ctx`` (or the ``num_ctx`` you set), so long prompts
    are not cut at Ollama's small default window without a word: a window sized to the
    request, the smallest of 8K, 16K, 32K, ... that holds the prompt and the answer (up to
    the model's context length from ``/api/show``), which only grows, and reuses the window
    the server has the model loaded with when it is large enough, so that neither the KV
    cache nor reloads cost more than the request needs (:mod:`polyvox.ollama.context`).
    Tool calls get stable ids (Ollama sends none); structured output uses Ollama's
    ``format`` with the JSON schema.

    Example:
        .. code-block:: python

            from polyvox.ollama import ChatOllama

            model = ChatOllama(model="llama3.2", temperature=0)
            model.invoke("Hello!").content
    """

    provider: ClassVar[str] = "ollama"
    api_key_env: ClassVar[str | None] = "OLLAMA_API_KEY"
    base_url_env: ClassVar[str | None] = "OLLAMA_HOST"
    default_base_url: ClassVar[str | None] = "http://127.0.0.1:11434"
    requires_api_key: ClassVar[bool] = False
    is_local: ClassVar[bool] = True
    parameter_ranges: ClassVar[ParameterRanges | None] = OLLAMA_RANGES

    num_ctx: int | None = None
    """Context window to request; ``None`` sizes it to each request (8K, 16K, 32K, ... up
    to the model's own length, growing only; see :mod:`polyvox.ollama.context`)."""

    keep_alive: float | str | None = None
    """How long Ollama keeps the model loaded after a call (``"5m"``, seconds, ``-1``)."""

    think: bool | Literal["low", "medium", "high"] | None = None
    """Reasoning for thinking models; the text lands in ``additional_kwargs["reasoning_content"]``.
    """

    top_p: float | None = None
    """Nucleus sampling mass."""

    top_k: int | None = None
    """Sample among the k most likely tokens."""

    seed: int | None = None
    """Seed for reproducible sampling."""

    repeat_penalty: float | None = None
    """Penalty for repeated tokens."""

    options: dict[str, Any] = Field(default_factory=dict)
    """Further Ollama options (``mirostat``, ``num_gpu``, ...), sent as they are."""

    headers: dict[str, str] | None = None
    """Headers sent with every request (a bearer key is added from ``api_key``)."""

    _client: Any = PrivateAttr(default=None)
    _async_client: Any = PrivateAttr(default=None)

    # ---- request ---------------------------------------------------------------------

    def _api_keywords(self) -> frozenset[str]:
        return _ollama_keywords()

    def _configured_parameters(self) -> Iterable[Mapping[str, Any]]:
        return (self.options,)

    def _token_counter(self) -> TokenCounter:
        """The estimate: Ollama has no token-count endpoint.

        Its tokenizers run only on the server; a call's ``usage_metadata`` has the exact
        count afterwards.
        """
        from polyvox.core.token_counting import EstimateCounter

        return EstimateCounter("Ollama has no token-count endpoint")

    def _request(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        stream: bool,
        kwargs: dict[str, Any],
    ) -> dict[str, Any]:
        if kwargs:
            self._check_ranges(kwargs)
            if isinstance(extra := kwargs.get("options"), dict):
                self._check_ranges(extra)
        options: dict[str, Any] = dict(self.options)
        for key in _OPTION_FIELDS:
            value = getattr(self, key)
            if value is not None:
                options[key] = value
        if (max_tokens := kwargs.pop("max_tokens", None)) is None:
            max_tokens = self.max_tokens
        if max_tokens is not None:
            options["num_predict"] = max_tokens
        if stop := self._resolve_stop(stop):
            options["stop"] = stop
        tools = kwargs.pop("tools", None)
        choice = kwargs.pop("tool_choice", None)
        kwargs.pop("parallel_tool_calls", None)  # Ollama decides; nothing to send
        if choice == "none":
            tools = None
        elif isinstance(choice, dict) and tools:  # Ollama cannot force a tool: offer only it
            name = choice["function"]["name"]
            tools = [t for t in tools if t.get("function", {}).get("name") == name]
        request: dict[str, Any] = {
            "model": kwargs.pop("model", self.model),
            "messages": to_ollama_messages(messages),
            "tools": tools,
            "stream": stream,
            "format": kwargs.pop("format", None),
            "think": kwargs.pop("think", self.think),
            "keep_alive": kwargs.pop("keep_alive", self.keep_alive),
        }
        options.update(kwargs.pop("options", {}))
        options.update(kwargs)  # any other call keyword is an Ollama option (num_predict, ...)
        request["options"] = options
        return request

    def _structured_output_kwargs(
        self,
        method: Literal["json_schema", "json_mode"],
        json_schema: dict[str, Any],
        name: str,
        strict: bool | None,
    ) -> dict[str, Any]:
        return {"format": "json" if method == "json_mode" else json_schema}

    # ---- the four generation methods ----------------------------------------------------

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, False, kwargs)

        def attempt() -> Any:
            try:
                self._set_num_ctx(request)
                return self.client.chat(**request)
            except self._errors() as exc:
                raise self._fail(exc, request["model"]) from exc

        response = call_with_retries(attempt, self.max_retries)
        message = message_from_response(response, model=request["model"], turn=len(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        request = self._request(messages, stop, False, kwargs)

        async def attempt() -> Any:
            try:
                await self._aset_num_ctx(request)
                return await self.async_client.chat(**request)
            except self._errors() as exc:
                raise self._fail(exc, request["model"]) from exc

        response = await acall_with_retries(attempt, self.max_retries)
        message = message_from_response(response, model=request["model"], turn=len(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        request = self._request(messages, stop, True, kwargs)

        def attempt() -> Iterator[ChatGenerationChunk]:
            reader = ChatStreamReader(model=request["model"], turn=len(messages))
            try:
                self._set_num_ctx(request)
                for part in self.client.chat(**request):
                    yield from reader.feed(part)
                reader.finish()
            except self._errors() as exc:
                raise self._fail(exc, request["model"]) from exc

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
        request = self._request(messages, stop, True, kwargs)

        async def attempt() -> AsyncIterator[ChatGenerationChunk]:
            reader = ChatStreamReader(model=request["model"], turn=len(messages))
            try:
                await self._aset_num_ctx(request)
                async for part in await self.async_client.chat(**request):
                    for chunk in reader.feed(part):
                        yield chunk
                reader.finish()
            except self._errors() as exc:
                raise self._fail(exc, request["model"]) from exc

        async for chunk in astream_with_retries(attempt, self.max_retries):
            if run_manager is not None and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
            yield chunk

    # ---- the context window --------------------------------------------------------------

    def _set_num_ctx(self, request: dict[str, Any]) -> None:
        """Send the explicit ``num_ctx``, else a window sized to the request; check the fit."""
        options = request["options"]
        if "num_ctx" not in options:
            options["num_ctx"] = self.num_ctx or request_window(self, request)
        check_fits(request)

    async def _aset_num_ctx(self, request: dict[str, Any]) -> None:
        options = request["options"]
        if "num_ctx" not in options:
            options["num_ctx"] = self.num_ctx or await arequest_window(self, request)
        check_fits(request)
